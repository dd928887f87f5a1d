/**
 * Roles (seed S1 "Role" actions; reference/ncloud-model.md §3 "Roles"). Services take validated
 * input and the caller's account; they never see HTTP. Every change that can alter a decision
 * (policies, status, targets, deletion) bumps the account's change stamp so compiled policy sets
 * of role sessions are rebuilt on the next call. SSO roles belong to Single Sign-On: this API
 * lists and shows them but refuses to change them (sso-role.service.ts changes them).
 */
import { randomUUID } from 'node:crypto';
import { findManagedPolicy, parseNrn } from '../../policy/index.js';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { pageOf, page, type Page, type PageQuery } from '../../shared/pagination.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { Account } from '../accounts/account.model.js';
import { accountScope, type ChangeStamps } from '../change-stamps.js';
import { buildRoleNrn } from '../nrn.js';
import { Policy } from '../policies/policy.model.js';
import { assertPoliciesExist } from '../policies/policy-refs.js';
import { endRoleSessions } from '../sessions/session.service.js';
import { StsCredential } from '../sts/sts-credential.model.js';
import { RoleServerBinding } from './role-server-binding.model.js';
import { DEFAULT_ROLE_SESSION_SEC, ROLE_LIMIT, ROLE_TARGET_ACCOUNT_LIMIT, Role, type RoleDoc, type RoleType } from './role.model.js';
import type { AttachAccountInput, CreateRoleInput, ListRolesQuery, UpdateRoleInput } from './role.schemas.js';
import { escapeRegex } from '../../shared/query.js';

