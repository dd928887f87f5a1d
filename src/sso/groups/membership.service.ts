/**
 * Group membership of SSO users, from either side (seed S4 lists `addUserToGroup` and
 * `removeUserFromGroup` twice: on the User and on the Group resource type). Membership is stored
 * on the user (`SsoUser.groupIds`), so:
 * - a user's groups are read from that user alone (sign-in, access resolution);
 * - a group's members are `{ tenantId, groupIds: groupId }`, paged, never loaded whole.
 *
 * No transactions (ARCHITECTURE.md "Storage"): each write is atomic on one user document, or one
 * `updateMany` of per-user atomic writes. Two races are closed by the order of steps:
 * - the per-user group limit is part of the update's filter (`groupIds.{n}` must not exist), so
 *   racing adds cannot overshoot it;
 * - a group being deleted (`deletingSince` set before its id is pulled from members) could gain a
 *   member from an add that checked it a moment earlier; every add therefore re-reads the groups
 *   after writing and pulls ids whose group is gone or going. Either the add's re-read sees the
 *   delete, or the add's write came first and the delete's pull removes it.
 */
import { AppError } from '../../shared/errors.js';
import { pageOf, page, type Page, type PageQuery } from '../../shared/pagination.js';
import type { TenantRecord } from '../tenant/tenant-context.js';
import { GROUPS_PER_USER, SsoUser } from '../users/user.model.js';
import { mustFindUser, toUserView, type StoredUser, type UserView } from '../users/user.service.js';
import { SsoGroup } from './group.model.js';
import { mustFindLiveGroup, toGroupView, type GroupView, type StoredGroup } from './group.service.js';

type MembershipTenant = Pick<TenantRecord, 'tenantId' | 'accountId'>;

/** Ids among `groupIds` whose group exists and is not being deleted. */
async function liveGroupIds(tenantId: string, groupIds: readonly string[]): Promise<Set<string>> {
  if (groupIds.length === 0) return new Set();
  const live = await SsoGroup.find({ tenantId, groupId: { $in: [...groupIds] }, deletingSince: null })
    .select('groupId')
    .lean();
  return new Set(live.map((g) => g.groupId));
}

/** The user's groups (live ones), by name, paged. */
export async function listGroupsOfUser(tenant: MembershipTenant, userId: string, q: PageQuery): Promise<Page<GroupView>> {
  const user = await mustFindUser(tenant.tenantId, userId);
  if (user.groupIds.length === 0) return page([], 0, q);
  const filter = { tenantId: tenant.tenantId, groupId: { $in: [...user.groupIds] }, deletingSince: null };
  return pageOf(SsoGroup.find(filter).sort({ nameKey: 1 }).lean<StoredGroup[]>(), SsoGroup.countDocuments(filter), q, toGroupView);
}

/** A group's members, by login id, paged (`{ tenantId, groupIds: groupId }`, indexed). */
export async function listMembersOfGroup(tenant: MembershipTenant, groupId: string, q: PageQuery): Promise<Page<UserView>> {
  await mustFindLiveGroup(tenant.tenantId, groupId);
  const filter = { tenantId: tenant.tenantId, groupIds: groupId };
  return pageOf(SsoUser.find(filter).sort({ loginIdKey: 1 }).lean<StoredUser[]>(), SsoUser.countDocuments(filter), q, toUserView);
}

function limitError(detail: string, fieldErrors: { field: string; message: string }[] = []): AppError {
  return new AppError('LIMIT_EXCEEDED', detail, { fieldErrors });
}

/**
 * `addUserToGroup` from the user's side: adds the user to up to 100 groups in one atomic write.
 * Unknown groups are refused (400, one field error each) before anything is written.
 */
export async function addUserToGroups(tenant: MembershipTenant, userId: string, groupIds: string[]): Promise<UserView> {
  const { tenantId } = tenant;
  const user = await mustFindUser(tenantId, userId);
  const live = await liveGroupIds(tenantId, groupIds);
  const unknown = groupIds.map((id, i) => ({ id, i })).filter(({ id }) => !live.has(id));
  if (unknown.length) {
    throw new AppError('VALIDATION_FAILED', 'unknown groups', {
      fieldErrors: unknown.map(({ id, i }) => ({ field: `body.groupIds.${i}`, message: `group ${id} does not exist` })),
    });
  }
  const toAdd = [...new Set(groupIds)].filter((id) => !user.groupIds.includes(id));
  if (toAdd.length === 0) return toUserView(user);
  if (user.groupIds.length + toAdd.length > GROUPS_PER_USER) {
    throw limitError(`a user can be in at most ${GROUPS_PER_USER} groups`);
  }
  // The limit is in the filter: after the add the array holds at most GROUPS_PER_USER ids.
  const d = await SsoUser.findOneAndUpdate(
    { tenantId, userId, [`groupIds.${GROUPS_PER_USER - toAdd.length}`]: { $exists: false } },
    { $addToSet: { groupIds: { $each: toAdd } } },
    { returnDocument: 'after' },
  ).lean<StoredUser>();
  if (!d) {
    await mustFindUser(tenantId, userId);
    throw limitError(`a user can be in at most ${GROUPS_PER_USER} groups`);
  }
  // A group deleted while we wrote: take its id back out (see the header).
  const stillLive = await liveGroupIds(tenantId, toAdd);
  const gone = toAdd.filter((id) => !stillLive.has(id));
  if (gone.length) {
    const cleaned = await SsoUser.findOneAndUpdate({ tenantId, userId }, { $pullAll: { groupIds: gone } }, { returnDocument: 'after' }).lean<StoredUser>();
    if (cleaned) return toUserView(cleaned);
  }
  return toUserView(d);
}

