/** STS temporary credentials, mounted at /api/v1/sts (View/getStsSessionToken). */
import type { AdminRouteSpec } from '../../http/admin-route.js';

export const stsRoutes: AdminRouteSpec[] = [];
