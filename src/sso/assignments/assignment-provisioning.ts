/**
 * The SSO role of each assignment (ARCHITECTURE.md "Domain": "An Assignment provisions one SSO
 * role (Sub Account role of type SSO) in its target account, whose policies are the permission
 * set's"), kept in step with the assignment and its permission set without transactions.
 *
 * The assignment document is the record of intent, the role follows it:
 * - create:  insert the assignment (`creating`) → provision the role (idempotent per assignment:
 *            src/iam/roles/sso-role.service.ts derives the role id from the assignment id) → mark
 *            it `active`. A permanent failure (a policy missing in the target account, a role
 *            name taken) rolls back: the assignment is marked `deleting`, the role removed, the
 *            document deleted.
 * - re-sync: a permission-set change is written together with `resyncPending` on the set; the
 *            set's assignments are then marked `syncing` under a new token and the flag is
 *            cleared; each assignment's role is re-provisioned and the assignment marked `active`.
 * - delete:  mark `deleting` → remove the role → delete the document.
 * Every step is one atomic write on one document and every step can be repeated, so a crash
 * between any two leaves a state `reconcileAssignments` finishes (or rolls back): never an
 * assignment without its role, never a role without its assignment.
 *
 * Concurrent workers on one assignment (a request and the reconciler, two processes) are kept
 * apart by `syncToken`: new work sets a new token, a worker reads its inputs after the token it
 * holds was set and marks the assignment `active` only under that token. A worker that misses
 * re-reads: the assignment gone or being deleted → it removes the role it may have just written;
 * a newer token → it redoes the work under that token; its own token already `active` → another
 * worker finished the same work from the same inputs.
 */
import { randomUUID } from 'node:crypto';
import type { ChangeStamps } from '../../iam/change-stamps.js';
import { Policy } from '../../iam/policies/policy.model.js';
import { policyNameKey } from '../../iam/policies/policy.schemas.js';
import { provisionSsoRole, removeSsoRole, ssoRoleId } from '../../iam/roles/sso-role.service.js';
import { AppError } from '../../shared/errors.js';
import { releaseQuota } from '../../shared/quota.js';
import { PermissionSet, type StoredPermissionSet } from '../permission-sets/permission-set.model.js';
import { Assignment, AssignmentTarget, type StoredAssignment } from './assignment.model.js';

/**
 * Session length of SSO roles. Ncloud permission sets have no session duration (reference §1);
 * AWS IAM Identity Center's default permission-set SessionDuration is one hour.
 */
export const SSO_ROLE_SESSION_SEC = 3600;

/** Quota counter of a tenant's assignments (src/shared/quota.ts). */
export const assignmentQuotaKey = (tenantId: string): string => `ssoAssignments:${tenantId}`;

/**
 * The SSO role's name in the target account, like AWS IAM Identity Center's
 * `AWSReservedSSO_{PermissionSet}_{hash}`: the permission set says what it grants, the suffix
 * (from the assignment id) keeps it unique among the account's roles, which two assignments of
 * one permission set, or of two tenants of an organization, would otherwise share.
 */
export function ssoRoleName(permissionSetName: string, assignmentId: string): string {
  return `GatehouseSSO_${permissionSetName}_${assignmentId.replaceAll('-', '').slice(0, 16)}`;
}

/** Where a test may interrupt the work, to prove that a crash between two steps is recoverable. */
export type ProvisioningStep =
  | 'assignment-inserted'
  | 'role-provisioned'
  | 'assignment-marked-deleting'
  | 'role-removed'
  | 'permission-set-written'
  | 'resync-requested';

/** Test seam: a hook that throws simulates the process dying right after `step`. */
export const provisioningHooks: { afterStep?: (step: ProvisioningStep, id: string) => void | Promise<void> } = {};

export async function afterStep(step: ProvisioningStep, id: string): Promise<void> {
  await provisioningHooks.afterStep?.(step, id);
}

