/**
 * The Single Sign-On tenant of an account (seed S4 "Tenant" actions; reference/ncloud-model.md §1
 * "Tenant", "Login settings", "Attribute mapper", "Organization integration"). Services take
 * validated input and the caller's account, never a tenant id from the request: the tenant is
 * always the caller's own (security-bar §4 "Tenant isolation"). They never see HTTP.
 *
 * Writes are atomic on the one tenant document. Changes that merge a request into stored state
 * (login settings, tags) write the whole merged value under a compare-and-set on `revision`, so
 * whatever is stored was validated as a whole (two concurrent changes cannot combine into a state
 * neither request would have been allowed to make). Every change bumps the tenant's change stamp
 * so cached tenant configuration is dropped in every process.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Account } from '../../iam/accounts/account.model.js';
import type { ChangeStamps } from '../../iam/change-stamps.js';
import { Policy } from '../../iam/policies/policy.model.js';
import { managedPolicies } from '../../policy/index.js';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { page, type Page, type PageQuery } from '../../shared/pagination.js';
import type { Tag } from '../../shared/tags.js';
import { mergeTags, SSO_TAG_LIMIT } from '../shared/tags.js';
import { readAttributeMapper, type AttributeMapper, type UpdateAttributeMapperInput } from './attribute-mapper.js';
import { applyLoginSettings, readLoginSettings, type LoginSettings, type UpdateLoginSettingsInput } from './login-settings.js';
import { findTenantOfAccount, NO_TENANT_ID, ssoNrn, TENANT_DELETE_LOCK_MS, tenantScope, type TenantRecord } from './tenant-context.js';
import { remainingTenantContents } from './tenant-dependents.js';
import { deleteTenantCertificates } from '../certificates/certificate.service.js';
import { deleteTenantExternalIdp } from '../../federation/external-idp.service.js';
import { Tenant } from './tenant.model.js';
import type { CreateTenantInput, MemberLoginPolicy, PolicyListQuery, UpdateTenantInput } from './tenant.schemas.js';

export interface TenantView {
  tenantId: string;
  nrn: string;
  tenantAlias: string;
  description: string;
  memberLoginPolicy: MemberLoginPolicy;
  organizationEnabled: boolean;
  organizationEnabledAt: string | null;
  loginSettings: LoginSettings;
  /** What this Gatehouse serves (reference §1 "Tenant": protocols, applicationTypeSupported, oauth2.*). */
  protocols: string[];
  applicationTypeSupported: string[];
  oauth2: { grantTypeSupported: string[]; responseTypeSupported: string[]; scopeSupported: string[] };
  /** Where users and applications reach the tenant (ARCHITECTURE.md "Endpoint map"). */
  endpoints: { loginUrl: string; portalUrl: string; oidcIssuer: string; samlIdpEntityId: string; samlSpEntityId: string };
  tags: Tag[];
  termsAgreedAt: string;
  createdAt: string;
  updatedAt: string;
}

export interface TenantDeps {
  stamps: ChangeStamps;
  /** Public URL of Gatehouse (config.baseUrl), for the tenant's endpoints. */
  baseUrl: string;
}

