/** End-user routes of the oidc module under /tenants/{t} (src/http/tenant-routes.ts). Filled in by its issue. */
import { Router } from 'express';
import type { TenantDeps } from '../http/tenant-routes.js';

export function oidcRouter(_deps: TenantDeps): Router {
  return Router({ mergeParams: true });
}
