/**
 * Groups of sub accounts (seed S1 "Group" actions). Membership lives on the sub account
 * (`groupIds`, src/iam/groups/admin-group.model.ts), so a principal's policies are read from its
 * own document and its groups only. Every change that can alter a decision (membership, a group's
 * policies, deleting a group) bumps the account's change stamp, so the next call of every member
 * is decided on the new state.
 *
 * Limits (Ncloud documents none for groups; these are AWS IAM's quotas): 300 groups per account,
 * a sub account in at most 10 groups, at most 20 policies per group. Each is enforced by the
 * write itself (a quota counter, or a filter on the array's length), never by counting first.
 */
import { randomUUID } from 'node:crypto';
import { findManagedPolicy } from '../../policy/index.js';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { pageOf, page, type Page, type PageQuery } from '../../shared/pagination.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { accountScope, type ChangeStamps } from '../change-stamps.js';
import { buildGroupNrn } from '../nrn.js';
import { assertPoliciesExist } from '../policies/policy-refs.js';
import { Policy } from '../policies/policy.model.js';
import { SubAccount } from '../sub-accounts/sub-account.model.js';
import { AdminGroup, type AdminGroupDoc } from './admin-group.model.js';
import {
  GROUP_LIMIT,
  GROUPS_PER_SUB_ACCOUNT,
  POLICIES_PER_GROUP,
  groupNameKey,
  type CreateGroupInput,
  type ListGroupsQuery,
  type UpdateGroupInput,
} from './group.schemas.js';
import { escapeRegex } from '../../shared/query.js';

export interface GroupView {
  groupId: string;
  nrn: string;
  groupName: string;
  description: string;
  policyIds: string[];
  tags: Tag[];
  createdAt: string;
  updatedAt: string;
}

export interface GroupMember {
  subAccountId: string;
  loginId: string;
  name: string;
  status: string;
}

export interface GroupDetail extends GroupView {
  memberCount: number;
  members: Page<GroupMember>;
  /** The attached policies with their names (null for an id whose policy no longer exists). */
  policies: { policyId: string; policyName: string | null; policyType: 'UserCreated' | 'SystemManaged' }[];
}

export type StoredGroup = AdminGroupDoc & { createdAt?: Date; updatedAt?: Date };

/** The quota counter of an account's groups (src/shared/quota.ts). */
export const groupQuotaKey = (accountId: number): string => `groups:${accountId}`;


export function toGroupView(d: StoredGroup): GroupView {
  return {
    groupId: d.groupId,
    nrn: buildGroupNrn(d.accountId, d.groupId),
    groupName: d.name,
    description: d.description ?? '',
    policyIds: [...d.policyIds],
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}

export async function findGroup(accountId: number, groupId: string): Promise<StoredGroup | null> {
  return AdminGroup.findOne({ accountId, groupId }).lean<StoredGroup>();
}

async function mustFind(accountId: number, groupId: string): Promise<StoredGroup> {
  const d = await findGroup(accountId, groupId);
  if (!d) throw new AppError('NOT_FOUND', `group ${groupId} does not exist`);
  return d;
}

export async function listGroups(accountId: number, q: ListGroupsQuery): Promise<Page<GroupView>> {
  const filter: Record<string, unknown> = { accountId };
  if (q.searchName) filter.nameKey = { $regex: `^${escapeRegex(groupNameKey(q.searchName))}` };
  return pageOf(AdminGroup.find(filter).sort({ nameKey: 1 }).lean<StoredGroup[]>(), AdminGroup.countDocuments(filter), q, toGroupView);
}

async function policiesOfGroup(accountId: number, policyIds: readonly string[]): Promise<GroupDetail['policies']> {
  const userIds = policyIds.filter((id) => !findManagedPolicy(id));
  const stored = userIds.length
    ? await Policy.find({ accountId, policyId: { $in: userIds } })
        .select('policyId name')
        .lean()
    : [];
  const names = new Map(stored.map((p) => [p.policyId, p.name]));
  return policyIds.map((id) => {
    const managed = findManagedPolicy(id);
    return managed
      ? { policyId: managed.id, policyName: managed.name, policyType: 'SystemManaged' as const }
      : { policyId: id, policyName: names.get(id) ?? null, policyType: 'UserCreated' as const };
  });
}

export async function getGroup(accountId: number, groupId: string, membersPage: PageQuery): Promise<GroupDetail> {
  const d = await mustFind(accountId, groupId);
  const memberFilter = { accountId, groupIds: groupId };
  const [members, memberCount, policies] = await Promise.all([
    SubAccount.find(memberFilter)
      .select('subAccountId loginId name status')
      .sort({ loginIdKey: 1 })
      .skip(membersPage.pageNo * membersPage.pageSize)
      .limit(membersPage.pageSize)
      .lean(),
    SubAccount.countDocuments(memberFilter),
    policiesOfGroup(accountId, d.policyIds),
  ]);
  return {
    ...toGroupView(d),
    memberCount,
    members: page(
      members.map((m) => ({ subAccountId: m.subAccountId, loginId: m.loginId, name: m.name, status: m.status })),
      memberCount,
      membersPage,
    ),
    policies,
  };
}

export async function createGroup(accountId: number, input: CreateGroupInput): Promise<GroupView> {
  await acquireQuota(groupQuotaKey(accountId), GROUP_LIMIT, 'groups per account');
  try {
    const doc = await AdminGroup.create({
      accountId,
      groupId: randomUUID(),
      name: input.groupName,
      nameKey: groupNameKey(input.groupName),
      description: input.description,
      tags: input.tags,
    });
    return toGroupView(doc.toObject() as StoredGroup);
  } catch (err) {
    await releaseQuota(groupQuotaKey(accountId));
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `a group named "${input.groupName}" already exists`);
    throw err;
  }
}

