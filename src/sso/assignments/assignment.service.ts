/**
 * Assignments of the caller's tenant (seed S4 "Assignment" actions; reference/ncloud-model.md §1
 * "Assignment"): CRUD, status, targets, console/API IP ACLs, tags. The SSO role each assignment
 * provisions in its target account is kept in step by assignment-provisioning.ts; this file
 * decides what the assignment should be and asks for the role to follow.
 *
 * Targets are documents of their own (assignment.model.ts): adding is an insert made idempotent by
 * a unique index, removing a delete. Read-modify-writes of lists with a limit (IP ACLs, tags) are
 * made under the `revision` they read (compare-and-set) and retried on a miss; removals are single
 * `$pullAll` updates that also move the revision, so a concurrent add recomputes.
 */
import { randomUUID } from 'node:crypto';
import { Account } from '../../iam/accounts/account.model.js';
import type { ChangeStamps } from '../../iam/change-stamps.js';
import { buildRoleNrn } from '../../iam/nrn.js';
import { endRoleSessions } from '../../iam/sessions/session.service.js';
import { ssoRoleId } from '../../iam/roles/sso-role.service.js';
import { StsCredential } from '../../iam/sts/sts-credential.model.js';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { pageOf, page, type Page } from '../../shared/pagination.js';
import { escapeRegex } from '../../shared/query.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { SsoGroup } from '../groups/group.model.js';
import { IpAcl } from '../ip-acls/ip-acl.model.js';
import { addTags, removeTags, type TagStore } from '../ip-acls/tag-changes.js';
import { PermissionSet, type StoredPermissionSet } from '../permission-sets/permission-set.model.js';
import { ssoNameKey } from '../shared/schemas.js';
import { requireTenant, ssoNrn, type TenantRecord } from '../tenant/tenant-context.js';
import { SsoUser } from '../users/user.model.js';
import {
  afterStep,
  assignmentQuotaKey,
  deleteAssignmentAndRole,
  missingUserPolicies,
  policiesDoNotExist,
  syncAssignmentRole,
} from './assignment-provisioning.js';
import {
  ASSIGNMENT_IP_ACL_MAX,
  ASSIGNMENT_LIMIT,
  Assignment,
  AssignmentTarget,
  type AssignmentStatus,
  type ProvisioningState,
  type StoredAssignment,
} from './assignment.model.js';
import type {
  AddIpAclsInput,
  CreateAssignmentInput,
  ListAssignmentsQuery,
  ListTargetsQuery,
  RemoveIpAclsInput,
  TargetType,
  TargetsInput,
  UpdateAssignmentInput,
} from './assignment.schemas.js';

export interface AssignmentSummary {
  assignmentId: string;
  nrn: string;
  assignmentName: string;
  description: string;
  accountMemberNo: number;
  permissionSetId: string;
  consoleAccessAllowed: boolean;
  apiAccessAllowed: boolean;
  status: AssignmentStatus;
  /** The SSO role in the target account (reference §1 `roleNrn`). */
  roleId: string;
  roleNrn: string;
  /** Where the SSO role stands (see assignment.model.ts); `provisioningError` says why it is not `active`. */
  provisioning: ProvisioningState;
  provisioningError: string | null;
  consoleAccessRestricted: boolean;
  consoleAccessIpAclIds: string[];
  apiAccessRestricted: boolean;
  apiAccessIpAclIds: string[];
  tags: Tag[];
  createdAt: string;
  updatedAt: string;
}

/** The detail: the summary and how many users and groups it targets (the targets themselves page through `GET …/targets`). */
export interface AssignmentView extends AssignmentSummary {
  targetUserCount: number;
  targetGroupCount: number;
}

type Kind = 'console' | 'api';
const KINDS: readonly Kind[] = ['console', 'api'];
const listField = (kind: Kind) => (kind === 'console' ? 'consoleAccessIpAclIds' : 'apiAccessIpAclIds');
const restrictedField = (kind: Kind) => (kind === 'console' ? 'consoleAccessRestricted' : 'apiAccessRestricted');

