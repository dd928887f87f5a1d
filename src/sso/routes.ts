/**
 * The Single Sign-On admin API (`/api/v1/sso/...`, paths after the prefix as Ncloud's v1 API):
 * every route of the module, in one list the app mounts and the catalog walk inspects.
 */
import type { AdminRouteSpec } from '../http/admin-route.js';
import { applicationRoutes } from './applications/application.routes.js';
import { assignmentRoutes } from './assignments/assignment.routes.js';
import { certificateRoutes } from './certificates/certificate.routes.js';
import { oidcKeyRoutes } from '../oidc/keys/keys.routes.js';
import { externalIdpRoutes } from '../federation/external-idp.routes.js';
import { ssoGroupRoutes } from './groups/group.routes.js';
import { consentRoutes } from './consents/consent.routes.js';
import { ipAclRoutes } from './ip-acls/ip-acl.routes.js';
import { permissionSetRoutes } from './permission-sets/permission-set.routes.js';
import { tenantRoutes } from './tenant/tenant.routes.js';
import { userRoutes } from './users/user.routes.js';

export const SSO_API_PREFIX = '/api/v1/sso';

export const ssoApiRoutes: AdminRouteSpec[] = [
  ...tenantRoutes,
  ...userRoutes,
  ...ssoGroupRoutes,
  ...ipAclRoutes,
  ...permissionSetRoutes,
  ...assignmentRoutes,
  ...applicationRoutes,
  ...consentRoutes,
  ...certificateRoutes,
  ...oidcKeyRoutes,
  ...externalIdpRoutes,
];
