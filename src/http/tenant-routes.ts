/**
 * End-user routes of a tenant, `/tenants/{t}/...` (ARCHITECTURE.md "Endpoint map"): `{t}` is the
 * tenant id or its alias; the tenant is resolved once here into `res.locals.tenant` and every
 * module's router below reads it from there (never from a body or query).
 *
 * Each module mounts its own router and its own body parsing (oidc-provider reads its bodies
 * itself; the login and portal forms are urlencoded; SAML takes urlencoded posts with a size limit):
 *   src/auth/routes.ts    /login, /login/*, /logout, /password/*
 *   src/portal/routes.ts  /portal, /portal/*
 *   src/oidc/routes.ts    /.well-known/openid-configuration, /oauth2/*, /interaction/*
 *   src/saml/routes.ts    /saml/idp/*
 */
import cookieParser from 'cookie-parser';
import { Router, type NextFunction, type Request, type Response } from 'express';
import type { AdminDeps } from './admin-route.js';
import { authRouter } from '../auth/routes.js';
import { passwordRouter } from '../auth/password.routes.js';
import { portalRouter } from '../portal/routes.js';
import { oidcRouter } from '../oidc/routes.js';
import { samlRouter } from '../saml/routes.js';
import { federationRouter } from '../federation/routes.js';
import { findTenantByRef } from '../sso/tenant/tenant.service.js';
import { isBeingDeleted, tenantScope, type TenantRecord } from '../sso/tenant/tenant-context.js';
import type { ChangeStamps } from '../iam/change-stamps.js';
import { AppError } from '../shared/errors.js';

export type TenantDeps = AdminDeps;

/** The tenant this request is for (set by tenantRoutes). */
export function tenantOf(res: Response): TenantRecord {
  const t = (res.locals as { tenant?: TenantRecord }).tenant;
  if (!t) throw new Error('tenantOf: no tenant resolved for this route');
  return t;
}

const TENANT_REF = /^[A-Za-z0-9-]{1,64}$/;

export function tenantRoutes(deps: TenantDeps): Router {
  const outer = Router();
  const inner = Router({ mergeParams: true });
  outer.use('/tenants/:tenantRef', cookieParser(), tenantResolver(deps.stamps), inner);
  inner.use(authRouter(deps));
  inner.use(passwordRouter(deps));
  inner.use(portalRouter(deps));
  inner.use(oidcRouter(deps));
  inner.use(samlRouter(deps));
  inner.use(federationRouter(deps));
  return outer;
}

/** How many tenant references one process remembers (the oldest is forgotten first). */
const TENANT_CACHE_MAX = 10_000;

/**
 * Resolves `{t}` once per request. Every protocol request of a tenant starts here, so the tenant
 * record is cached per reference under the tenant's change stamp (`tenant:{id}`, bumped by every
 * write of tenant.service, including alias changes and deletion): a hit costs no database round
 * trip; this process sees its own changes at once and other processes' within one stamp poll.
 * Cached records are frozen, so no route can change what another request sees. Unknown references
 * are not cached (a new tenant or alias is found at its first request).
 */
function tenantResolver(stamps: ChangeStamps) {
  const cache = new Map<string, { tenant: TenantRecord; stamp: number }>();
  return async function resolveTenant(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      const ref = String(req.params.tenantRef ?? '');
      const key = ref.length === 36 ? ref : ref.toLowerCase();
      let tenant: TenantRecord | null = null;
      const hit = cache.get(key);
      if (hit && (await stamps.current(tenantScope(hit.tenant.tenantId))) === hit.stamp) {
        tenant = hit.tenant;
      } else if (TENANT_REF.test(ref)) {
        // On a miss the record is read again after its stamp: a change that lands between the
        // two reads has bumped the stamp after writing, so the second read is at least as new as
        // the stamp it is cached under (a stale record under a fresh stamp would live forever).
        const first = await findTenantByRef(ref);
        const stamp = first ? await stamps.current(tenantScope(first.tenantId)) : 0;
        const found = first ? await findTenantByRef(ref) : null;
        if (found && found.tenantId === first?.tenantId) {
          tenant = deepFreeze(found);
          cache.delete(key);
          if (cache.size >= TENANT_CACHE_MAX) cache.delete(cache.keys().next().value!);
          cache.set(key, { tenant, stamp });
        } else {
          cache.delete(key);
        }
      }
      if (!tenant || isBeingDeleted(tenant)) {
        next(new AppError('NOT_FOUND', 'there is no such tenant'));
        return;
      }
      res.locals.tenant = tenant;
      next();
    } catch (err) {
      next(err);
    }
  };
}

function deepFreeze<T>(value: T): T {
  // Binary values (an ObjectId's bytes) cannot be frozen and are never edited in place.
  if (value && typeof value === 'object' && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