export function toAssignmentSummary(d: StoredAssignment): AssignmentSummary {
  return {
    assignmentId: d.assignmentId,
    nrn: ssoNrn(d.accountId, 'Assignment', d.assignmentId),
    assignmentName: d.assignmentName,
    description: d.description ?? '',
    accountMemberNo: d.accountMemberNo,
    permissionSetId: d.permissionSetId,
    consoleAccessAllowed: d.consoleAccessAllowed,
    apiAccessAllowed: d.apiAccessAllowed,
    status: d.status,
    roleId: d.roleId,
    roleNrn: buildRoleNrn(d.accountMemberNo, d.roleId),
    provisioning: d.provisioning,
    provisioningError: d.provisioningError ?? null,
    consoleAccessRestricted: d.consoleAccessRestricted,
    consoleAccessIpAclIds: [...d.consoleAccessIpAclIds],
    apiAccessRestricted: d.apiAccessRestricted,
    apiAccessIpAclIds: [...d.apiAccessIpAclIds],
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}

export async function toAssignmentView(d: StoredAssignment): Promise<AssignmentView> {
  const count = (targetType: TargetType) => AssignmentTarget.countDocuments({ tenantId: d.tenantId, assignmentId: d.assignmentId, targetType });
  const [targetUserCount, targetGroupCount] = await Promise.all([count('user'), count('group')]);
  return { ...toAssignmentSummary(d), targetUserCount, targetGroupCount };
}

const notFound = (id: string) => new AppError('NOT_FOUND', `assignment ${id} does not exist`);
const WRITE_ATTEMPTS = 8;

/** The assignment as stored, unless it is being deleted (then it no longer exists for anyone). */
export async function findAssignment(tenantId: string, assignmentId: string): Promise<StoredAssignment | null> {
  const d = await Assignment.findOne({ tenantId, assignmentId }).lean<StoredAssignment>();
  return d && d.provisioning !== 'deleting' ? d : null;
}

async function mustFind(tenantId: string, assignmentId: string): Promise<StoredAssignment> {
  const d = await findAssignment(tenantId, assignmentId);
  if (!d) throw notFound(assignmentId);
  return d;
}

/**
 * A read-modify-write of one assignment under the revision it read. `compute` returns the update
 * (without the revision bump) or null when there is nothing to change.
 */
async function changeAssignment(
  tenantId: string,
  assignmentId: string,
  compute: (current: StoredAssignment) => Record<string, unknown> | null,
): Promise<StoredAssignment> {
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await mustFind(tenantId, assignmentId);
    const update = compute(current);
    if (!update) return current;
    const written = await Assignment.findOneAndUpdate(
      { tenantId, assignmentId, revision: current.revision, provisioning: { $ne: 'deleting' } },
      { ...update, $inc: { revision: 1 } },
      { returnDocument: 'after' },
    ).lean<StoredAssignment>();
    if (written) return written;
  }
  throw new AppError('CONFLICT', `assignment ${assignmentId} was changed concurrently; try again`);
}

/**
 * The account an assignment may target: the caller's own, or, with organization integration on
 * (reference §1 "Organization integration"), another account of the same organization. Any other
 * member number is refused with one message whether or not it exists.
 */
async function checkTargetAccount(tenant: TenantRecord, accountId: number, target: number): Promise<void> {
  if (target === accountId) return;
  if (!tenant.organizationEnabled) {
    throw new AppError('VALIDATION_FAILED', `organization integration is off: assignments may target only account ${accountId}`, {
      fieldErrors: [{ field: 'body.accountMemberNo', message: 'only this account, unless organization integration is enabled' }],
    });
  }
  const [own, other] = await Promise.all([Account.findOne({ memberNo: accountId }).select('organizationId').lean(), Account.findOne({ memberNo: target }).select('organizationId').lean()]);
  if (!own?.organizationId || !other?.organizationId || own.organizationId !== other.organizationId) {
    throw new AppError('VALIDATION_FAILED', `account ${target} is not an account of this account's organization`, {
      fieldErrors: [{ field: 'body.accountMemberNo', message: 'must be this account or an account of its organization' }],
    });
  }
}

