/**
 * The Sub Account admin API (`/api/v1/subaccount/...`) and STS (`/api/v1/sts/...`): every route
 * of the module, in lists that the app mounts and the catalog-walk test inspects.
 */
import type { AdminRouteSpec } from '../http/admin-route.js';
import { accessKeyRoutes } from './access-keys/access-key.routes.js';
import { groupRoutes } from './groups/group.routes.js';
import { policyRoutes } from './policies/policy.routes.js';
import { roleRoutes } from './roles/role.routes.js';
import { settingsRoutes } from './settings/settings.routes.js';
import { stsRoutes } from './sts/sts.routes.js';
import { subAccountRoutes } from './sub-accounts/sub-account.routes.js';

export const SUBACCOUNT_API_PREFIX = '/api/v1/subaccount';
export const STS_API_PREFIX = '/api/v1/sts';

export const subAccountApiRoutes: AdminRouteSpec[] = [
  ...subAccountRoutes,
  ...accessKeyRoutes,
  ...groupRoutes,
  ...policyRoutes,
  ...roleRoutes,
  ...settingsRoutes,
];

export { stsRoutes };
