/**
 * Policies (seed S1 "Policy" actions; reference/ncloud-model.md §3 "Policy types"): user-created
 * policies stored per account (at most 500), and the read-only system-managed policies of the
 * catalog (src/policy/catalog/managed.ts), which are never stored. Services take validated input
 * and never see HTTP. Updating or deleting a policy bumps the account's change stamp, so cached
 * compiled policy sets of every principal holding it are rebuilt on their next call.
 */
import { randomUUID } from 'node:crypto';
import { findManagedPolicy, managedPolicies, withRelatedActions, type ManagedPolicy, type PolicyDocument } from '../../policy/index.js';
import { AppError, isDuplicateKeyError, type FieldError } from '../../shared/errors.js';
import { pageOf, page, type Page } from '../../shared/pagination.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { accountScope, type ChangeStamps } from '../change-stamps.js';
import { AdminGroup } from '../groups/admin-group.model.js';
import { buildPolicyNrn } from '../nrn.js';
import { Role } from '../roles/role.model.js';
import { SubAccount } from '../sub-accounts/sub-account.model.js';
import { POLICY_LIMIT, Policy, type PolicyDoc } from './policy.model.js';
import {
  policyNameKey,
  validatePolicyRules,
  type CreatePolicyInput,
  type ListPoliciesQuery,
  type UpdatePolicyInput,
} from './policy.schemas.js';
import { escapeRegex } from '../../shared/query.js';

export type PolicyType = 'UserCreated' | 'SystemManaged';

export interface PolicySummary {
  policyId: string;
  nrn: string;
  policyName: string;
  policyType: PolicyType;
  description: string;
  tags: Tag[];
  /** Null for system-managed policies, which are part of the product rather than the account. */
  createdAt: string | null;
  updatedAt: string | null;
}

export interface PolicyView extends PolicySummary {
  document: unknown;
  /** Whether related actions were added when the document was written (user-created policies). */
  relatedActionsIncluded: boolean | null;
}

/** Ncloud's "allocated resources" of a policy (§3 "Detail view fields"). */
export interface AllocatedResources {
  subAccounts: { subAccountId: string; loginId: string; name: string }[];
  groups: { groupId: string; groupName: string }[];
  roles: { roleId: string; roleName: string; roleType: string }[];
}

export interface PolicyDetail extends PolicyView {
  allocatedResources: AllocatedResources;
}

type Stored = PolicyDoc & { createdAt?: Date; updatedAt?: Date };

/** What a route resolves for `:policyId`: a system-managed policy, a stored one, or nothing. */
export type PolicyEntity = { kind: 'managed'; policy: ManagedPolicy } | { kind: 'user'; policy: Stored };

/** The quota counter of an account's user-created policies (src/shared/quota.ts). */
export const policyQuotaKey = (accountId: number): string => `policies:${accountId}`;