export async function listAssignments(accountId: number, q: ListAssignmentsQuery): Promise<Page<AssignmentSummary>> {
  const { tenantId } = await requireTenant(accountId);
  const filter: Record<string, unknown> = { tenantId, provisioning: { $ne: 'deleting' } };
  if (q.assignmentName) filter.nameKey = { $regex: `^${escapeRegex(ssoNameKey(q.assignmentName))}` };
  if (q.permissionSetId) filter.permissionSetId = q.permissionSetId;
  if (q.accountMemberNo) filter.accountMemberNo = q.accountMemberNo;
  if (q.status) filter.status = q.status;
  return pageOf(Assignment.find(filter).sort({ nameKey: 1 }).lean<StoredAssignment[]>(), Assignment.countDocuments(filter), q, toAssignmentSummary);
}

/** An assignment; unfinished provisioning is finished first (the reconciler, on read). */
export async function getAssignment(accountId: number, assignmentId: string, stamps: ChangeStamps): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  const raw = await Assignment.findOne({ tenantId, assignmentId }).lean<StoredAssignment>();
  if (!raw) throw notFound(assignmentId);
  if (raw.provisioning !== 'active') {
    // Errors are already recorded on the assignment (provisioningError) and shown below.
    await syncAssignmentRole(tenantId, assignmentId, stamps).catch(() => undefined);
  }
  return toAssignmentView(await mustFind(tenantId, assignmentId));
}

/**
 * Creates the assignment and provisions its SSO role (assignment-provisioning.ts). Every check
 * that can refuse the request runs before anything is written; a refusal by the role service
 * afterwards rolls the assignment back.
 */
export async function createAssignment(accountId: number, input: CreateAssignmentInput, stamps: ChangeStamps): Promise<AssignmentView> {
  const tenant = await requireTenant(accountId);
  const { tenantId } = tenant;
  const target = input.accountMemberNo ?? accountId;
  await checkTargetAccount(tenant, accountId, target);
  const set = await PermissionSet.findOne({ tenantId, permissionSetId: input.permissionSetId }).lean<StoredPermissionSet>();
  if (!set || set.deleting) throw new AppError('NOT_FOUND', `permission set ${input.permissionSetId} does not exist`);
  // User-created policies are checked in the target account when the assignment is created (reference §1).
  const missing = await missingUserPolicies(target, set.userCreatedPolicyNames);
  if (missing.length) throw policiesDoNotExist(target, missing);

  await acquireQuota(assignmentQuotaKey(tenantId), ASSIGNMENT_LIMIT, 'assignments per tenant');
  const assignmentId = randomUUID();
  try {
    await Assignment.create({
      tenantId,
      accountId,
      assignmentId,
      assignmentName: input.assignmentName,
      nameKey: ssoNameKey(input.assignmentName),
      description: input.description,
      accountMemberNo: target,
      permissionSetId: input.permissionSetId,
      consoleAccessAllowed: input.consoleAccessAllowed,
      apiAccessAllowed: input.apiAccessAllowed,
      tags: input.tags,
      roleId: ssoRoleId(target, assignmentId),
      provisioning: 'creating',
      syncToken: randomUUID(),
    });
  } catch (err) {
    await releaseQuota(assignmentQuotaKey(tenantId));
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `an assignment named "${input.assignmentName}" already exists (names are unique case-insensitively)`);
    throw err;
  }
  await afterStep('assignment-inserted', assignmentId);
  // The set may have been deleted between the check above and the insert: a delete marks the set
  // before it looks for assignments, so re-reading it here closes the gap (permission-set.service.ts).
  const still = await PermissionSet.findOne({ tenantId, permissionSetId: input.permissionSetId }).select('deleting').lean();
  if (!still || still.deleting) {
    await deleteAssignmentAndRole(tenantId, assignmentId, stamps);
    throw new AppError('CONFLICT', `permission set ${input.permissionSetId} is being deleted`);
  }
  await syncAssignmentRole(tenantId, assignmentId, stamps);
  const created = await Assignment.findOne({ tenantId, assignmentId }).lean<StoredAssignment>();
  if (!created) throw notFound(assignmentId);
  return toAssignmentView(created);
}

