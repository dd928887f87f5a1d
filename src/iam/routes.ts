/**
 * The Sub Account admin API (`/api/v1/subaccount/...`): every route of the module, in one list
 * that the app mounts and the catalog-walk test inspects.
 */
import type { AdminRouteSpec } from '../http/admin-route.js';
import { subAccountRoutes } from './sub-accounts/sub-account.routes.js';

export const SUBACCOUNT_API_PREFIX = '/api/v1/subaccount';

export const subAccountApiRoutes: AdminRouteSpec[] = [...subAccountRoutes];
