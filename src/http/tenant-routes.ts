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
import { findTenantByRef } from '../sso/tenant/tenant.service.js';
import { isBeingDeleted, type TenantRecord } from '../sso/tenant/tenant-context.js';
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
  outer.use('/tenants/:tenantRef', cookieParser(), resolveTenant, inner);
  inner.use(authRouter(deps));
  inner.use(passwordRouter(deps));
  inner.use(portalRouter(deps));
  inner.use(oidcRouter(deps));
  inner.use(samlRouter(deps));
  return outer;
}

async function resolveTenant(req: Request, res: Response, next: NextFunction): Promise<void> {
  const ref = String(req.params.tenantRef ?? '');
  const tenant = TENANT_REF.test(ref) ? await findTenantByRef(ref) : null;
  if (!tenant || isBeingDeleted(tenant)) {
    next(new AppError('NOT_FOUND', 'there is no such tenant'));
    return;
  }
  res.locals.tenant = tenant;
  next();
}