export function toTenantView(t: TenantRecord, baseUrl: string): TenantView {
  // Issuers and entity IDs use the tenant id, so renaming the alias breaks no client (ARCHITECTURE.md).
  const byId = `${baseUrl}/tenants/${t.tenantId}`;
  const byAlias = `${baseUrl}/tenants/${t.tenantAlias}`;
  return {
    tenantId: t.tenantId,
    nrn: ssoNrn(t.accountId, 'Tenant', t.tenantId),
    tenantAlias: t.tenantAlias,
    description: t.description ?? '',
    memberLoginPolicy: t.memberLoginPolicy as MemberLoginPolicy,
    organizationEnabled: t.organizationEnabled,
    organizationEnabledAt: t.organizationEnabledAt ? t.organizationEnabledAt.toISOString() : null,
    loginSettings: readLoginSettings(t.loginSettings),
    protocols: ['OAUTH2', 'SAML2'],
    applicationTypeSupported: ['WEB', 'APP'],
    // No implicit grant and no token response types: RFC 9700 §2.1.2 (security-bar §6 item 29).
    oauth2: { grantTypeSupported: ['authorization_code', 'refresh_token'], responseTypeSupported: ['code'], scopeSupported: ['openid', 'profile', 'email', 'groups'] },
    endpoints: { loginUrl: `${byAlias}/login`, portalUrl: `${byAlias}/portal`, oidcIssuer: byId, samlIdpEntityId: `${byId}/saml/idp`, samlSpEntityId: byId },
    tags: t.tags.map((x) => ({ key: x.key, value: x.value })),
    termsAgreedAt: t.termsAcceptedAt.toISOString(),
    createdAt: (t.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (t.updatedAt ?? new Date(0)).toISOString(),
  };
}

function noTenant(): AppError {
  return new AppError('NOT_FOUND', 'this account has no Single Sign-On tenant: create one with POST /api/v1/sso/tenant');
}

/** The NRN and tags the tenant routes authorize against (the placeholder `Tenant/none` when there is no tenant). */
export async function tenantResourceOf(accountId: number): Promise<{ nrn: string; tags: Tag[]; entity?: TenantRecord }> {
  const t = await findTenantOfAccount(accountId);
  if (!t) return { nrn: ssoNrn(accountId, 'Tenant', NO_TENANT_ID), tags: [] };
  return { nrn: ssoNrn(accountId, 'Tenant', t.tenantId), tags: t.tags.map((x) => ({ key: x.key, value: x.value })), entity: t };
}

async function mustFindTenant(accountId: number): Promise<TenantRecord> {
  const t = await findTenantOfAccount(accountId);
  if (!t) throw noTenant();
  return t;
}

/** The alias a tenant gets when the caller names none: `tenant-{memberNo}`, with a random suffix if that is taken. */
function derivedAlias(accountId: number, attempt: number): string {
  const base = `tenant-${accountId}`;
  return attempt === 0 ? base : `${base}-${randomBytes(3).toString('hex')}`;
}

/**
 * `options.demo` marks the demo tenant of the embedded default start (src/sso/demo.ts) in the same
 * insert, so a crash right after it cannot leave an unmarked tenant the demo would never fill.
 */
export async function createTenant(accountId: number, input: CreateTenantInput, deps: TenantDeps, options: { demo?: boolean } = {}): Promise<TenantView> {
  // One tenant per account and one alias across all accounts are held by unique indexes
  // (accountId, aliasKey): concurrent creates cannot both win, and nothing is checked first.
  for (let attempt = 0; attempt < 4; attempt += 1) {
    const alias = input.tenantAlias ?? derivedAlias(accountId, attempt);
    try {
      const doc = await Tenant.create({
        accountId,
        tenantId: randomUUID(),
        tenantAlias: alias,
        aliasKey: alias.toLowerCase(),
        memberLoginPolicy: input.memberLoginPolicy,
        description: input.description,
        termsAcceptedAt: new Date(),
        demo: options.demo === true,
      });
      const t = doc.toObject() as TenantRecord;
      await deps.stamps.bump(tenantScope(t.tenantId));
      return toTenantView(t, deps.baseUrl);
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Which index refused it: read after the fact, only to word the answer.
      if (await Tenant.exists({ accountId })) throw new AppError('CONFLICT', 'this account already has a Single Sign-On tenant (one per account)');
      if (input.tenantAlias !== undefined) throw new AppError('CONFLICT', `the tenant alias "${alias}" is taken`);
    }
  }
  throw new AppError('CONFLICT', 'could not find a free tenant alias: name one with tenantAlias');
}

export function getTenant(entity: TenantRecord | undefined, baseUrl: string): TenantView {
  if (!entity) throw noTenant();
  return toTenantView(entity, baseUrl);
}

export async function updateTenant(accountId: number, input: UpdateTenantInput, deps: TenantDeps): Promise<TenantView> {
  const set: Record<string, unknown> = {};
  if (input.tenantAlias !== undefined) Object.assign(set, { tenantAlias: input.tenantAlias, aliasKey: input.tenantAlias.toLowerCase() });
  if (input.memberLoginPolicy !== undefined) set.memberLoginPolicy = input.memberLoginPolicy;
  if (input.description !== undefined) set.description = input.description;
  let t: TenantRecord | null;
  try {
    t = await Tenant.findOneAndUpdate({ accountId }, { $set: set, $inc: { revision: 1 } }, { returnDocument: 'after' }).lean<TenantRecord>();
  } catch (err) {
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `the tenant alias "${input.tenantAlias ?? ''}" is taken`);
    throw err;
  }
  if (!t) throw noTenant();
  await deps.stamps.bump(tenantScope(t.tenantId));
  return toTenantView(t, deps.baseUrl);
}