export async function updateAssignment(accountId: number, assignmentId: string, input: UpdateAssignmentInput): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  const d = await changeAssignment(tenantId, assignmentId, (current) => {
    if (input.assignmentName !== undefined && input.assignmentName !== current.assignmentName) {
      throw new AppError('VALIDATION_FAILED', `the name of assignment ${current.assignmentName} cannot be changed`, {
        fieldErrors: [{ field: 'body.assignmentName', message: 'is immutable (reference §1): send the current name or leave it out' }],
      });
    }
    const set: Record<string, unknown> = {};
    if (input.description !== undefined) set.description = input.description;
    if (input.consoleAccessAllowed !== undefined) set.consoleAccessAllowed = input.consoleAccessAllowed;
    if (input.apiAccessAllowed !== undefined) set.apiAccessAllowed = input.apiAccessAllowed;
    return Object.keys(set).length ? { $set: set } : null;
  });
  return toAssignmentView(d);
}

/**
 * ACTIVATED ("in use") or SUSPENDED (reference §1: hidden from the role-switch list). Suspending
 * also ends the role's console sessions and deletes its temporary credentials, as disabling a
 * role does in Ncloud (§3 "Roles"): a suspended assignment grants nothing from that moment on.
 */
export async function setAssignmentStatus(accountId: number, assignmentId: string, status: AssignmentStatus): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  const d = await Assignment.findOneAndUpdate(
    { tenantId, assignmentId, provisioning: { $ne: 'deleting' } },
    { $set: { status }, $inc: { revision: 1 } },
    { returnDocument: 'after' },
  ).lean<StoredAssignment>();
  if (!d) throw notFound(assignmentId);
  if (status === 'SUSPENDED') {
    await Promise.all([endRoleSessions(d.roleId), StsCredential.deleteMany({ accountId: d.accountMemberNo, roleId: d.roleId }).setOptions({ includeExpired: true })]);
  }
  return toAssignmentView(d);
}

/** Deletes the assignment and its SSO role (the role first: see assignment-provisioning.ts). */
export async function deleteAssignment(accountId: number, assignmentId: string, stamps: ChangeStamps): Promise<void> {
  const { tenantId } = await requireTenant(accountId);
  if (!(await deleteAssignmentAndRole(tenantId, assignmentId, stamps))) throw notFound(assignmentId);
}

/** Which of these principals exist in the tenant (groups being deleted do not). */
async function existingPrincipals(tenantId: string, type: TargetType, ids: readonly string[]): Promise<Set<string>> {
  if (type === 'user') {
    const users = await SsoUser.find({ tenantId, userId: { $in: [...ids] } }).select('userId').lean();
    return new Set(users.map((u) => u.userId));
  }
  const groups = await SsoGroup.find({ tenantId, groupId: { $in: [...ids] } }).select('groupId deletingSince').lean();
  return new Set(groups.filter((g) => !g.deletingSince).map((g) => g.groupId));
}

/** True for a bulk insert whose only failures are duplicates (targets that were already there). */
function onlyDuplicates(err: unknown): boolean {
  if (isDuplicateKeyError(err)) return true;
  const writeErrors = typeof err === 'object' && err !== null && 'writeErrors' in err ? err.writeErrors : undefined;
  return Array.isArray(writeErrors) && writeErrors.length > 0 && writeErrors.every(isDuplicateKeyError);
}

/**
 * `change/assignTargetToAssignment` for users or groups. Each target is an insert (a repeat is a
 * no-op through the unique index). The assignment is re-read afterwards: one deleted meanwhile
 * takes the new targets with it, so no target outlives its assignment.
 */
export async function addTargets(accountId: number, assignmentId: string, input: TargetsInput): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  await mustFind(tenantId, assignmentId);
  const ids = [...new Set(input.targetIds)];
  const found = await existingPrincipals(tenantId, input.targetType, ids);
  const missing = ids.filter((id) => !found.has(id));
  if (missing.length) throw new AppError('NOT_FOUND', `${input.targetType}s ${missing.join(', ')} do not exist`);
  try {
    await AssignmentTarget.insertMany(
      ids.map((targetId) => ({ tenantId, accountId, assignmentId, targetType: input.targetType, targetId })),
      { ordered: false },
    );
  } catch (err) {
    if (!onlyDuplicates(err)) throw err;
  }
  const still = await findAssignment(tenantId, assignmentId);
  if (!still) {
    await AssignmentTarget.deleteMany({ tenantId, assignmentId });
    throw notFound(assignmentId);
  }
  return toAssignmentView(still);
}

