/**
 * Permission sets of the caller's tenant (seed S4 "Permission Set" actions; reference/ncloud-model.md
 * §1 "Permission Set"). Ncloud's error codes are kept in the error detail: 9070 (the name exists),
 * 9071 (no policy), 9072 (unknown system-managed policy).
 *
 * A policy change re-syncs the SSO role of every assignment using the set
 * (assignments/assignment-provisioning.ts): the change and a `resyncPending` flag are one atomic
 * write, so a crash before the assignments are marked leaves the flag for the reconciler.
 */
import { randomUUID } from 'node:crypto';
import type { ChangeStamps } from '../../iam/change-stamps.js';
import { policyNameKey } from '../../iam/policies/policy.schemas.js';
import { findManagedPolicy } from '../../policy/index.js';
import { AppError, isDuplicateKeyError, type FieldError } from '../../shared/errors.js';
import { pageOf, type Page } from '../../shared/pagination.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { Assignment } from '../assignments/assignment.model.js';
import { afterStep, missingUserPolicies, policiesDoNotExist, resyncPermissionSet, type ResyncReport } from '../assignments/assignment-provisioning.js';
import { addTags, removeTags, type TagStore } from '../ip-acls/tag-changes.js';
import { ssoNameKey } from '../shared/schemas.js';
import { requireTenant, ssoNrn } from '../tenant/tenant-context.js';
import { PERMISSION_SET_LIMIT, PERMISSION_SET_POLICY_MAX, PermissionSet, type StoredPermissionSet } from './permission-set.model.js';
import type { CreatePermissionSetInput, ListPermissionSetsQuery, RemovePoliciesInput, UpdatePermissionSetInput } from './permission-set.schemas.js';
import { escapeRegex } from '../../shared/query.js';

export interface PermissionSetView {
  permissionSetId: string;
  nrn: string;
  permissionSetName: string;
  description: string;
  systemManagedPolicyIds: string[];
  /** The system-managed policies with their names, for display. */
  systemManagedPolicies: { policyId: string; policyName: string }[];
  userCreatedPolicyNames: string[];
  tags: Tag[];
  createdAt: string;
  updatedAt: string;
}

/** An update's answer: the set, and how the SSO roles of its assignments were brought in line. */
export interface PermissionSetChange extends PermissionSetView {
  roleSync: ResyncReport | null;
}

