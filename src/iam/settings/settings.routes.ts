/** Account-wide settings and the dashboard (seed S1 Dashboard actions). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const settingsRoutes: AdminRouteSpec[] = [];