/** `change/removeTargetFromAssignment` for users or groups (ids not assigned are ignored). */
export async function removeTargets(accountId: number, assignmentId: string, input: TargetsInput): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  const current = await mustFind(tenantId, assignmentId);
  await AssignmentTarget.deleteMany({ tenantId, assignmentId, targetType: input.targetType, targetId: { $in: [...new Set(input.targetIds)] } });
  return toAssignmentView(current);
}

/**
 * Removal from the principal's side (`change/removeUserFromAssignment`,
 * `change/removeGroupFromAssignment`): 404 unless the principal is a direct target.
 */
export async function removePrincipalFromAssignment(accountId: number, type: TargetType, principalId: string, assignmentId: string, principalExists: boolean): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  if (!principalExists) throw new AppError('NOT_FOUND', `${type} ${principalId} does not exist`);
  const current = await mustFind(tenantId, assignmentId);
  const res = await AssignmentTarget.deleteOne({ tenantId, assignmentId, targetType: type, targetId: principalId });
  if (res.deletedCount === 0) throw new AppError('NOT_FOUND', `${type} ${principalId} is not a target of assignment ${assignmentId}`);
  return toAssignmentView(current);
}

/**
 * Forgets a deleted user or group in every assignment (for the user and group services to call
 * when they delete one). Resolution never reads targets of a principal that no longer exists, so
 * this only keeps the target lists clean.
 */
export async function removeDeletedPrincipalTargets(tenantId: string, principalId: string): Promise<number> {
  return (await AssignmentTarget.deleteMany({ tenantId, targetId: principalId })).deletedCount;
}

export interface AssignmentTargetView {
  targetType: TargetType;
  targetId: string;
  /** loginId of a user, groupName of a group; null when it no longer exists. */
  name: string | null;
}

/** The targets of one type, a page at a time in id order, with their names. */
export async function listTargets(accountId: number, assignmentId: string, q: ListTargetsQuery): Promise<Page<AssignmentTargetView>> {
  const { tenantId } = await requireTenant(accountId);
  await mustFind(tenantId, assignmentId);
  const filter = { tenantId, assignmentId, targetType: q.targetType };
  const [rows, total] = await Promise.all([
    AssignmentTarget.find(filter).sort({ targetId: 1 }).skip(q.pageNo * q.pageSize).limit(q.pageSize).select('targetId').lean(),
    AssignmentTarget.countDocuments(filter),
  ]);
  const ids = rows.map((r) => r.targetId);
  const names = new Map<string, string>();
  if (ids.length && q.targetType === 'user') {
    for (const u of await SsoUser.find({ tenantId, userId: { $in: ids } }).select('userId loginId').lean()) names.set(u.userId, u.loginId);
  } else if (ids.length) {
    for (const g of await SsoGroup.find({ tenantId, groupId: { $in: ids } }).select('groupId groupName').lean()) names.set(g.groupId, g.groupName);
  }
  return page(
    ids.map((id) => ({ targetType: q.targetType, targetId: id, name: names.get(id) ?? null })),
    total,
    q,
  );
}

/** IP ACLs of the tenant that exist and are not being deleted. */
async function liveIpAcls(tenantId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const acls = await IpAcl.find({ tenantId, ipAclId: { $in: [...ids] } }).select('ipAclId deleting').lean();
  return new Set(acls.filter((a) => !a.deleting).map((a) => a.ipAclId));
}

/**
 * After an attach is written, re-reads the ACLs: one deleted meanwhile is taken back out and the
 * request refused (the counterpart of deleteIpAcl's mark-then-check, ip-acl.service.ts).
 */
