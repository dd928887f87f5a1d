/**
 * IP ACLs of the caller's tenant (seed S4 "IP ACL" actions; reference/ncloud-model.md §1). The
 * tenant always comes from the caller's account (tenant-context.ts) and every query names it, so
 * an id of another tenant is simply not found (404).
 */
import { randomUUID } from 'node:crypto';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { pageOf, type Page } from '../../shared/pagination.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { Assignment } from '../assignments/assignment.model.js';
import { ssoNameKey } from '../shared/schemas.js';
import { requireTenant, ssoNrn } from '../tenant/tenant-context.js';
import { IP_ACL_LIMIT, IpAcl, type StoredIpAcl } from './ip-acl.model.js';
import type { CreateIpAclInput, ListIpAclsQuery, ReplaceIpAclInput } from './ip-acl.schemas.js';
import { addTags, removeTags, type TagStore } from './tag-changes.js';
import { escapeRegex } from '../../shared/query.js';

export interface IpAclView {
  ipAclId: string;
  nrn: string;
  ipAclName: string;
  description: string;
  accessIps: string[];
  tags: Tag[];
  createdAt: string;
  updatedAt: string;
}

export interface IpAclAssignments {
  ipAclId: string;
  consoleAccessAssignmentIds: string[];
  apiAccessAssignmentIds: string[];
}

export function toIpAclView(d: StoredIpAcl): IpAclView {
  return {
    ipAclId: d.ipAclId,
    nrn: ssoNrn(d.accountId, 'IPACL', d.ipAclId),
    ipAclName: d.ipAclName,
    description: d.description ?? '',
    accessIps: [...d.accessIps],
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}

const quotaKey = (tenantId: string) => `ssoIpAcls:${tenantId}`;
const notFound = (ipAclId: string) => new AppError('NOT_FOUND', `IP ACL ${ipAclId} does not exist`);


export async function findIpAcl(tenantId: string, ipAclId: string): Promise<StoredIpAcl | null> {
  return IpAcl.findOne({ tenantId, ipAclId }).lean<StoredIpAcl>();
}

async function mustFind(tenantId: string, ipAclId: string): Promise<StoredIpAcl> {
  const d = await findIpAcl(tenantId, ipAclId);
  if (!d) throw notFound(ipAclId);
  return d;
}

export async function listIpAcls(accountId: number, q: ListIpAclsQuery): Promise<Page<IpAclView>> {
  const { tenantId } = await requireTenant(accountId);
  const filter: Record<string, unknown> = { tenantId };
  if (q.ipAclName) filter.nameKey = { $regex: `^${escapeRegex(ssoNameKey(q.ipAclName))}` };
  return pageOf(IpAcl.find(filter).sort({ nameKey: 1 }).lean<StoredIpAcl[]>(), IpAcl.countDocuments(filter), q, toIpAclView);
}

export async function getIpAcl(accountId: number, ipAclId: string): Promise<IpAclView> {
  const { tenantId } = await requireTenant(accountId);
  return toIpAclView(await mustFind(tenantId, ipAclId));
}

export async function createIpAcl(accountId: number, input: CreateIpAclInput): Promise<IpAclView> {
  const { tenantId } = await requireTenant(accountId);
  await acquireQuota(quotaKey(tenantId), IP_ACL_LIMIT, 'IP ACLs per tenant');
  try {
    const doc = await IpAcl.create({
      tenantId,
      accountId,
      ipAclId: randomUUID(),
      ipAclName: input.ipAclName,
      nameKey: ssoNameKey(input.ipAclName),
      description: input.description,
      accessIps: input.accessIps,
      tags: input.tags,
    });
    return toIpAclView(doc.toObject() as StoredIpAcl);
  } catch (err) {
    await releaseQuota(quotaKey(tenantId));
    // Case-insensitive uniqueness is the unique (tenantId, nameKey) index: concurrent creates of
    // "Office" and "OFFICE" cannot both succeed.
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `an IP ACL named "${input.ipAclName}" already exists (names are unique case-insensitively)`);
    throw err;
  }
}

/** PUT: description and entries are replaced as sent; the name cannot change. */
export async function replaceIpAcl(accountId: number, ipAclId: string, input: ReplaceIpAclInput): Promise<IpAclView> {
  const { tenantId } = await requireTenant(accountId);
  const filter: Record<string, unknown> = { tenantId, ipAclId };
  // The name is part of the filter: a rename attempt matches nothing and is told apart below.
  if (input.ipAclName !== undefined) filter.ipAclName = input.ipAclName;
  const d = await IpAcl.findOneAndUpdate(filter, { $set: { description: input.description, accessIps: input.accessIps } }, { returnDocument: 'after' }).lean<StoredIpAcl>();
  if (d) return toIpAclView(d);
  const current = await mustFind(tenantId, ipAclId);
  throw new AppError('VALIDATION_FAILED', `the name of IP ACL ${current.ipAclName} cannot be changed`, {
    fieldErrors: [{ field: 'body.ipAclName', message: 'is immutable (reference §1): send the current name or leave it out' }],
  });
}