/**
 * Deletes the tenant only when it is empty: no users, groups, permission sets, assignments, IP
 * ACLs or applications (409 naming what is left otherwise). AWS IAM Identity Center refuses to
 * delete an instance that still has account assignments, and a cascade here would silently remove
 * the SSO roles provisioned in other accounts; emptying the tenant first is explicit and each of
 * those deletes is audited on its own.
 *
 * Without transactions the check and the delete are two steps: the tenant is first marked
 * `deletingSince` (requireTenant refuses new content meanwhile), then checked, then deleted, or
 * unmarked when something is left. A delete that crashes between the steps leaves a mark that
 * expires after TENANT_DELETE_LOCK_MS.
 */
export async function deleteTenant(accountId: number, deps: TenantDeps): Promise<void> {
  const now = new Date();
  const marked = await Tenant.findOneAndUpdate(
    { accountId, $or: [{ deletingSince: null }, { deletingSince: { $lt: new Date(now.getTime() - TENANT_DELETE_LOCK_MS) } }] },
    { $set: { deletingSince: now }, $inc: { revision: 1 } },
    { returnDocument: 'after' },
  ).lean<TenantRecord>();
  if (!marked) {
    if (await Tenant.exists({ accountId })) throw new AppError('CONFLICT', 'a delete of this tenant is already in progress');
    throw noTenant();
  }
  const { tenantId } = marked;
  // Caches keyed by the tenant's stamp (the /tenants/{t} resolver) stop serving it while it is marked.
  await deps.stamps.bump(tenantScope(tenantId));
  let deleted = false;
  try {
    const left = await remainingTenantContents(tenantId);
    if (left.length > 0) {
      throw new AppError('CONFLICT', `the tenant still has ${left.join(', ')}: delete them first`, {
        fieldErrors: left.map((kind) => ({ field: kind, message: `delete the tenant's ${kind} first` })),
      });
    }
    const res = await Tenant.deleteOne({ accountId, tenantId });
    deleted = res.deletedCount === 1;
    if (!deleted) throw noTenant();
  } finally {
    if (!deleted) await Tenant.updateOne({ accountId, tenantId, deletingSince: now }, { $set: { deletingSince: null }, $inc: { revision: 1 } });
    await deps.stamps.bump(tenantScope(tenantId));
  }
  // The tenant's SAML signing certificates and its external IdP belong to it alone and never block its delete.
  await deleteTenantCertificates(tenantId);
  await deleteTenantExternalIdp(tenantId);
}

/**
 * Read-merge-write under `revision`: `compute` sees the current tenant and returns the fields to
 * set (or throws). A concurrent change makes the write miss; it is then recomputed from the new
 * state, a few times at most.
 */
async function updateMerged(accountId: number, compute: (t: TenantRecord) => Record<string, unknown>): Promise<TenantRecord> {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const t = await mustFindTenant(accountId);
    const set = compute(t);
    const next = await Tenant.findOneAndUpdate({ accountId, tenantId: t.tenantId, revision: t.revision }, { $set: set, $inc: { revision: 1 } }, { returnDocument: 'after' }).lean<TenantRecord>();
    if (next) return next;
  }
  throw new AppError('CONFLICT', 'the tenant is being changed by another request; try again');
}

export async function updateLoginSettings(accountId: number, input: UpdateLoginSettingsInput, deps: TenantDeps): Promise<LoginSettings> {
  const t = await updateMerged(accountId, (cur) => ({ loginSettings: applyLoginSettings(readLoginSettings(cur.loginSettings), input) }));
  await deps.stamps.bump(tenantScope(t.tenantId));
  return readLoginSettings(t.loginSettings);
}

