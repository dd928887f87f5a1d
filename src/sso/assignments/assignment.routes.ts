/** Assignments, their targets and IP ACLs (seed S4). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const assignmentRoutes: AdminRouteSpec[] = [];
