/**
 * Groups of SSO users (seed S4 "Group" actions; reference/ncloud-model.md §1 "Group"). Names are
 * immutable and unique per tenant case-insensitively (a lowercased key under a unique index, never
 * check-then-insert); at most 100,000 groups per tenant (an atomic quota counter).
 *
 * Deleting a group pulls its id from its members in bounded batches (a group may hold a million
 * users). The group is marked first (`deletingSince`: hidden, refuses new members), its id is
 * pulled batch by batch, and the document goes last, so an interrupted delete leaves a marked
 * group that the next DELETE of the same id finishes, never a member list without a group nobody
 * can clean up.
 */
import { randomUUID } from 'node:crypto';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { pageOf, type Page } from '../../shared/pagination.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { mergeTags, SSO_TAG_LIMIT, ssoNameKey } from '../shared/schemas.js';
import { ssoNrn, type TenantRecord } from '../tenant/tenant-context.js';
import { SsoUser } from '../users/user.model.js';
import { SSO_GROUP_LIMIT, SsoGroup, ssoGroupQuotaKey, type SsoGroupDoc } from './group.model.js';
import type { CreateGroupInput, ListGroupsQuery, UpdateGroupInput } from './group.schemas.js';
import { escapeRegex } from '../../shared/query.js';
import { removeDeletedPrincipalTargets } from '../assignments/assignment.service.js';
import { removeDeletedApplicationPrincipal } from '../applications/application-access.js';

type GroupTenant = Pick<TenantRecord, 'tenantId' | 'accountId'>;

export interface GroupView {
  groupId: string;
  nrn: string;
  groupName: string;
  description: string;
  tags: Tag[];
  createdAt: string;
  updatedAt: string;
}

export interface GroupDetail extends GroupView {
  memberCount: number;
}

export type StoredGroup = SsoGroupDoc & { createdAt?: Date; updatedAt?: Date };

/** Members whose membership one step of a group delete removes. */
export const DELETE_BATCH_SIZE = 500;

export function toGroupView(d: StoredGroup): GroupView {
  return {
    groupId: d.groupId,
    nrn: ssoNrn(d.accountId, 'Group', d.groupId),
    groupName: d.groupName,
    description: d.description ?? '',
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}


const notFound = (groupId: string) => new AppError('NOT_FOUND', `group ${groupId} does not exist`);

/** The group, including one whose delete is in progress (authorization needs its tags to finish the delete). */
export async function findGroup(tenantId: string, groupId: string): Promise<StoredGroup | null> {
  return SsoGroup.findOne({ tenantId, groupId }).lean<StoredGroup>();
}

/** The group unless it does not exist or is being deleted (404 either way). */
export async function mustFindLiveGroup(tenantId: string, groupId: string): Promise<StoredGroup> {
  const d = await SsoGroup.findOne({ tenantId, groupId, deletingSince: null }).lean<StoredGroup>();
  if (!d) throw notFound(groupId);
  return d;
}

export async function listGroups(tenant: GroupTenant, q: ListGroupsQuery): Promise<Page<GroupView>> {
  const filter: Record<string, unknown> = { tenantId: tenant.tenantId, deletingSince: null };
  if (q.groupName) filter.nameKey = { $regex: `^${escapeRegex(ssoNameKey(q.groupName))}` };
  return pageOf(SsoGroup.find(filter).sort({ nameKey: 1 }).lean<StoredGroup[]>(), SsoGroup.countDocuments(filter), q, toGroupView);
}

/** The group with its member count (an indexed count of `{ tenantId, groupIds: groupId }`). */
export async function getGroup(tenant: GroupTenant, groupId: string): Promise<GroupDetail> {
  const d = await mustFindLiveGroup(tenant.tenantId, groupId);
  const memberCount = await SsoUser.countDocuments({ tenantId: tenant.tenantId, groupIds: groupId });
  return { ...toGroupView(d), memberCount };
}

export async function createGroup(tenant: GroupTenant, input: CreateGroupInput): Promise<GroupView> {
  const quotaKey = ssoGroupQuotaKey(tenant.tenantId);
  await acquireQuota(quotaKey, SSO_GROUP_LIMIT, 'groups per tenant');
  try {
    const doc = await SsoGroup.create({
      accountId: tenant.accountId,
      tenantId: tenant.tenantId,
      groupId: randomUUID(),
      groupName: input.groupName,
      nameKey: ssoNameKey(input.groupName),
      description: input.description,
      tags: input.tags,
    });
    return toGroupView(doc.toObject() as StoredGroup);
  } catch (err) {
    await releaseQuota(quotaKey);
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `a group named "${input.groupName}" already exists`);
    throw err;
  }
}

