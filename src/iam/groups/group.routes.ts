/** Groups of sub accounts (seed S1 Group actions). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const groupRoutes: AdminRouteSpec[] = [];