/**
 * The login settings the sign-in pipeline enforces, by tenant id (null when no such tenant).
 * Reads by the tenant's own unique id: it cannot reach another tenant, so the account scope is
 * not needed (the sign-in pages know the tenant, not the account).
 */
export async function getLoginSettings(tenantId: string): Promise<LoginSettings | null> {
  const t = await Tenant.findOne({ tenantId }).setOptions({ unscoped: true }).lean<TenantRecord>();
  return t ? readLoginSettings(t.loginSettings) : null;
}

/**
 * The tenant named in an end-user URL (`/tenants/{t}/...`): by id, or by alias. For the sign-in,
 * portal and protocol routes, which know the tenant from the URL rather than from an account.
 */
export async function findTenantByRef(ref: string): Promise<TenantRecord | null> {
  // Aliases are lowercase and at most 30 characters; ids are 36-character UUIDs.
  const filter = ref.length === 36 ? { tenantId: ref } : { aliasKey: ref.toLowerCase() };
  return Tenant.findOne(filter).setOptions({ unscoped: true }).lean<TenantRecord>();
}

/**
 * Organization integration (`POST /tenant/organization {enable}`, reference §1): when on,
 * assignments may target the other accounts of the account's organization. Turning it on needs an
 * organization (AWS IAM Identity Center's organization instance is likewise only possible inside
 * an organization); turning it on again keeps the first `organizationEnabledAt`.
 */
export async function setOrganizationEnabled(
  accountId: number,
  enable: boolean,
  deps: TenantDeps,
): Promise<{ organizationEnabled: boolean; organizationEnabledAt: string | null }> {
  const current = await mustFindTenant(accountId);
  if (enable) {
    const account = await Account.findOne({ memberNo: accountId }).select('organizationId').lean();
    if (!account?.organizationId) throw new AppError('BAD_REQUEST', 'this account belongs to no organization, so there is nothing to integrate with');
  }
  let t: TenantRecord | null = current;
  if (enable !== current.organizationEnabled) {
    t = await Tenant.findOneAndUpdate(
      { accountId, tenantId: current.tenantId },
      { $set: { organizationEnabled: enable, organizationEnabledAt: enable ? new Date() : null }, $inc: { revision: 1 } },
      { returnDocument: 'after' },
    ).lean<TenantRecord>();
    if (!t) throw noTenant();
    await deps.stamps.bump(tenantScope(t.tenantId));
  }
  return { organizationEnabled: t.organizationEnabled, organizationEnabledAt: t.organizationEnabledAt ? t.organizationEnabledAt.toISOString() : null };
}

export interface AccountListItem {
  accountMemberNo: number;
  accountName: string;
  loginAlias: string | null;
  organizationId: string | null;
  /** The account that owns this tenant. */
  tenantAccount: boolean;
}

/** The accounts of the organization when integration is on (`view/getAccountList`), otherwise only this account. */
async function assignableAccountFilter(accountId: number): Promise<{ memberNo: number } | { organizationId: string }> {
  const t = await mustFindTenant(accountId);
  if (!t.organizationEnabled) return { memberNo: accountId };
  const own = await Account.findOne({ memberNo: accountId }).select('organizationId').lean();
  return own?.organizationId ? { organizationId: own.organizationId } : { memberNo: accountId };
}

export async function listTenantAccounts(accountId: number, q: PageQuery): Promise<Page<AccountListItem>> {
  const filter = await assignableAccountFilter(accountId);
  const [rows, total] = await Promise.all([
    Account.find(filter).select('memberNo name organizationId settings.loginAlias').sort({ memberNo: 1 }).skip(q.pageNo * q.pageSize).limit(q.pageSize).lean(),
    Account.countDocuments(filter),
  ]);
  const items = rows.map((a) => ({
    accountMemberNo: a.memberNo,
    accountName: a.name,
    loginAlias: a.settings?.loginAlias ?? null,
    organizationId: a.organizationId ?? null,
    tenantAccount: a.memberNo === accountId,
  }));
  return page(items, total, q);
}

/**
 * Whether the tenant of `accountId` may assign a permission set to `targetMemberNo`: its own
 * account always, another account only with organization integration on and in the same
 * organization (for the assignment service).
 */