/**
 * `addUserToGroup` from the group's side: adds up to 100 users. Unknown users (400) and users
 * already in the maximum number of groups (409) are refused before anything is written; a user
 * filled by a racing add between the check and the write is reported after (the others stay added).
 */
export async function addUsersToGroup(
  tenant: MembershipTenant,
  groupId: string,
  userIds: string[],
): Promise<{ groupId: string; addedUserIds: string[]; memberCount: number }> {
  const { tenantId } = tenant;
  await mustFindLiveGroup(tenantId, groupId);
  const users = await SsoUser.find({ tenantId, userId: { $in: userIds } })
    .select('userId loginId groupIds')
    .lean();
  const byId = new Map(users.map((u) => [u.userId, u]));
  const unknown = userIds.map((id, i) => ({ id, i })).filter(({ id }) => !byId.has(id));
  if (unknown.length) {
    throw new AppError('VALIDATION_FAILED', 'unknown users', {
      fieldErrors: unknown.map(({ id, i }) => ({ field: `body.userIds.${i}`, message: `user ${id} does not exist` })),
    });
  }
  const toAdd = users.filter((u) => !u.groupIds.includes(groupId));
  const full = toAdd.filter((u) => u.groupIds.length >= GROUPS_PER_USER);
  if (full.length) {
    throw limitError(
      `a user can be in at most ${GROUPS_PER_USER} groups`,
      full.map((u) => ({ field: 'body.userIds', message: `${u.loginId} is already in ${GROUPS_PER_USER} groups` })),
    );
  }
  const ids = toAdd.map((u) => u.userId);
  if (ids.length) {
    await SsoUser.updateMany(
      { tenantId, userId: { $in: ids }, groupIds: { $ne: groupId }, [`groupIds.${GROUPS_PER_USER - 1}`]: { $exists: false } },
      { $addToSet: { groupIds: groupId } },
    );
    if (!(await liveGroupIds(tenantId, [groupId])).has(groupId)) {
      // Deleted while we wrote: undo for the users we touched and answer as if it was gone before.
      await SsoUser.updateMany({ tenantId, userId: { $in: ids } }, { $pull: { groupIds: groupId } });
      throw new AppError('NOT_FOUND', `group ${groupId} does not exist`);
    }
    const notAdded = await SsoUser.find({ tenantId, userId: { $in: ids }, groupIds: { $ne: groupId } })
      .select('loginId')
      .lean();
    if (notAdded.length) {
      throw limitError(
        `a user can be in at most ${GROUPS_PER_USER} groups; the other users were added`,
        notAdded.map((u) => ({ field: 'body.userIds', message: `${u.loginId} is already in ${GROUPS_PER_USER} groups` })),
      );
    }
  }
  const memberCount = await SsoUser.countDocuments({ tenantId, groupIds: groupId });
  return { groupId, addedUserIds: ids, memberCount };
}

/**
 * `removeUserFromGroup` (either side): one atomic pull on the user. 404 when the user does not
 * exist or is not a member. From the user's side the group need not exist any more, so an id
 * left by an interrupted group delete can always be removed.
 */
export async function removeUserFromGroup(tenant: MembershipTenant, userId: string, groupId: string): Promise<UserView> {
  const d = await SsoUser.findOneAndUpdate({ tenantId: tenant.tenantId, userId, groupIds: groupId }, { $pull: { groupIds: groupId } }, { returnDocument: 'after' }).lean<StoredUser>();
  if (!d) {
    await mustFindUser(tenant.tenantId, userId);
    throw new AppError('NOT_FOUND', `user ${userId} is not a member of group ${groupId}`);
  }
  return toUserView(d);
}

/** `removeUserFromGroup` from the group's side: the group must exist. */
export async function removeMemberFromGroup(tenant: MembershipTenant, groupId: string, userId: string): Promise<void> {
  await mustFindLiveGroup(tenant.tenantId, groupId);
  await removeUserFromGroup(tenant, userId, groupId);
}