async function confirmAttached(tenantId: string, assignmentIds: readonly string[], attached: Record<Kind, string[]>): Promise<void> {
  const all = [...new Set([...attached.console, ...attached.api])];
  const live = await liveIpAcls(tenantId, all);
  const gone = all.filter((id) => !live.has(id));
  if (gone.length === 0) return;
  await Assignment.updateMany(
    { tenantId, assignmentId: { $in: [...assignmentIds] } },
    { $pullAll: { consoleAccessIpAclIds: gone, apiAccessIpAclIds: gone }, $inc: { revision: 1 } },
  );
  throw new AppError('CONFLICT', `IP ACLs ${gone.join(', ')} were deleted meanwhile`);
}

function addIpAclUpdate(current: StoredAssignment, add: Record<Kind, string[]>, restricted: Partial<Record<Kind, boolean>>): Record<string, unknown> | null {
  const set: Record<string, unknown> = {};
  for (const kind of KINDS) {
    const field = listField(kind);
    if (restricted[kind] === false) {
      // reference §1: "Sending restricted=false detaches that type's ACLs".
      if (current[field].length || current[restrictedField(kind)]) Object.assign(set, { [field]: [], [restrictedField(kind)]: false });
      continue;
    }
    const merged = [...current[field], ...add[kind].filter((id) => !current[field].includes(id))];
    if (merged.length > ASSIGNMENT_IP_ACL_MAX) {
      throw new AppError('LIMIT_EXCEEDED', `assignment ${current.assignmentName} may hold at most ${ASSIGNMENT_IP_ACL_MAX} ${kind} IP ACLs (this would be ${merged.length})`);
    }
    if (restricted[kind] === true && merged.length === 0) {
      throw new AppError('VALIDATION_FAILED', `${restrictedField(kind)}=true needs at least one IP ACL`, {
        fieldErrors: [{ field: `body.${field}`, message: 'name at least one IP ACL to restrict access to' }],
      });
    }
    if (merged.length !== current[field].length) set[field] = merged;
    if (merged.length > 0 && !current[restrictedField(kind)]) set[restrictedField(kind)] = true;
  }
  return Object.keys(set).length ? { $set: set } : null;
}

/** `PUT /assignments/{id}/ip-acls` (change/assignTargetToAssignment: "Assign a user/group and IP ACL"). */
export async function addIpAclsToAssignment(accountId: number, assignmentId: string, input: AddIpAclsInput): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  await mustFind(tenantId, assignmentId);
  const add: Record<Kind, string[]> = { console: [...new Set(input.consoleAccessIpAclIds ?? [])], api: [...new Set(input.apiAccessIpAclIds ?? [])] };
  const live = await liveIpAcls(tenantId, [...add.console, ...add.api]);
  const missing = [...new Set([...add.console, ...add.api])].filter((id) => !live.has(id));
  if (missing.length) throw new AppError('NOT_FOUND', `IP ACLs ${missing.join(', ')} do not exist`);
  const restricted = { console: input.consoleAccessRestricted, api: input.apiAccessRestricted };
  const d = await changeAssignment(tenantId, assignmentId, (current) => addIpAclUpdate(current, add, restricted));
  await confirmAttached(tenantId, [assignmentId], add);
  return toAssignmentView(d);
}

/**
 * `DELETE /assignments/{id}/ip-acls` (change/removeTargetFromAssignment). The restriction stays
 * on: an access type whose last ACL was removed admits nobody until an ACL is added or
 * `…Restricted=false` is sent. Failing closed keeps a removal from widening access.
 */
export async function removeIpAclsFromAssignment(accountId: number, assignmentId: string, input: RemoveIpAclsInput): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  const d = await Assignment.findOneAndUpdate(
    { tenantId, assignmentId, provisioning: { $ne: 'deleting' } },
    { $pullAll: { consoleAccessIpAclIds: input.consoleAccessIpAclIds, apiAccessIpAclIds: input.apiAccessIpAclIds }, $inc: { revision: 1 } },
    { returnDocument: 'after' },
  ).lean<StoredAssignment>();
  if (!d) throw notFound(assignmentId);
  return toAssignmentView(d);
}