export function toPermissionSetView(d: StoredPermissionSet): PermissionSetView {
  return {
    permissionSetId: d.permissionSetId,
    nrn: ssoNrn(d.accountId, 'PermissionSet', d.permissionSetId),
    permissionSetName: d.permissionSetName,
    description: d.description ?? '',
    systemManagedPolicyIds: [...d.systemManagedPolicyIds],
    systemManagedPolicies: d.systemManagedPolicyIds.map((id) => ({ policyId: id, policyName: findManagedPolicy(id)?.name ?? id })),
    userCreatedPolicyNames: [...d.userCreatedPolicyNames],
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}

const quotaKey = (tenantId: string) => `ssoPermissionSets:${tenantId}`;
const notFound = (id: string) => new AppError('NOT_FOUND', `permission set ${id} does not exist`);
const WRITE_ATTEMPTS = 8;


export async function findPermissionSet(tenantId: string, permissionSetId: string): Promise<StoredPermissionSet | null> {
  return PermissionSet.findOne({ tenantId, permissionSetId }).lean<StoredPermissionSet>();
}

async function mustFind(tenantId: string, permissionSetId: string): Promise<StoredPermissionSet> {
  const d = await findPermissionSet(tenantId, permissionSetId);
  if (!d) throw notFound(permissionSetId);
  return d;
}

interface PolicyLists {
  systemManagedPolicyIds: string[];
  userCreatedPolicyNames: string[];
}

/**
 * Resolves managed policies (by id or name) to their ids, drops repeats (user-created names
 * compare as the Sub Account API compares them), and applies the 1-to-10 rule.
 */
function checkPolicies(managedRefs: readonly string[], userNames: readonly string[]): PolicyLists {
  const unknown: FieldError[] = [];
  const managed: string[] = [];
  managedRefs.forEach((ref, i) => {
    const p = findManagedPolicy(ref);
    if (!p) unknown.push({ field: `body.systemManagedPolicyIds.${i}`, message: `"${ref}" is not a system-managed policy` });
    else if (!managed.includes(p.id)) managed.push(p.id);
  });
  if (unknown.length) {
    throw new AppError('VALIDATION_FAILED', `9072: unknown system-managed policies: ${unknown.map((u) => u.message.split('"')[1]).join(', ')}`, {
      message: 'The system-managed policy does not exist.',
      fieldErrors: unknown,
    });
  }
  const seen = new Set<string>();
  const user = userNames.filter((n) => {
    const k = policyNameKey(n);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  const total = managed.length + user.length;
  if (total === 0) {
    throw new AppError('VALIDATION_FAILED', '9071: a permission set needs at least one policy (systemManagedPolicyIds or userCreatedPolicyNames)', {
      message: 'No policy was given.',
      fieldErrors: [{ field: 'body.systemManagedPolicyIds', message: 'give at least one system-managed policy or user-created policy name' }],
    });
  }
  if (total > PERMISSION_SET_POLICY_MAX) {
    throw new AppError('VALIDATION_FAILED', `a permission set holds at most ${PERMISSION_SET_POLICY_MAX} policies in all (this would be ${total})`, {
      fieldErrors: [{ field: 'body.systemManagedPolicyIds', message: `system-managed and user-created policies together: at most ${PERMISSION_SET_POLICY_MAX}` }],
    });
  }
  return { systemManagedPolicyIds: managed, userCreatedPolicyNames: user };
}

function sameLists(a: PolicyLists, b: PolicyLists): boolean {
  const eq = (x: readonly string[], y: readonly string[]) => x.length === y.length && x.every((v, i) => v === y[i]);
  return eq(a.systemManagedPolicyIds, b.systemManagedPolicyIds) && eq(a.userCreatedPolicyNames, b.userCreatedPolicyNames);
}

/** Accounts whose SSO roles come from this set (assignments not being deleted). */
async function targetAccountsOf(tenantId: string, permissionSetId: string): Promise<number[]> {
  const accounts = await Assignment.distinct('accountMemberNo', { tenantId, permissionSetId, provisioning: { $ne: 'deleting' } });
  return accounts.map(Number).sort((x, y) => x - y);
}

/** A set's user-created policies must exist in every account its assignments provision roles in (reference §1). */
async function assertPoliciesExistInTargets(tenantId: string, permissionSetId: string, names: readonly string[]): Promise<void> {
  for (const account of await targetAccountsOf(tenantId, permissionSetId)) {
    const missing = await missingUserPolicies(account, names);
    if (missing.length) throw policiesDoNotExist(account, missing);
  }
}

export async function listPermissionSets(accountId: number, q: ListPermissionSetsQuery): Promise<Page<PermissionSetView>> {
  const { tenantId } = await requireTenant(accountId);
  const filter: Record<string, unknown> = { tenantId };
  if (q.permissionSetName) filter.nameKey = { $regex: `^${escapeRegex(ssoNameKey(q.permissionSetName))}` };
  return pageOf(PermissionSet.find(filter).sort({ nameKey: 1 }).lean<StoredPermissionSet[]>(), PermissionSet.countDocuments(filter), q, toPermissionSetView);
}

export async function getPermissionSet(accountId: number, permissionSetId: string): Promise<PermissionSetView> {
  const { tenantId } = await requireTenant(accountId);
  return toPermissionSetView(await mustFind(tenantId, permissionSetId));
}

export async function createPermissionSet(accountId: number, input: CreatePermissionSetInput): Promise<PermissionSetView> {
  const { tenantId } = await requireTenant(accountId);
  const lists = checkPolicies(input.systemManagedPolicyIds, input.userCreatedPolicyNames);
  await acquireQuota(quotaKey(tenantId), PERMISSION_SET_LIMIT, 'permission sets per tenant');
  try {
    const doc = await PermissionSet.create({
      tenantId,
      accountId,
      permissionSetId: randomUUID(),
      permissionSetName: input.permissionSetName,
      nameKey: ssoNameKey(input.permissionSetName),
      description: input.description,
      ...lists,
      tags: input.tags,
    });
    return toPermissionSetView(doc.toObject() as StoredPermissionSet);
  } catch (err) {
    await releaseQuota(quotaKey(tenantId));
    if (isDuplicateKeyError(err)) {
      throw new AppError('CONFLICT', `9070: a permission set named "${input.permissionSetName}" already exists (names are unique case-insensitively)`, {
        message: 'The permission set name already exists.',
      });
    }
    throw err;
  }
}

/**
 * Writes a policy change under the revision it was computed from, then re-syncs the roles of
 * every assignment of the set. `compute` sees the current document and returns the new lists.
 */
async function changePolicies(
  tenantId: string,
  permissionSetId: string,
  stamps: ChangeStamps,
  compute: (current: StoredPermissionSet) => { lists: PolicyLists; description?: string | undefined },
): Promise<PermissionSetChange> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await mustFind(tenantId, permissionSetId);
    if (current.deleting) throw new AppError('CONFLICT', `permission set ${current.permissionSetName} is being deleted`);
    const { lists, description } = compute(current);
    const set: Record<string, unknown> = {};
    if (description !== undefined) set.description = description;
    const policiesChange = !sameLists(lists, current);
    if (policiesChange) {
      await assertPoliciesExistInTargets(tenantId, permissionSetId, lists.userCreatedPolicyNames);
      Object.assign(set, lists, { resyncPending: true });
    }
    const written = await PermissionSet.findOneAndUpdate(
      { tenantId, permissionSetId, revision: current.revision, deleting: false },
      { $set: set, $inc: policiesChange ? { revision: 1, policyRevision: 1 } : { revision: 1 } },
      { returnDocument: 'after' },
    ).lean<StoredPermissionSet>();
    if (!written) continue;
    if (!policiesChange) return { ...toPermissionSetView(written), roleSync: null };
    await afterStep('permission-set-written', permissionSetId);
    const roleSync = await resyncPermissionSet(tenantId, permissionSetId, written.policyRevision, stamps);
    return { ...toPermissionSetView(written), roleSync };
  }
  throw new AppError('CONFLICT', 'the permission set was changed concurrently; try again');
}

/** Changes the description and adds policies (see permission-set.schemas.ts for why removal is separate). */
export async function updatePermissionSet(accountId: number, permissionSetId: string, input: UpdatePermissionSetInput, stamps: ChangeStamps): Promise<PermissionSetChange> {
  const { tenantId } = await requireTenant(accountId);
  return changePolicies(tenantId, permissionSetId, stamps, (current) => {
    if (input.permissionSetName !== undefined && input.permissionSetName !== current.permissionSetName) {
      throw new AppError('VALIDATION_FAILED', `the name of permission set ${current.permissionSetName} cannot be changed`, {
        fieldErrors: [{ field: 'body.permissionSetName', message: 'is immutable (reference §1): send the current name or leave it out' }],
      });
    }
    const lists = checkPolicies(
      [...current.systemManagedPolicyIds, ...(input.systemManagedPolicyIds ?? [])],
      [...current.userCreatedPolicyNames, ...(input.userCreatedPolicyNames ?? [])],
    );
    return { lists, description: input.description };
  });
}

/** `change/removePermissionSetPolicy`: removes the named policies; the last one cannot go (9071). */
export async function removePermissionSetPolicies(accountId: number, permissionSetId: string, input: RemovePoliciesInput, stamps: ChangeStamps): Promise<PermissionSetChange> {
  const { tenantId } = await requireTenant(accountId);
  return changePolicies(tenantId, permissionSetId, stamps, (current) => {
    const dropManaged = new Set<string>();
    const absent: string[] = [];
    for (const ref of input.systemManagedPolicyIds) {
      const id = findManagedPolicy(ref)?.id;
      if (id && current.systemManagedPolicyIds.includes(id)) dropManaged.add(id);
      else absent.push(ref);
    }
    const dropUser = new Set(input.userCreatedPolicyNames.map(policyNameKey));
    for (const name of input.userCreatedPolicyNames) {
      if (!current.userCreatedPolicyNames.some((n) => policyNameKey(n) === policyNameKey(name))) absent.push(name);
    }
    if (absent.length) throw new AppError('NOT_FOUND', `permission set ${current.permissionSetName} does not hold ${absent.join(', ')}`);
    const lists = {
      systemManagedPolicyIds: current.systemManagedPolicyIds.filter((id) => !dropManaged.has(id)),
      userCreatedPolicyNames: current.userCreatedPolicyNames.filter((n) => !dropUser.has(policyNameKey(n))),
    };
    if (lists.systemManagedPolicyIds.length + lists.userCreatedPolicyNames.length === 0) {
      throw new AppError('VALIDATION_FAILED', `9071: permission set ${current.permissionSetName} must keep at least one policy`, {
        message: 'A permission set needs at least one policy.',
        fieldErrors: [{ field: 'body', message: 'this would remove the last policy of the permission set' }],
      });
    }
    return { lists };
  });
}

/**
 * Refused (409, naming them) while assignments use the set: their roles are built from it.
 * Like IP ACLs, the delete marks the set first and an assignment create re-reads the set after
 * inserting, so the two cannot miss each other.
 */
export async function deletePermissionSet(accountId: number, permissionSetId: string): Promise<void> {
  const { tenantId } = await requireTenant(accountId);
  const marked = await PermissionSet.findOneAndUpdate({ tenantId, permissionSetId }, { $set: { deleting: true } }, { returnDocument: 'after' }).lean<StoredPermissionSet>();
  if (!marked) throw notFound(permissionSetId);
  const users = await Assignment.find({ tenantId, permissionSetId, provisioning: { $ne: 'deleting' } })
    .select('assignmentId assignmentName')
    .sort({ nameKey: 1 })
    .lean();
  if (users.length) {
    await PermissionSet.updateOne({ tenantId, permissionSetId }, { $set: { deleting: false } });
    throw new AppError('CONFLICT', `permission set ${marked.permissionSetName} is used by assignments ${users.map((u) => u.assignmentName).join(', ')}; delete them first`, {
      message: 'The permission set is in use.',
      fieldErrors: users.map((u) => ({ field: 'assignmentIds', message: u.assignmentId })),
    });
  }
  const d = await PermissionSet.findOneAndDelete({ tenantId, permissionSetId }).lean();
  if (!d) throw notFound(permissionSetId);
  await releaseQuota(quotaKey(tenantId));
}

function tagStore(tenantId: string, permissionSetId: string): TagStore<PermissionSetView> {
  return {
    read: () => findPermissionSet(tenantId, permissionSetId),
    write: async (revision, tags) => {
      const d = await PermissionSet.findOneAndUpdate({ tenantId, permissionSetId, revision }, { $set: { tags }, $inc: { revision: 1 } }, { returnDocument: 'after' }).lean<StoredPermissionSet>();
      return d ? toPermissionSetView(d) : null;
    },
    notFound: () => notFound(permissionSetId),
  };
}

export async function tagPermissionSet(accountId: number, permissionSetId: string, tags: readonly Tag[]): Promise<PermissionSetView> {
  const { tenantId } = await requireTenant(accountId);
  return addTags(tagStore(tenantId, permissionSetId), tags);
}

export async function untagPermissionSet(accountId: number, permissionSetId: string, tagKeys: readonly string[]): Promise<PermissionSetView> {
  const { tenantId } = await requireTenant(accountId);
  return removeTags(tagStore(tenantId, permissionSetId), tagKeys);
}