export async function updateGroup(accountId: number, groupId: string, input: UpdateGroupInput): Promise<GroupView> {
  const set: Record<string, unknown> = {};
  if (input.groupName !== undefined) {
    set.name = input.groupName;
    set.nameKey = groupNameKey(input.groupName);
  }
  if (input.description !== undefined) set.description = input.description;
  if (input.tags !== undefined) set.tags = input.tags;
  let d: StoredGroup | null;
  try {
    d = await AdminGroup.findOneAndUpdate({ accountId, groupId }, { $set: set }, { returnDocument: 'after' }).lean<StoredGroup>();
  } catch (err) {
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `a group named "${input.groupName ?? ''}" already exists`);
    throw err;
  }
  if (!d) throw new AppError('NOT_FOUND', `group ${groupId} does not exist`);
  // Name, description and tags feed no decision (Sub Account actions support no resource tags, S1).
  return toGroupView(d);
}

/**
 * Deletes the group; its members lose the membership. The group goes first, so its policies stop
 * applying at once; the membership ids are then pulled from the sub accounts. The pull runs even
 * when the group is already gone, so a retry after a failure half-way cleans up what is left.
 */
export async function deleteGroup(accountId: number, groupId: string, stamps: ChangeStamps): Promise<void> {
  const d = await AdminGroup.findOneAndDelete({ accountId, groupId }).lean();
  if (d) {
    await releaseQuota(groupQuotaKey(accountId));
    await stamps.bump(accountScope(accountId));
  }
  await SubAccount.updateMany({ accountId, groupIds: groupId }, { $pull: { groupIds: groupId } });
  if (!d) throw new AppError('NOT_FOUND', `group ${groupId} does not exist`);
}

/**
 * Adds sub accounts to the group (membership stored on each sub account). Unknown sub accounts
 * and sub accounts already in 10 groups are refused before anything is written; the limit is also
 * part of the update's filter (`groupIds.9` must not exist), so racing adds cannot overshoot it.
 */
