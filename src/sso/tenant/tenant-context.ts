/**
 * Which tenant an admin call acts on: the tenant of the caller's account (one per account). Never
 * taken from the request body or path (security-bar §4 "Tenant isolation").
 */
import { buildNrn } from '../../policy/index.js';
import { AppError } from '../../shared/errors.js';
import { Tenant, type TenantDoc } from './tenant.model.js';

export type TenantRecord = TenantDoc & { createdAt?: Date; updatedAt?: Date };

/**
 * How long a delete may hold the tenant while it checks that nothing is left in it. A delete that
 * crashed mid-way releases the tenant by itself after this long.
 */
export const TENANT_DELETE_LOCK_MS = 60_000;

export function isBeingDeleted(t: Pick<TenantRecord, 'deletingSince'>, now = Date.now()): boolean {
  return t.deletingSince instanceof Date && t.deletingSince.getTime() > now - TENANT_DELETE_LOCK_MS;
}

export async function findTenantOfAccount(accountId: number): Promise<TenantRecord | null> {
  return Tenant.findOne({ accountId }).lean<TenantRecord>();
}

/**
 * The account's tenant, or 404 with a hint to create one. While a delete of the tenant is
 * checking for remaining users, groups, permission sets and assignments, new ones are refused
 * (409), so the check cannot be outrun by a create that started later.
 */
export async function requireTenant(accountId: number): Promise<TenantRecord> {
  const t = await findTenantOfAccount(accountId);
  if (!t) throw new AppError('NOT_FOUND', 'this account has no Single Sign-On tenant yet: create one with POST /api/v1/sso/tenant');
  if (isBeingDeleted(t)) throw new AppError('CONFLICT', 'the Single Sign-On tenant is being deleted');
  return t;
}

export type SsoResourceType = 'Tenant' | 'User' | 'Group' | 'PermissionSet' | 'Assignment' | 'IPACL' | 'Application';

/** `nrn:PUB:SSO::{memberNo}:{Type}/{id}` (reference/ncloud-model.md §1). */
export function ssoNrn(memberNo: number, resourceType: SsoResourceType, id: string): string {
  return buildNrn({ product: 'SSO', memberNo, resourceType, resourceId: id });
}

/**
 * The resource id authorized against when the account has no tenant (yet, or any more):
 * `nrn:PUB:SSO::{memberNo}:Tenant/none`, which `…:Tenant/*` and `*` match, so an admin allowed on
 * the account's tenants passes authorization and then learns that there is none (404). NRNs
 * cannot contain `*`, and a tenant id is always a UUID, so `none` names no real tenant.
 */
export const NO_TENANT_ID = 'none';

/**
 * Change-stamp scope of one tenant (src/iam/change-stamps.ts): bumped by every change to the
 * tenant's settings, so caches of tenant configuration (the sign-in pipeline, OIDC providers) in
 * every process drop their copy.
 */
export function tenantScope(tenantId: string): string {
  return `tenant:${tenantId}`;
}