export async function isAssignableAccount(accountId: number, targetMemberNo: number): Promise<boolean> {
  if (targetMemberNo === accountId) return true;
  const filter = await assignableAccountFilter(accountId);
  if (!('organizationId' in filter)) return false;
  return (await Account.exists({ memberNo: targetMemberNo, organizationId: filter.organizationId })) !== null;
}

export function getAttributeMapper(entity: TenantRecord | undefined): AttributeMapper {
  if (!entity) throw noTenant();
  return readAttributeMapper(entity.attributeMapper);
}

/** Replaces the mapping of each profile field given (one `$set` per field: no merge to race). */
export async function updateAttributeMapper(accountId: number, input: UpdateAttributeMapperInput, deps: TenantDeps): Promise<AttributeMapper> {
  const set: Record<string, unknown> = {};
  for (const [field, mapping] of Object.entries(input)) if (mapping !== undefined) set[`attributeMapper.${field}`] = mapping;
  const t = await Tenant.findOneAndUpdate({ accountId }, { $set: set, $inc: { revision: 1 } }, { returnDocument: 'after' }).lean<TenantRecord>();
  if (!t) throw noTenant();
  await deps.stamps.bump(tenantScope(t.tenantId));
  return readAttributeMapper(t.attributeMapper);
}

/** Adds tags or changes their values (`change/tagTenant`); at most 20 in all. */
export async function tagTenant(accountId: number, tags: readonly Tag[], deps: TenantDeps): Promise<{ tags: Tag[] }> {
  const t = await updateMerged(accountId, (cur) => {
    const merged = mergeTags(cur.tags, tags);
    if (merged.length > SSO_TAG_LIMIT) throw new AppError('LIMIT_EXCEEDED', `a tenant has at most ${SSO_TAG_LIMIT} tags (it has ${cur.tags.length})`);
    return { tags: merged };
  });
  await deps.stamps.bump(tenantScope(t.tenantId));
  return { tags: t.tags.map((x) => ({ key: x.key, value: x.value })) };
}

/**
 * Removes one tag (`change/untagTenant`). Idempotent, as AWS UntagResource: removing an absent key
 * succeeds. Written as the whole list under `revision` (FerretDB's `$pull` does not match
 * subdocuments by a condition), which also keeps it from racing a concurrent tag request.
 */
export async function untagTenant(accountId: number, key: string, deps: TenantDeps): Promise<void> {
  const t = await updateMerged(accountId, (cur) => ({ tags: cur.tags.filter((x) => x.key !== key).map((x) => ({ key: x.key, value: x.value })) }));
  await deps.stamps.bump(tenantScope(t.tenantId));
}

export interface PermissionSetPolicyItem {
  policyType: 'SystemManaged' | 'UserCreated';
  policyId: string;
  policyName: string;
  description: string;
}

/**
 * The policies a permission set may name (`view/getPolicyList`): every system-managed policy (by
 * id), then this account's user-created policies (permission sets reference them by name,
 * reference §1 "Permission Set"), sorted by name; one page across both.
 */
export async function listPermissionSetPolicies(accountId: number, q: PolicyListQuery): Promise<Page<PermissionSetPolicyItem>> {
  await mustFindTenant(accountId);
  const managed: PermissionSetPolicyItem[] =
    q.policyType === 'UserCreated' ? [] : managedPolicies.map((p) => ({ policyType: 'SystemManaged', policyId: p.id, policyName: p.name, description: p.description }));
  const wantUser = q.policyType !== 'SystemManaged';
  const userTotal = wantUser ? await Policy.countDocuments({ accountId }) : 0;
  const skip = q.pageNo * q.pageSize;
  const items = managed.slice(skip, skip + q.pageSize);
  const room = q.pageSize - items.length;
  if (wantUser && room > 0) {
    const userSkip = Math.max(0, skip - managed.length);
    const rows = await Policy.find({ accountId }).select('policyId name description').sort({ nameKey: 1 }).skip(userSkip).limit(room).lean();
    for (const p of rows) items.push({ policyType: 'UserCreated', policyId: p.policyId, policyName: p.name, description: p.description ?? '' });
  }
  return page(items, managed.length + userTotal, q);
}