/** Names are immutable (reference §1): only the description changes. */
export async function updateGroup(tenant: GroupTenant, groupId: string, input: UpdateGroupInput): Promise<GroupView> {
  const d = await SsoGroup.findOneAndUpdate(
    { tenantId: tenant.tenantId, groupId, deletingSince: null },
    { $set: { description: input.description } },
    { returnDocument: 'after' },
  ).lean<StoredGroup>();
  if (!d) throw notFound(groupId);
  return toGroupView(d);
}

export interface DeleteProgress {
  groupId: string;
  membersRemoved: number;
}

export interface DeleteOptions {
  /** Members per batch (default DELETE_BATCH_SIZE). */
  batchSize?: number;
  /** Progress after each batch (a group of a million members takes two thousand batches). */
  onBatch?: (p: DeleteProgress) => void;
}

/** Deletes the group (see the header for the order of steps). */
export async function deleteGroup(tenant: GroupTenant, groupId: string, { batchSize = DELETE_BATCH_SIZE, onBatch }: DeleteOptions = {}): Promise<DeleteProgress> {
  const { tenantId } = tenant;
  // Marking also matches a group whose earlier delete was interrupted: this call finishes it.
  const marked = await SsoGroup.findOneAndUpdate({ tenantId, groupId }, { $set: { deletingSince: new Date() } }, { returnDocument: 'after' }).lean();
  if (!marked) throw notFound(groupId);
  const progress: DeleteProgress = { groupId, membersRemoved: 0 };
  let idleRounds = 0;
  for (;;) {
    const batch = await SsoUser.find({ tenantId, groupIds: groupId }).select('userId').limit(batchSize).lean();
    if (batch.length === 0) break;
    const res = await SsoUser.updateMany({ tenantId, userId: { $in: batch.map((u) => u.userId) } }, { $pull: { groupIds: groupId } });
    progress.membersRemoved += res.modifiedCount;
    onBatch?.({ ...progress });
    // A batch that changed nothing was pulled by a concurrent delete of the same group; twice in a row means the pull is not taking effect.
    idleRounds = res.modifiedCount === 0 ? idleRounds + 1 : 0;
    if (idleRounds > 1) throw new AppError('INTERNAL', `removing the members of group ${groupId} makes no progress`);
  }
  // Before the group record goes, so an interrupted delete redoes this step on its retry.
  await removeDeletedPrincipalTargets(tenantId, groupId);
  await removeDeletedApplicationPrincipal(tenantId, groupId);
  const res = await SsoGroup.deleteOne({ tenantId, groupId });
  if (res.deletedCount === 1) await releaseQuota(ssoGroupQuotaKey(tenantId));
  return progress;
}

const MERGE_ATTEMPTS = 5;

/** Rewrites the tags under the revision read (compare-and-set), retrying when another write came first. */
async function rewriteTags(tenant: GroupTenant, groupId: string, change: (current: Tag[]) => Tag[]): Promise<GroupView> {
  for (let attempt = 0; attempt < MERGE_ATTEMPTS; attempt++) {
    const cur = await mustFindLiveGroup(tenant.tenantId, groupId);
    const tags = change(cur.tags.map((t) => ({ key: t.key, value: t.value })));
    const d = await SsoGroup.findOneAndUpdate(
      { tenantId: tenant.tenantId, groupId, revision: cur.revision, deletingSince: null },
      { $set: { tags }, $inc: { revision: 1 } },
      { returnDocument: 'after' },
    ).lean<StoredGroup>();
    if (d) return toGroupView(d);
  }
  throw new AppError('CONFLICT', `the tags of group ${groupId} changed concurrently; try again`);
}

/** `tagGroup`: sets the given keys (a key already present takes the new value); at most 20 tags. */
export async function tagGroup(tenant: GroupTenant, groupId: string, tags: Tag[]): Promise<GroupView> {
  return rewriteTags(tenant, groupId, (current) => {
    const merged = mergeTags(current, tags);
    if (merged.length > SSO_TAG_LIMIT) {
      throw new AppError('VALIDATION_FAILED', `a group has at most ${SSO_TAG_LIMIT} tags`, {
        fieldErrors: [{ field: 'body.tags', message: `the group would have ${merged.length} tags; at most ${SSO_TAG_LIMIT} are allowed` }],
      });
    }
    return merged;
  });
}

/** `untagGroup`: removes one key; 404 when the group has no such tag. */
export async function untagGroup(tenant: GroupTenant, groupId: string, tagKey: string): Promise<GroupView> {
  return rewriteTags(tenant, groupId, (current) => {
    if (!current.some((t) => t.key === tagKey)) throw new AppError('NOT_FOUND', `group ${groupId} has no tag "${tagKey}"`);
    return current.filter((t) => t.key !== tagKey);
  });
}
