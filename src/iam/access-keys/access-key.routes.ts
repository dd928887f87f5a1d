/** Access keys of sub accounts (seed S1 SubAccount access-key actions). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const accessKeyRoutes: AdminRouteSpec[] = [];