export interface RoleView {
  roleId: string;
  nrn: string;
  roleName: string;
  roleType: RoleType;
  description: string;
  /** Account and SSO roles; null for server and service roles, which have no console sessions. */
  sessionExpirationSec: number | null;
  status: 'active' | 'suspended';
  policyIds: string[];
  targetAccounts: number[];
  ssoAssignmentId: string | null;
  tags: Tag[];
  lastUseTime: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RoleDetail extends RoleView {
  policies: { policyId: string; policyName: string | null; policyType: 'SystemManaged' | 'UserCreated' }[];
  targets: { accounts: { memberNo: number; accountName: string | null }[]; serverNrns: string[] };
}

export type StoredRole = RoleDoc & { createdAt?: Date; updatedAt?: Date };

export function toRoleView(d: StoredRole): RoleView {
  const hasSessions = d.roleType === 'Account' || d.roleType === 'SSO';
  return {
    roleId: d.roleId,
    nrn: buildRoleNrn(d.accountId, d.roleId),
    roleName: d.roleName,
    roleType: d.roleType,
    description: d.description ?? '',
    sessionExpirationSec: hasSessions ? (d.sessionExpirationSec ?? DEFAULT_ROLE_SESSION_SEC) : null,
    status: d.status,
    policyIds: [...d.policyIds],
    targetAccounts: [...d.targetAccounts],
    ssoAssignmentId: d.ssoAssignmentId ?? null,
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    lastUseTime: d.lastUseTime ? d.lastUseTime.toISOString() : null,
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}

const quotaKey = (accountId: number) => `roles:${accountId}`;
const notFound = (roleId: string) => new AppError('NOT_FOUND', `role ${roleId} does not exist`);


/** Managed policies are stored by their stable id, whether the caller gave the id or the name, so one policy is never attached twice. */
export function normalizePolicyIds(policyIds: readonly string[]): string[] {
  return [...new Set(policyIds.map((id) => findManagedPolicy(id)?.id ?? id))];
}

export async function findRole(accountId: number, roleId: string): Promise<StoredRole | null> {
  return Role.findOne({ accountId, roleId }).lean<StoredRole>();
}

async function mustFind(accountId: number, roleId: string): Promise<StoredRole> {
  const d = await findRole(accountId, roleId);
  if (!d) throw notFound(roleId);
  return d;
}

/** A role this API may change: every type but SSO (created and removed by Single Sign-On assignments). */
async function mustFindManageable(accountId: number, roleId: string): Promise<StoredRole> {
  const d = await mustFind(accountId, roleId);
  if (d.roleType === 'SSO') {
    throw new AppError('BAD_REQUEST', `role ${roleId} is an SSO role: it is managed by its Single Sign-On assignment; change the assignment instead`);
  }
  return d;
}

export async function listRoles(accountId: number, q: ListRolesQuery): Promise<Page<RoleView>> {
  const filter: Record<string, unknown> = { accountId };
  if (q.roleType) filter.roleType = q.roleType;
  if (q.searchRoleName) filter.roleNameKey = { $regex: `^${escapeRegex(q.searchRoleName.toLowerCase())}` };
  return pageOf(Role.find(filter).sort({ roleNameKey: 1 }).lean<StoredRole[]>(), Role.countDocuments(filter), q, toRoleView);
}

export async function getRole(accountId: number, roleId: string): Promise<RoleDetail> {
  const d = await mustFind(accountId, roleId);
  const userIds = d.policyIds.filter((id) => !findManagedPolicy(id));
  const [userPolicies, accounts, bindings] = await Promise.all([
    userIds.length ? Policy.find({ accountId, policyId: { $in: userIds } }).select('policyId name').lean() : Promise.resolve([]),
    d.targetAccounts.length ? Account.find({ memberNo: { $in: d.targetAccounts } }).select('memberNo name').lean() : Promise.resolve([]),
    d.roleType === 'Server' ? RoleServerBinding.find({ accountId, roleId }).sort({ serverNrn: 1 }).select('serverNrn').lean() : Promise.resolve([]),
  ]);
  const policies = d.policyIds.map((policyId) => {
    const managed = findManagedPolicy(policyId);
    if (managed) return { policyId, policyName: managed.name, policyType: 'SystemManaged' as const };
    return { policyId, policyName: userPolicies.find((p) => p.policyId === policyId)?.name ?? null, policyType: 'UserCreated' as const };
  });
  return {
    ...toRoleView(d),
    policies,
    targets: {
      accounts: d.targetAccounts.map((memberNo) => ({ memberNo, accountName: accounts.find((a) => a.memberNo === memberNo)?.name ?? null })),
      serverNrns: bindings.map((b) => b.serverNrn),
    },
  };
}

export async function createRole(accountId: number, input: CreateRoleInput, stamps: ChangeStamps): Promise<RoleView> {
  const policyIds = normalizePolicyIds(input.policyIds);
  await assertPoliciesExist(accountId, policyIds);
  await acquireQuota(quotaKey(accountId), ROLE_LIMIT, 'roles per account');
  try {
    const doc = await Role.create({
      accountId,
      roleId: randomUUID(),
      roleName: input.roleName,
      roleNameKey: input.roleName.toLowerCase(),
      roleType: input.roleType,
      description: input.description ?? '',
      sessionExpirationSec: input.sessionExpirationSec ?? DEFAULT_ROLE_SESSION_SEC,
      policyIds,
      // An account role trusts its own account until the owner names others (seed S1
      // attachRoleToAccont: "this account" is the default target, reference §3 "switchRole").
      targetAccounts: input.roleType === 'Account' ? [accountId] : [],
      tags: input.tags,
    });
    await stamps.bump(accountScope(accountId));
    return toRoleView(doc.toObject() as StoredRole);
  } catch (err) {
    await releaseQuota(quotaKey(accountId));
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `a role named "${input.roleName}" already exists`);
    throw err;
  }
}

export async function updateRole(accountId: number, roleId: string, input: UpdateRoleInput, stamps: ChangeStamps): Promise<RoleView> {
  const role = await mustFindManageable(accountId, roleId);
  if (input.sessionExpirationSec !== undefined && role.roleType !== 'Account') {
    throw new AppError('VALIDATION_FAILED', 'only account roles have a session expiry', {
      fieldErrors: [{ field: 'body.sessionExpirationSec', message: `role ${roleId} is a ${role.roleType} role; only account roles have a session expiry` }],
    });
  }
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) set[k] = v;
  const d = await Role.findOneAndUpdate({ accountId, roleId }, { $set: set }, { returnDocument: 'after' }).lean<StoredRole>();
  if (!d) throw notFound(roleId);
  // Tags are resource tags (ncp:resourceTag) of the role: they can change decisions.
  if (input.tags !== undefined) await stamps.bump(accountScope(accountId));
  return toRoleView(d);
}