function userSummary(d: Stored): PolicySummary {
  return {
    policyId: d.policyId,
    nrn: buildPolicyNrn(d.accountId, d.policyId),
    policyName: d.name,
    policyType: 'UserCreated',
    description: d.description ?? '',
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}

function userView(d: Stored): PolicyView {
  return { ...userSummary(d), document: d.document, relatedActionsIncluded: d.relatedActionsIncluded ?? true };
}

/**
 * System-managed policies have no account of their own; their NRN uses the caller's member
 * number so that `nrn:PUB:SubAccount::{memberNo}:Policy/*` patterns cover them like user policies.
 */
function managedSummary(accountId: number, p: ManagedPolicy): PolicySummary {
  return {
    policyId: p.id,
    nrn: buildPolicyNrn(accountId, p.id),
    policyName: p.name,
    policyType: 'SystemManaged',
    description: p.description,
    tags: [],
    createdAt: null,
    updatedAt: null,
  };
}

function managedView(accountId: number, p: ManagedPolicy): PolicyView {
  return { ...managedSummary(accountId, p), document: p.document, relatedActionsIncluded: null };
}

/**
 * Adds each Allow target's related actions (seed S1 "Caution"), unless the author deselected
 * them. Deny permissions are left as written: related actions are help for granting, and adding
 * them to a Deny would forbid more than the author asked for.
 */
export function applyRelatedActions(doc: PolicyDocument, include: boolean): PolicyDocument {
  if (!include) return doc;
  return {
    permissions: doc.permissions.map((p) =>
      p.effect !== 'Allow' ? p : { ...p, targets: p.targets.map((t) => ({ ...t, actions: withRelatedActions(t.actions, t.product) })) },
    ),
  };
}

/** A plain JSON copy: the engine's normalized documents are stored as MongoDB documents. */
function storable(doc: PolicyDocument): Record<string, unknown> {
  return JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
}

export async function findPolicyEntity(accountId: number, policyId: string): Promise<PolicyEntity | undefined> {
  const managed = findManagedPolicy(policyId);
  if (managed) return { kind: 'managed', policy: managed };
  const d = await Policy.findOne({ accountId, policyId }).lean<Stored>();
  return d ? { kind: 'user', policy: d } : undefined;
}

/** The NRN authorized against for `:policyId` (system-managed policies by their id, not their name). */
export function policyNrnOf(accountId: number, policyId: string, entity: PolicyEntity | undefined): string {
  return buildPolicyNrn(accountId, entity?.kind === 'managed' ? entity.policy.id : policyId);
}

function mustExist(entity: PolicyEntity | undefined, policyId: string): PolicyEntity {
  if (!entity) throw new AppError('NOT_FOUND', `policy ${policyId} does not exist`);
  return entity;
}

/** System-managed policies are predefined and "cannot be edited or deleted" (§3 "Policy types"). */
function mustBeUserCreated(entity: PolicyEntity | undefined, policyId: string): Stored {
  const e = mustExist(entity, policyId);
  if (e.kind === 'managed') {
    throw new AppError(
      'BAD_REQUEST',
      `${e.policy.name} is a system-managed policy and is read-only; create a user policy with the document you need instead`,
    );
  }
  return e.policy;
}

export async function listPolicies(accountId: number, q: ListPoliciesQuery): Promise<Page<PolicySummary>> {
  const prefix = q.searchName ? policyNameKey(q.searchName) : undefined;
  if (q.type === 'system') {
    const all = managedPolicies.filter((p) => !prefix || policyNameKey(p.name).startsWith(prefix));
    const start = q.pageNo * q.pageSize;
    return page(
      all.slice(start, start + q.pageSize).map((p) => managedSummary(accountId, p)),
      all.length,
      q,
    );
  }
  const filter: Record<string, unknown> = { accountId };
  if (prefix) filter.nameKey = { $regex: `^${escapeRegex(prefix)}` };
  return pageOf(Policy.find(filter).sort({ nameKey: 1 }).lean<Stored[]>(), Policy.countDocuments(filter), q, userSummary);
}

/** Where a policy is attached; system-managed ones may be referenced by id or by name. */
export async function allocatedResources(accountId: number, entity: PolicyEntity): Promise<AllocatedResources> {
  const refs = entity.kind === 'managed' ? [entity.policy.id, entity.policy.name] : [entity.policy.policyId];
  const [subs, groups, roles] = await Promise.all([
    SubAccount.find({ accountId, policyIds: { $in: refs } })
      .select('subAccountId loginId name')
      .sort({ loginIdKey: 1 })
      .lean(),
    AdminGroup.find({ accountId, policyIds: { $in: refs } })
      .select('groupId name')
      .sort({ nameKey: 1 })
      .lean(),
    Role.find({ accountId, policyIds: { $in: refs } })
      .select('roleId roleName roleType')
      .sort({ roleNameKey: 1 })
      .lean(),
  ]);
  return {
    subAccounts: subs.map((s) => ({ subAccountId: s.subAccountId, loginId: s.loginId, name: s.name })),
    groups: groups.map((g) => ({ groupId: g.groupId, groupName: g.name })),
    roles: roles.map((r) => ({ roleId: r.roleId, roleName: r.roleName, roleType: r.roleType })),
  };
}

export async function getPolicy(accountId: number, policyId: string, entity: PolicyEntity | undefined): Promise<PolicyDetail> {
  const e = mustExist(entity, policyId);
  const view = e.kind === 'managed' ? managedView(accountId, e.policy) : userView(e.policy);
  return { ...view, allocatedResources: await allocatedResources(accountId, e) };
}

/** `View/validatePolicy`: the create rules, answered as data; nothing is stored. */
export function validatePolicy(raw: unknown): { valid: boolean; fieldErrors: FieldError[]; document?: PolicyDocument } {
  const res = validatePolicyRules.safeParse(raw);
  if (!res.success) {
    return {
      valid: false,
      fieldErrors: res.error.issues.map((i) => ({ field: ['body', ...i.path.map(String)].join('.'), message: i.message })),
    };
  }
  // The document as a create would store it, related actions included or not.
  return { valid: true, fieldErrors: [], document: applyRelatedActions(res.data.document, res.data.includeRelatedActions) };
}

export async function createPolicy(accountId: number, input: CreatePolicyInput): Promise<PolicyView> {
  const document = applyRelatedActions(input.document, input.includeRelatedActions);
  // The quota is taken first (atomically, src/shared/quota.ts) and given back if the insert fails.
  await acquireQuota(policyQuotaKey(accountId), POLICY_LIMIT, 'user-created policies per account');
  try {
    const doc = await Policy.create({
      accountId,
      policyId: randomUUID(),
      name: input.policyName,
      nameKey: policyNameKey(input.policyName),
      description: input.description,
      document: storable(document),
      relatedActionsIncluded: input.includeRelatedActions,
      tags: input.tags,
    });
    // A new policy is attached nowhere, so no decision changes: no stamp bump needed.
    return userView(doc.toObject() as Stored);
  } catch (err) {
    await releaseQuota(policyQuotaKey(accountId));
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `a policy named "${input.policyName}" already exists`);
    throw err;
  }
}