/** User-created policy names of a set that the target account has no policy of (compared as the Sub Account API compares names). */
export async function missingUserPolicies(targetAccountId: number, names: readonly string[]): Promise<string[]> {
  if (names.length === 0) return [];
  const keys = names.map(policyNameKey);
  const found = await Policy.find({ accountId: targetAccountId, nameKey: { $in: keys } }).select('nameKey').lean();
  const have = new Set(found.map((p) => p.nameKey));
  return names.filter((n) => !have.has(policyNameKey(n)));
}

/** 400 "The policies do not exist" (reference §1, gov v2), naming each missing policy and the account. */
export function policiesDoNotExist(targetAccountId: number, missing: readonly string[]): AppError {
  return new AppError('BAD_REQUEST', `The policies do not exist in account ${targetAccountId}: ${missing.join(', ')}`, {
    message: 'The policies do not exist',
    fieldErrors: missing.map((name) => ({ field: 'userCreatedPolicyNames', message: `no policy named "${name}" in account ${targetAccountId}` })),
  });
}

/** The role's policy ids in the target account: managed ids as stored, user-created names resolved to that account's policy ids. */
export async function rolePolicyIds(targetAccountId: number, set: Pick<StoredPermissionSet, 'systemManagedPolicyIds' | 'userCreatedPolicyNames'>): Promise<string[]> {
  const names = set.userCreatedPolicyNames;
  const keys = names.map(policyNameKey);
  const found = names.length ? await Policy.find({ accountId: targetAccountId, nameKey: { $in: keys } }).select('nameKey policyId').lean() : [];
  const byKey = new Map(found.map((p) => [p.nameKey, p.policyId]));
  const missing = names.filter((n) => !byKey.has(policyNameKey(n)));
  if (missing.length) throw policiesDoNotExist(targetAccountId, missing);
  return [...set.systemManagedPolicyIds, ...keys.map((k) => byKey.get(k) as string)];
}

/** Failures that retrying will not cure (bad input, a name taken, a missing policy). */
function isPermanent(err: unknown): err is AppError {
  return err instanceof AppError && err.status >= 400 && err.status < 500;
}

/**
 * Last steps of a deletion: the role goes, then the targets, then the document (which keeps the
 * work findable until the end), and the quota unit comes back.
 */
async function finishDeletion(a: StoredAssignment, stamps: ChangeStamps): Promise<void> {
  await removeSsoRole(a.accountMemberNo, a.assignmentId, stamps);
  await afterStep('role-removed', a.assignmentId);
  await AssignmentTarget.deleteMany({ tenantId: a.tenantId, assignmentId: a.assignmentId });
  const gone = await Assignment.findOneAndDelete({ tenantId: a.tenantId, assignmentId: a.assignmentId, provisioning: 'deleting' }).lean();
  if (gone) await releaseQuota(assignmentQuotaKey(a.tenantId));
}

/** Marks an assignment `deleting` (whatever it was doing) and finishes the deletion. False when there was none. */
export async function deleteAssignmentAndRole(tenantId: string, assignmentId: string, stamps: ChangeStamps): Promise<boolean> {
  const marked = await Assignment.findOneAndUpdate(
    { tenantId, assignmentId },
    { $set: { provisioning: 'deleting', syncToken: randomUUID(), provisioningRequestedAt: new Date() } },
    { returnDocument: 'after' },
  ).lean<StoredAssignment>();
  if (!marked) return false;
  await afterStep('assignment-marked-deleting', assignmentId);
  await finishDeletion(marked, stamps);
  return true;
}

export type SyncOutcome = 'active' | 'deleted' | 'rolled-back' | 'gone' | 'pending';

const SYNC_ATTEMPTS = 5;

/**
 * Brings one assignment's role in line with the assignment (see the header). Throws the
 * permanent error that made a `creating` assignment roll back, or a `syncing` one stay on its
 * previous role (recorded in `provisioningError` for the admin and retried by the reconciler).
 */