export async function deleteRole(accountId: number, roleId: string, stamps: ChangeStamps): Promise<void> {
  const role = await mustFindManageable(accountId, roleId);
  if (role.roleType === 'Server') {
    // AWS IAM refuses to delete a role still in an instance profile (DeleteConflict); a server role
    // still attached to servers is refused the same way, naming where it is attached.
    const attached = await RoleServerBinding.find({ accountId, roleId }).sort({ serverNrn: 1 }).limit(10).select('serverNrn').lean();
    if (attached.length) {
      throw new AppError('CONFLICT', `role ${roleId} is still attached to servers: ${attached.map((b) => b.serverNrn).join(', ')}; detach them first`);
    }
  }
  const d = await Role.findOneAndDelete({ accountId, roleId }).lean();
  if (!d) throw notFound(roleId);
  await releaseQuota(quotaKey(accountId));
  await Promise.all([
    // A server attached between the check and the delete leaves a binding to a role that no
    // longer exists; attachRoleToServers treats such bindings as free.
    RoleServerBinding.deleteMany({ accountId, roleId }),
    StsCredential.deleteMany({ accountId, roleId }).setOptions({ includeExpired: true }),
    endRoleSessions(roleId),
  ]);
  await stamps.bump(accountScope(accountId));
}

export async function addPoliciesToRole(accountId: number, roleId: string, policyIds: string[], stamps: ChangeStamps): Promise<RoleView> {
  await mustFindManageable(accountId, roleId);
  const ids = normalizePolicyIds(policyIds);
  await assertPoliciesExist(accountId, ids);
  const d = await Role.findOneAndUpdate({ accountId, roleId }, { $addToSet: { policyIds: { $each: ids } } }, { returnDocument: 'after' }).lean<StoredRole>();
  if (!d) throw notFound(roleId);
  await stamps.bump(accountScope(accountId));
  return toRoleView(d);
}

export async function removePolicyFromRole(accountId: number, roleId: string, policyId: string, stamps: ChangeStamps): Promise<RoleView> {
  await mustFindManageable(accountId, roleId);
  const [id = policyId] = normalizePolicyIds([policyId]);
  const d = await Role.findOneAndUpdate({ accountId, roleId, policyIds: id }, { $pull: { policyIds: id } }, { returnDocument: 'after' }).lean<StoredRole>();
  if (!d) {
    await mustFind(accountId, roleId);
    throw new AppError('NOT_FOUND', `policy ${policyId} is not attached to role ${roleId}`);
  }
  await stamps.bump(accountScope(accountId));
  return toRoleView(d);
}

/**
 * Suspend or release a role (seed S1 Change/suspendRole). Ncloud: "disabling logs out switched
 * users and expires their STS credentials". Suspension moves the role's credential generation:
 * console sessions switched into it are deleted, and every session or STS credential carrying the
 * old generation is refused by authenticate() from now on, also after the role is reactivated.
 */
export async function setRoleStatus(accountId: number, roleId: string, status: 'active' | 'suspended', stamps: ChangeStamps): Promise<RoleView> {
  await mustFindManageable(accountId, roleId);
  const update = status === 'suspended' ? { $set: { status }, $inc: { credentialGeneration: 1 } } : { $set: { status } };
  const d = await Role.findOneAndUpdate({ accountId, roleId }, update, { returnDocument: 'after' }).lean<StoredRole>();
  if (!d) throw notFound(roleId);
  if (status === 'suspended') await endRoleSessions(roleId);
  await stamps.bump(accountScope(accountId));
  return toRoleView(d);
}

/**
 * The account a target is named by: this account when nothing is given; otherwise the account
 * whose name and root login id both match. One answer for every mismatch, so the caller cannot
 * learn which half was wrong (or whether a login id exists).
 */
