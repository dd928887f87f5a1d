/** Roles, their policies and targets, switch role (seed S1 Role actions). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const roleRoutes: AdminRouteSpec[] = [];