export async function syncAssignmentRole(tenantId: string, assignmentId: string, stamps: ChangeStamps): Promise<SyncOutcome> {
  for (let attempt = 0; attempt < SYNC_ATTEMPTS; attempt++) {
    const a = await Assignment.findOne({ tenantId, assignmentId }).lean<StoredAssignment>();
    if (!a) return 'gone';
    if (a.provisioning === 'deleting') {
      await finishDeletion(a, stamps);
      return 'deleted';
    }
    if (a.provisioning === 'active') return 'active';
    const token = a.syncToken;
    try {
      const set = await PermissionSet.findOne({ tenantId, permissionSetId: a.permissionSetId }).lean<StoredPermissionSet>();
      // Deleting a set in use is refused (permission-set.service.ts), so this is a broken reference.
      if (!set) throw new AppError('BAD_REQUEST', `permission set ${a.permissionSetId} of assignment ${a.assignmentName} does not exist`);
      await provisionSsoRole(
        {
          accountId: a.accountMemberNo,
          assignmentId,
          roleName: ssoRoleName(set.permissionSetName, assignmentId),
          policyIds: await rolePolicyIds(a.accountMemberNo, set),
          sessionExpirationSec: SSO_ROLE_SESSION_SEC,
        },
        stamps,
      );
      await afterStep('role-provisioned', assignmentId);
    } catch (err) {
      if (!isPermanent(err)) {
        await Assignment.updateOne({ tenantId, assignmentId, syncToken: token }, { $set: { provisioningError: 'provisioning was interrupted; it is retried' } });
        throw err;
      }
      if (a.provisioning === 'creating') {
        // Roll back, but only the work this worker owns: a newer token means newer intent.
        const rolledBack = await Assignment.findOneAndUpdate(
          { tenantId, assignmentId, syncToken: token, provisioning: 'creating' },
          { $set: { provisioning: 'deleting', syncToken: randomUUID(), provisioningError: err.detail ?? err.message } },
          { returnDocument: 'after' },
        ).lean<StoredAssignment>();
        if (!rolledBack) continue;
        await finishDeletion(rolledBack, stamps);
        throw err;
      }
      // A re-sync that cannot be applied keeps the previous role (still a valid grant of the old
      // policies) and says why on the assignment.
      await Assignment.updateOne({ tenantId, assignmentId, syncToken: token }, { $set: { provisioningError: err.detail ?? err.message } });
      throw err;
    }
    const done = await Assignment.findOneAndUpdate(
      { tenantId, assignmentId, syncToken: token, provisioning: { $in: ['creating', 'syncing'] } },
      { $set: { provisioning: 'active', provisioningError: null } },
      { returnDocument: 'after' },
    ).lean<StoredAssignment>();
    if (done) return 'active';
    const now = await Assignment.findOne({ tenantId, assignmentId }).lean<StoredAssignment>();
    if (!now || now.provisioning === 'deleting') {
      // Deleted while this worker wrote the role: the role written here must not outlive it.
      await removeSsoRole(a.accountMemberNo, assignmentId, stamps);
      if (now) await finishDeletion(now, stamps);
      return 'deleted';
    }
    if (now.syncToken === token && now.provisioning === 'active') return 'active';
    // Newer work was requested meanwhile: do it under the new token.
  }
  return 'pending';
}

/**
 * Marks every live assignment of a permission set for re-sync under a new token (those still
 * being created keep their state: their role may not exist yet, and they read the set afresh).
 */
export async function requestResync(tenantId: string, permissionSetId: string): Promise<void> {
  const syncToken = randomUUID();
  const requestedAt = new Date();
  await Assignment.updateMany(
    { tenantId, permissionSetId, provisioning: { $in: ['active', 'syncing'] } },
    { $set: { provisioning: 'syncing', syncToken, provisioningRequestedAt: requestedAt } },
  );
  await Assignment.updateMany({ tenantId, permissionSetId, provisioning: 'creating' }, { $set: { syncToken, provisioningRequestedAt: requestedAt } });
}

/** Re-syncs the set's assignments and clears the set's pending flag for `policyRevision`. */
export async function resyncPermissionSet(tenantId: string, permissionSetId: string, policyRevision: number, stamps: ChangeStamps): Promise<ResyncReport> {
  await requestResync(tenantId, permissionSetId);
  await afterStep('resync-requested', permissionSetId);
  await PermissionSet.updateOne({ tenantId, permissionSetId, policyRevision }, { $set: { resyncPending: false } });
  const pending = await Assignment.find({ tenantId, permissionSetId, provisioning: { $in: ['creating', 'syncing'] } })
    .select('assignmentId')
    .lean();
  return syncMany(
    tenantId,
    pending.map((p) => p.assignmentId),
    stamps,
  );
}