async function resolveTargetAccount(accountId: number, input: AttachAccountInput): Promise<number> {
  if (input.accountName === undefined || input.loginId === undefined) return accountId;
  // Accounts are global (not account-scoped): the login id is unique across Gatehouse.
  const acc = await Account.findOne({ rootLoginId: input.loginId }).select('memberNo name').lean();
  if (!acc || acc.name !== input.accountName) {
    throw new AppError('NOT_FOUND', 'no account matches this account name and login id');
  }
  return acc.memberNo;
}

async function mustFindAccountRole(accountId: number, roleId: string): Promise<StoredRole> {
  const role = await mustFindManageable(accountId, roleId);
  if (role.roleType !== 'Account') throw new AppError('BAD_REQUEST', `role ${roleId} is a ${role.roleType} role; target accounts apply to account roles only`);
  return role;
}

/** Adds a target account to an account role (seed S1 Change/attachRoleToAccont). Idempotent. */
export async function attachRoleToAccount(accountId: number, roleId: string, input: AttachAccountInput, stamps: ChangeStamps): Promise<RoleView> {
  const role = await mustFindAccountRole(accountId, roleId);
  const memberNo = await resolveTargetAccount(accountId, input);
  if (role.targetAccounts.includes(memberNo)) return toRoleView(role);
  // The limit is part of the filter, so concurrent attaches cannot overshoot it.
  const d = await Role.findOneAndUpdate(
    { accountId, roleId, [`targetAccounts.${ROLE_TARGET_ACCOUNT_LIMIT - 1}`]: { $exists: false } },
    { $addToSet: { targetAccounts: memberNo } },
    { returnDocument: 'after' },
  ).lean<StoredRole>();
  if (!d) {
    const now = await mustFind(accountId, roleId);
    if (now.targetAccounts.includes(memberNo)) return toRoleView(now);
    throw new AppError('LIMIT_EXCEEDED', `at most ${ROLE_TARGET_ACCOUNT_LIMIT} target accounts per role are allowed`);
  }
  await stamps.bump(accountScope(accountId));
  return toRoleView(d);
}

/**
 * Removes a target account (seed S1 Change/detachRoleFromAccont). Sessions carry only the role's
 * generation, not the account they came through, so the role's generation moves: every session
 * and STS credential of the role ends, and users of the remaining targets switch in again. Less
 * precise than needed, never less safe.
 */
export async function detachRoleFromAccount(accountId: number, roleId: string, memberNo: number, stamps: ChangeStamps): Promise<RoleView> {
  await mustFindAccountRole(accountId, roleId);
  const d = await Role.findOneAndUpdate(
    { accountId, roleId, targetAccounts: memberNo },
    { $pull: { targetAccounts: memberNo }, $inc: { credentialGeneration: 1 } },
    { returnDocument: 'after' },
  ).lean<StoredRole>();
  if (!d) {
    await mustFind(accountId, roleId);
    throw new AppError('NOT_FOUND', `account ${memberNo} is not a target of role ${roleId}`);
  }
  await endRoleSessions(roleId);
  await stamps.bump(accountScope(accountId));
  return toRoleView(d);
}

async function mustFindServerRole(accountId: number, roleId: string): Promise<StoredRole> {
  const role = await mustFindManageable(accountId, roleId);
  if (role.roleType !== 'Server') throw new AppError('BAD_REQUEST', `role ${roleId} is a ${role.roleType} role; servers can be attached to server roles only`);
  return role;
}

/**
 * Attaches servers to a server role (seed S1 Change/attachRoleToServer). A server has one role
 * (reference §3): the unique binding per (account, server NRN) decides races. A binding left by a
 * deleted role is taken over. When one server of the list cannot be attached, the bindings this
 * call made are removed again, so nothing is half-written.
 */