/** Ids of the assignments (not being deleted) whose console and API lists hold the ACL. */
export async function assignmentsUsingIpAcl(tenantId: string, ipAclId: string): Promise<IpAclAssignments> {
  const live = { provisioning: { $ne: 'deleting' as const } };
  const [consoleUsers, apiUsers] = await Promise.all([
    Assignment.find({ tenantId, consoleAccessIpAclIds: ipAclId, ...live }).select('assignmentId').sort({ assignmentId: 1 }).lean(),
    Assignment.find({ tenantId, apiAccessIpAclIds: ipAclId, ...live }).select('assignmentId').sort({ assignmentId: 1 }).lean(),
  ]);
  return {
    ipAclId,
    consoleAccessAssignmentIds: consoleUsers.map((a) => a.assignmentId),
    apiAccessAssignmentIds: apiUsers.map((a) => a.assignmentId),
  };
}

/** `GET /ip-acls/{id}/assignments` (reference §1 "Reverse linking"). */
export async function getIpAclAssignments(accountId: number, ipAclId: string): Promise<IpAclAssignments> {
  const { tenantId } = await requireTenant(accountId);
  await mustFind(tenantId, ipAclId);
  return assignmentsUsingIpAcl(tenantId, ipAclId);
}

/**
 * Refused (409, naming the assignments) while an assignment uses the ACL: deleting it would
 * silently lift or break that assignment's restriction. Without transactions, the delete first
 * marks the ACL `deleting`, then looks for users; an attach first writes the id into the
 * assignment, then re-reads the ACL and backs out if it is gone or being deleted. Whichever runs
 * second sees the other's write, so an ACL is never deleted under an assignment that uses it.
 */
export async function deleteIpAcl(accountId: number, ipAclId: string): Promise<void> {
  const { tenantId } = await requireTenant(accountId);
  const marked = await IpAcl.findOneAndUpdate({ tenantId, ipAclId }, { $set: { deleting: true } }, { returnDocument: 'after' }).lean<StoredIpAcl>();
  if (!marked) throw notFound(ipAclId);
  const users = await assignmentsUsingIpAcl(tenantId, ipAclId);
  if (users.consoleAccessAssignmentIds.length + users.apiAccessAssignmentIds.length > 0) {
    await IpAcl.updateOne({ tenantId, ipAclId }, { $set: { deleting: false } });
    const ids = [...new Set([...users.consoleAccessAssignmentIds, ...users.apiAccessAssignmentIds])];
    throw new AppError('CONFLICT', `IP ACL ${marked.ipAclName} is used by assignments ${ids.join(', ')}; remove it from them first`, {
      message: 'The IP ACL is in use.',
      fieldErrors: [
        ...users.consoleAccessAssignmentIds.map((id) => ({ field: 'consoleAccessAssignmentIds', message: id })),
        ...users.apiAccessAssignmentIds.map((id) => ({ field: 'apiAccessAssignmentIds', message: id })),
      ],
    });
  }
  const d = await IpAcl.findOneAndDelete({ tenantId, ipAclId }).lean();
  if (!d) throw notFound(ipAclId);
  await releaseQuota(quotaKey(tenantId));
}

function tagStore(tenantId: string, ipAclId: string): TagStore<IpAclView> {
  return {
    read: () => findIpAcl(tenantId, ipAclId),
    write: async (revision, tags) => {
      const d = await IpAcl.findOneAndUpdate({ tenantId, ipAclId, revision }, { $set: { tags }, $inc: { revision: 1 } }, { returnDocument: 'after' }).lean<StoredIpAcl>();
      return d ? toIpAclView(d) : null;
    },
    notFound: () => notFound(ipAclId),
  };
}

export async function tagIpAcl(accountId: number, ipAclId: string, tags: readonly Tag[]): Promise<IpAclView> {
  const { tenantId } = await requireTenant(accountId);
  return addTags(tagStore(tenantId, ipAclId), tags);
}

export async function untagIpAcl(accountId: number, ipAclId: string, tagKeys: readonly string[]): Promise<IpAclView> {
  const { tenantId } = await requireTenant(accountId);
  return removeTags(tagStore(tenantId, ipAclId), tagKeys);
}
