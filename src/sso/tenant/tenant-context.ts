/**
 * Which tenant an admin call acts on: the tenant of the caller's account (one per account). Never
 * taken from the request body or path (security-bar §4 "Tenant isolation").
 */
import { buildNrn } from '../../policy/index.js';
import { AppError } from '../../shared/errors.js';
import { Tenant, type TenantDoc } from './tenant.model.js';

export type TenantRecord = TenantDoc & { createdAt?: Date; updatedAt?: Date };

export async function findTenantOfAccount(accountId: number): Promise<TenantRecord | null> {
  return Tenant.findOne({ accountId }).lean<TenantRecord>();
}

/** The account's tenant, or 404 with a hint to create one. */
export async function requireTenant(accountId: number): Promise<TenantRecord> {
  const t = await findTenantOfAccount(accountId);
  if (!t) throw new AppError('NOT_FOUND', 'this account has no Single Sign-On tenant yet: create one with POST /api/v1/sso/tenant');
  return t;
}

/** `nrn:PUB:SSO::{memberNo}:{Type}/{id}` (reference/ncloud-model.md §1). */
export function ssoNrn(memberNo: number, resourceType: 'Tenant' | 'User' | 'Group' | 'PermissionSet' | 'Assignment' | 'IPACL' | 'Application', id: string): string {
  return buildNrn({ product: 'SSO', memberNo, resourceType, resourceId: id });
}