export async function attachRoleToServers(accountId: number, roleId: string, serverNrns: string[]): Promise<RoleDetail> {
  await mustFindServerRole(accountId, roleId);
  const nrns = [...new Set(serverNrns)];
  const foreign = nrns.filter((n) => parseNrn(n)?.memberNo !== String(accountId));
  if (foreign.length) {
    throw new AppError('VALIDATION_FAILED', 'servers must belong to this account', {
      fieldErrors: foreign.map((n) => ({ field: 'body.serverNrns', message: `${n} is not a server of account ${accountId}` })),
    });
  }
  const claimed: string[] = [];
  try {
    for (const serverNrn of nrns) {
      try {
        await RoleServerBinding.create({ accountId, serverNrn, roleId });
        claimed.push(serverNrn);
        continue;
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      const existing = await RoleServerBinding.findOne({ accountId, serverNrn }).lean();
      if (!existing || existing.roleId === roleId) continue;
      const holderExists = await Role.exists({ accountId, roleId: existing.roleId });
      if (!holderExists) {
        const taken = await RoleServerBinding.updateOne({ accountId, serverNrn, roleId: existing.roleId }, { $set: { roleId } });
        if (taken.modifiedCount === 1) {
          claimed.push(serverNrn);
          continue;
        }
      }
      throw new AppError('CONFLICT', `server ${serverNrn} already has role ${existing.roleId}; a server has one role: detach it there first`);
    }
    // Deleted meanwhile: give the servers back.
    if (!(await Role.exists({ accountId, roleId }))) throw notFound(roleId);
  } catch (err) {
    if (claimed.length) await RoleServerBinding.deleteMany({ accountId, roleId, serverNrn: { $in: claimed } });
    throw err;
  }
  // No change stamp: which servers hold a role decides nothing in the admin API.
  return getRole(accountId, roleId);
}

export async function detachRoleFromServer(accountId: number, roleId: string, serverNrn: string): Promise<RoleDetail> {
  await mustFindServerRole(accountId, roleId);
  const res = await RoleServerBinding.deleteOne({ accountId, roleId, serverNrn });
  if (res.deletedCount !== 1) throw new AppError('NOT_FOUND', `server ${serverNrn} is not attached to role ${roleId}`);
  return getRole(accountId, roleId);
}

export interface ServerInstanceView {
  serverNrn: string;
  roleId: string;
  roleName: string | null;
  roleNrn: string;
  attachedAt: string;
}

/**
 * Seed S1 View/getServerInstanceList ("server resource list to be granted a role"). Gatehouse
 * runs no servers, so the list is what it knows: the server NRNs attached to this account's
 * server roles.
 */
export async function listServerInstances(accountId: number, q: PageQuery): Promise<Page<ServerInstanceView>> {
  const filter = { accountId };
  const [bindings, total] = await Promise.all([
    RoleServerBinding.find(filter).sort({ serverNrn: 1 }).skip(q.pageNo * q.pageSize).limit(q.pageSize).lean(),
    RoleServerBinding.countDocuments(filter),
  ]);
  const roleIds = [...new Set(bindings.map((b) => b.roleId))];
  const roles = roleIds.length ? await Role.find({ accountId, roleId: { $in: roleIds } }).select('roleId roleName').lean() : [];
  return page(
    bindings.map((b) => ({
      serverNrn: b.serverNrn,
      roleId: b.roleId,
      roleName: roles.find((r) => r.roleId === b.roleId)?.roleName ?? null,
      roleNrn: buildRoleNrn(accountId, b.roleId),
      attachedAt: (b.updatedAt ?? new Date(0)).toISOString(),
    })),
    total,
    q,
  );
}

/** Seed S1 View/getServerInstanceDetail: the server role of one server NRN (404 when it has none). */
export async function getServerInstance(accountId: number, serverNrn: string): Promise<ServerInstanceView> {
  const b = await RoleServerBinding.findOne({ accountId, serverNrn }).lean();
  const role = b ? await Role.findOne({ accountId, roleId: b.roleId }).select('roleId roleName').lean() : null;
  // A binding whose role is gone (see deleteRole) is no attachment.
  if (!b || !role) throw new AppError('NOT_FOUND', `server ${serverNrn} has no server role in this account (Gatehouse runs no servers: it knows servers only through server roles)`);
  return { serverNrn, roleId: b.roleId, roleName: role.roleName, roleNrn: buildRoleNrn(accountId, b.roleId), attachedAt: (b.updatedAt ?? new Date(0)).toISOString() };
}
