/** End-user routes of the auth module under /tenants/{t} (src/http/tenant-routes.ts). Filled in by its issue. */
import { Router } from 'express';
import type { TenantDeps } from '../http/tenant-routes.js';

export function authRouter(_deps: TenantDeps): Router {
  return Router({ mergeParams: true });
}