export async function updatePolicy(
  accountId: number,
  policyId: string,
  entity: PolicyEntity | undefined,
  input: UpdatePolicyInput,
  stamps: ChangeStamps,
): Promise<PolicyView> {
  mustBeUserCreated(entity, policyId);
  const set: Record<string, unknown> = {};
  if (input.policyName !== undefined) {
    set.name = input.policyName;
    set.nameKey = policyNameKey(input.policyName);
  }
  if (input.description !== undefined) set.description = input.description;
  if (input.tags !== undefined) set.tags = input.tags;
  if (input.document !== undefined) {
    set.document = storable(applyRelatedActions(input.document, input.includeRelatedActions));
    set.relatedActionsIncluded = input.includeRelatedActions;
  }
  let d: Stored | null;
  try {
    d = await Policy.findOneAndUpdate({ accountId, policyId }, { $set: set }, { returnDocument: 'after' }).lean<Stored>();
  } catch (err) {
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `a policy named "${input.policyName ?? ''}" already exists`);
    throw err;
  }
  if (!d) throw new AppError('NOT_FOUND', `policy ${policyId} does not exist`);
  // Decisions of every principal holding the policy change at once.
  await stamps.bump(accountScope(accountId));
  return userView(d);
}

/**
 * Refused while attached anywhere (§3: "A policy cannot be deleted while it is still attached"),
 * naming each attachment. Without transactions an attach racing with this delete can leave a
 * dangling id behind; it resolves to no policy (grants nothing) and ids are never reused.
 */
export async function deletePolicy(
  accountId: number,
  policyId: string,
  entity: PolicyEntity | undefined,
  stamps: ChangeStamps,
): Promise<void> {
  const stored = mustBeUserCreated(entity, policyId);
  const where = await allocatedResources(accountId, { kind: 'user', policy: stored });
  const fieldErrors: FieldError[] = [
    ...where.subAccounts.map((s) => ({ field: 'attachments.subAccounts', message: s.loginId })),
    ...where.groups.map((g) => ({ field: 'attachments.groups', message: g.groupName })),
    ...where.roles.map((r) => ({ field: 'attachments.roles', message: r.roleName })),
  ];
  if (fieldErrors.length) {
    const parts = [
      where.subAccounts.length ? `sub accounts ${where.subAccounts.map((s) => s.loginId).join(', ')}` : '',
      where.groups.length ? `groups ${where.groups.map((g) => g.groupName).join(', ')}` : '',
      where.roles.length ? `roles ${where.roles.map((r) => r.roleName).join(', ')}` : '',
    ].filter(Boolean);
    throw new AppError('CONFLICT', `policy ${stored.name} is still attached to ${parts.join('; ')}; detach it first`, {
      message: 'The policy is still attached.',
      fieldErrors,
    });
  }
  const d = await Policy.findOneAndDelete({ accountId, policyId }).lean();
  if (!d) throw new AppError('NOT_FOUND', `policy ${policyId} does not exist`);
  await releaseQuota(policyQuotaKey(accountId));
  await stamps.bump(accountScope(accountId));
}