export interface ResyncReport {
  synced: number;
  failed: { assignmentId: string; error: string }[];
}

/** Syncs assignments a few at a time (each call touches another account's role and change stamp). */
async function syncMany(tenantId: string, ids: readonly string[], stamps: ChangeStamps): Promise<ResyncReport> {
  const report: ResyncReport = { synced: 0, failed: [] };
  const queue = [...ids];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      try {
        await syncAssignmentRole(tenantId, id, stamps);
        report.synced++;
      } catch (err) {
        report.failed.push({ assignmentId: id, error: err instanceof AppError ? (err.detail ?? err.message) : 'interrupted' });
      }
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return report;
}

export interface ReconcileReport {
  permissionSetsResynced: number;
  assignmentsSynced: number;
  assignmentsDeleted: number;
  assignmentsRolledBack: number;
  failed: { assignmentId: string; error: string }[];
}

/**
 * Finishes or rolls back whatever provisioning work a tenant has left half-done (a crash, a lost
 * connection): permission sets whose change was written but whose assignments were not yet marked,
 * and assignments still `creating`, `syncing` or `deleting`. Safe to run at any time and
 * concurrently with requests (see the header); run at start, on reads of unfinished assignments,
 * and by anyone holding a tenant id.
 */
export async function reconcileAssignments(tenantId: string, stamps: ChangeStamps): Promise<ReconcileReport> {
  const report: ReconcileReport = { permissionSetsResynced: 0, assignmentsSynced: 0, assignmentsDeleted: 0, assignmentsRolledBack: 0, failed: [] };
  const sets = await PermissionSet.find({ tenantId, resyncPending: true }).select('permissionSetId policyRevision').lean();
  for (const s of sets) {
    await requestResync(tenantId, s.permissionSetId);
    await PermissionSet.updateOne({ tenantId, permissionSetId: s.permissionSetId, policyRevision: s.policyRevision }, { $set: { resyncPending: false } });
    report.permissionSetsResynced++;
  }
  const unfinished = await Assignment.find({ tenantId, provisioning: { $in: ['creating', 'syncing', 'deleting'] } })
    .select('assignmentId provisioning')
    .lean();
  for (const u of unfinished) {
    try {
      const outcome = await syncAssignmentRole(tenantId, u.assignmentId, stamps);
      if (outcome === 'deleted') report.assignmentsDeleted++;
      else if (outcome === 'active') report.assignmentsSynced++;
    } catch (err) {
      if (u.provisioning === 'creating' && isPermanent(err)) report.assignmentsRolledBack++;
      else report.failed.push({ assignmentId: u.assignmentId, error: err instanceof AppError ? (err.detail ?? err.message) : 'interrupted' });
    }
  }
  return report;
}

/** The role id of an assignment's SSO role (in its target account). */
export function assignmentRoleId(accountMemberNo: number, assignmentId: string): string {
  return ssoRoleId(accountMemberNo, assignmentId);
}

/**
 * Reconciles every tenant with unfinished work (at process start: a crash of this or another
 * process may have left some). Cross-tenant on purpose, through the `provisioning` and
 * `resyncPending` indexes; each tenant is then reconciled with its own scoped queries.
 */
export async function reconcileAllTenants(stamps: ChangeStamps): Promise<Map<string, ReconcileReport>> {
  const [fromAssignments, fromSets] = await Promise.all([
    // Unscoped on purpose: finding which tenants have unfinished work is the point.
    Assignment.distinct('tenantId', { provisioning: { $in: ['creating', 'syncing', 'deleting'] } }).setOptions({ unscoped: true }),
    PermissionSet.distinct('tenantId', { resyncPending: true }).setOptions({ unscoped: true }),
  ]);
  const reports = new Map<string, ReconcileReport>();
  for (const tenantId of new Set<string>([...fromAssignments, ...fromSets].map(String))) {
    reports.set(tenantId, await reconcileAssignments(tenantId, stamps));
  }
  return reports;
}