export interface IpAclLinks {
  consoleAccessAssignmentIds: string[];
  apiAccessAssignmentIds: string[];
}

/** `POST /ip-acls/{id}/assignments` (Change/addIPACLToAssignment): attaches one ACL to several assignments. */
export async function attachIpAclToAssignments(accountId: number, ipAclId: string, input: IpAclLinks, ipAclExists: boolean): Promise<IpAclLinks> {
  const { tenantId } = await requireTenant(accountId);
  if (!ipAclExists || !(await liveIpAcls(tenantId, [ipAclId])).has(ipAclId)) throw new AppError('NOT_FOUND', `IP ACL ${ipAclId} does not exist`);
  const byAssignment = new Map<string, Record<Kind, string[]>>();
  for (const id of input.consoleAccessAssignmentIds) byAssignment.set(id, { console: [ipAclId], api: byAssignment.get(id)?.api ?? [] });
  for (const id of input.apiAccessAssignmentIds) byAssignment.set(id, { console: byAssignment.get(id)?.console ?? [], api: [ipAclId] });
  // Check every assignment first, so a refusal leaves all of them as they were.
  const targets = await Promise.all([...byAssignment.keys()].map((id) => findAssignment(tenantId, id)));
  const missing = [...byAssignment.keys()].filter((_, i) => !targets[i]);
  if (missing.length) throw new AppError('NOT_FOUND', `assignments ${missing.join(', ')} do not exist`);
  for (const current of targets) if (current) addIpAclUpdate(current, byAssignment.get(current.assignmentId)!, {});
  for (const [id, add] of byAssignment) await changeAssignment(tenantId, id, (current) => addIpAclUpdate(current, add, {}));
  await confirmAttached(tenantId, [...byAssignment.keys()], { console: input.consoleAccessAssignmentIds.length ? [ipAclId] : [], api: input.apiAccessAssignmentIds.length ? [ipAclId] : [] });
  return input;
}

/** `DELETE /ip-acls/{id}/assignments` (Change/removeIPACLFromAssignment). */
export async function detachIpAclFromAssignments(accountId: number, ipAclId: string, input: IpAclLinks, ipAclExists: boolean): Promise<IpAclLinks> {
  const { tenantId } = await requireTenant(accountId);
  if (!ipAclExists) throw new AppError('NOT_FOUND', `IP ACL ${ipAclId} does not exist`);
  const ids = [...new Set([...input.consoleAccessAssignmentIds, ...input.apiAccessAssignmentIds])];
  const found = await Promise.all(ids.map((id) => findAssignment(tenantId, id)));
  const missing = ids.filter((_, i) => !found[i]);
  if (missing.length) throw new AppError('NOT_FOUND', `assignments ${missing.join(', ')} do not exist`);
  for (const [kind, list] of [
    ['console', input.consoleAccessAssignmentIds],
    ['api', input.apiAccessAssignmentIds],
  ] as const) {
    if (list.length) {
      await Assignment.updateMany({ tenantId, assignmentId: { $in: [...list] } }, { $pull: { [listField(kind)]: ipAclId }, $inc: { revision: 1 } });
    }
  }
  return input;
}

function tagStore(tenantId: string, assignmentId: string): TagStore<AssignmentView> {
  return {
    read: () => findAssignment(tenantId, assignmentId),
    write: async (revision, tags) => {
      const d = await Assignment.findOneAndUpdate(
        { tenantId, assignmentId, revision, provisioning: { $ne: 'deleting' } },
        { $set: { tags }, $inc: { revision: 1 } },
        { returnDocument: 'after' },
      ).lean<StoredAssignment>();
      return d ? await toAssignmentView(d) : null;
    },
    notFound: () => notFound(assignmentId),
  };
}

export async function tagAssignment(accountId: number, assignmentId: string, tags: readonly Tag[]): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  return addTags(tagStore(tenantId, assignmentId), tags);
}

export async function untagAssignment(accountId: number, assignmentId: string, tagKeys: readonly string[]): Promise<AssignmentView> {
  const { tenantId } = await requireTenant(accountId);
  return removeTags(tagStore(tenantId, assignmentId), tagKeys);
}