export async function addSubAccountsToGroup(
  accountId: number,
  groupId: string,
  subAccountIds: string[],
  stamps: ChangeStamps,
): Promise<{ groupId: string; addedSubAccountIds: string[]; memberCount: number }> {
  await mustFind(accountId, groupId);
  const subs = await SubAccount.find({ accountId, subAccountId: { $in: subAccountIds } })
    .select('subAccountId loginId groupIds')
    .lean();
  const missing = subAccountIds.filter((id) => !subs.some((s) => s.subAccountId === id));
  if (missing.length) {
    throw new AppError('VALIDATION_FAILED', 'unknown sub accounts', {
      fieldErrors: missing.map((id) => ({ field: 'subAccountIds', message: `sub account ${id} does not exist` })),
    });
  }
  const toAdd = subs.filter((s) => !s.groupIds.includes(groupId));
  const full = toAdd.filter((s) => s.groupIds.length >= GROUPS_PER_SUB_ACCOUNT);
  if (full.length) {
    throw new AppError('LIMIT_EXCEEDED', `a sub account can be in at most ${GROUPS_PER_SUB_ACCOUNT} groups`, {
      fieldErrors: full.map((s) => ({ field: 'subAccountIds', message: `${s.loginId} is already in ${GROUPS_PER_SUB_ACCOUNT} groups` })),
    });
  }
  const ids = toAdd.map((s) => s.subAccountId);
  if (ids.length) {
    await SubAccount.updateMany(
      { accountId, subAccountId: { $in: ids }, groupIds: { $ne: groupId }, [`groupIds.${GROUPS_PER_SUB_ACCOUNT - 1}`]: { $exists: false } },
      { $addToSet: { groupIds: groupId } },
    );
    await stamps.bump(accountScope(accountId));
    // A concurrent add may have filled a sub account between the check and the write.
    const notAdded = await SubAccount.find({ accountId, subAccountId: { $in: ids }, groupIds: { $ne: groupId } })
      .select('loginId')
      .lean();
    if (notAdded.length) {
      throw new AppError('LIMIT_EXCEEDED', `a sub account can be in at most ${GROUPS_PER_SUB_ACCOUNT} groups; the others were added`, {
        fieldErrors: notAdded.map((s) => ({
          field: 'subAccountIds',
          message: `${s.loginId} is already in ${GROUPS_PER_SUB_ACCOUNT} groups`,
        })),
      });
    }
  }
  const memberCount = await SubAccount.countDocuments({ accountId, groupIds: groupId });
  return { groupId, addedSubAccountIds: ids, memberCount };
}

export async function removeSubAccountFromGroup(
  accountId: number,
  groupId: string,
  subAccountId: string,
  stamps: ChangeStamps,
): Promise<void> {
  await mustFind(accountId, groupId);
  const res = await SubAccount.updateOne({ accountId, subAccountId, groupIds: groupId }, { $pull: { groupIds: groupId } });
  if (res.matchedCount === 0) {
    const exists = await SubAccount.exists({ accountId, subAccountId });
    throw new AppError(
      'NOT_FOUND',
      exists ? `sub account ${subAccountId} is not a member of group ${groupId}` : `sub account ${subAccountId} does not exist`,
    );
  }
  await stamps.bump(accountScope(accountId));
}

/** Managed policies may be named by id or name; groups store their id, once. */
function canonicalPolicyId(id: string): string {
  return findManagedPolicy(id)?.id ?? id;
}

export async function addPoliciesToGroup(
  accountId: number,
  group: StoredGroup | undefined,
  groupId: string,
  policyIds: string[],
  stamps: ChangeStamps,
): Promise<GroupView> {
  if (!group) throw new AppError('NOT_FOUND', `group ${groupId} does not exist`);
  await assertPoliciesExist(accountId, policyIds);
  const ids = [...new Set(policyIds.map(canonicalPolicyId))];
  const fresh = ids.filter((id) => !group.policyIds.includes(id));
  if (fresh.length === 0) return toGroupView(group);
  // At most POLICIES_PER_GROUP after the add: the group may hold at most LIMIT - fresh now.
  const d = await AdminGroup.findOneAndUpdate(
    { accountId, groupId, [`policyIds.${POLICIES_PER_GROUP - fresh.length}`]: { $exists: false } },
    { $addToSet: { policyIds: { $each: fresh } } },
    { returnDocument: 'after' },
  ).lean<StoredGroup>();
  if (!d) {
    await mustFind(accountId, groupId);
    throw new AppError('LIMIT_EXCEEDED', `a group can have at most ${POLICIES_PER_GROUP} policies`);
  }
  await stamps.bump(accountScope(accountId));
  return toGroupView(d);
}

export async function removePolicyFromGroup(
  accountId: number,
  groupId: string,
  policyId: string,
  stamps: ChangeStamps,
): Promise<GroupView> {
  const managed = findManagedPolicy(policyId);
  const refs = managed ? [managed.id, managed.name] : [policyId];
  const d = await AdminGroup.findOneAndUpdate(
    { accountId, groupId, policyIds: { $in: refs } },
    { $pullAll: { policyIds: refs } },
    { returnDocument: 'after' },
  ).lean<StoredGroup>();
  if (!d) {
    await mustFind(accountId, groupId);
    throw new AppError('NOT_FOUND', `policy ${policyId} is not attached to group ${groupId}`);
  }
  await stamps.bump(accountScope(accountId));
  return toGroupView(d);
}
