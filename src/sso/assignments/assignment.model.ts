/**
 * An assignment (reference/ncloud-model.md §1 "Assignment"): one target account × one permission
 * set, its targets (users and groups), console/API access flags and IP ACLs, a status, tags, and
 * the SSO role it provisions in the target account (ARCHITECTURE.md "Domain").
 *
 * Targets are stored as two top-level arrays, `targetUserIds` and `targetGroupIds`, each indexed
 * with `tenantId`: resolving one user's access is then a few equality queries on indexed fields
 * (the user's id, each of its groups), never a scan of the tenant (issue 6 scale rule; the bundled
 * engine indexes top-level fields only, see engine/postgresql.sql).
 *
 * `provisioning` is the state of the SSO role, the one thing that lives outside this document
 * (no transactions: assignment-provisioning.ts):
 * - `creating`: the document exists, the role may not yet. Not resolved, not switchable.
 * - `active`:   the role matches the assignment and its permission set.
 * - `syncing`:  the role exists but may be stale (permission set changed). Still resolved.
 * - `deleting`: the role is being removed; the document goes next. Invisible to every read.
 * `syncToken` changes whenever new work is requested; a worker marks the assignment `active` only
 * if the token is still the one it started from (compare-and-set), so stale work never wins.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

export const ASSIGNMENT_STATUSES = ['ACTIVATED', 'SUSPENDED'] as const;
export type AssignmentStatus = (typeof ASSIGNMENT_STATUSES)[number];
export const PROVISIONING_STATES = ['creating', 'active', 'syncing', 'deleting'] as const;
export type ProvisioningState = (typeof PROVISIONING_STATES)[number];

/** Assignments per tenant: Ncloud publishes no limit; bounded (AWS's per-instance quotas are in the thousands). */
export const ASSIGNMENT_LIMIT = 2000;
/** IP ACLs per access type (reference §1: "≤5 per assignment", console and API separately). */
export const ASSIGNMENT_IP_ACL_MAX = 5;
/**
 * Direct targets per assignment and type. Ncloud is silent; a million-user tenant reaches its
 * users through groups (as AWS IAM Identity Center recommends), and the bound keeps the document
 * far below MongoDB's 16 MB.
 */
export const ASSIGNMENT_TARGET_MAX = 1000;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const assignmentSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    /** The account that owns the tenant (and the assignment). */
    accountId: { type: Number, required: true },
    assignmentId: { type: String, required: true },
    assignmentName: { type: String, required: true },
    nameKey: { type: String, required: true },
    description: { type: String, default: '' },
    /** The target account (`accountMemberNo`, v1 `accountMbrNo`), where the SSO role lives. */
    accountMemberNo: { type: Number, required: true },
    permissionSetId: { type: String, required: true },
    consoleAccessAllowed: { type: Boolean, default: true },
    apiAccessAllowed: { type: Boolean, default: false },
    status: { type: String, enum: ASSIGNMENT_STATUSES, default: 'ACTIVATED' },
    targetUserIds: { type: [String], default: [] },
    targetGroupIds: { type: [String], default: [] },
    consoleAccessRestricted: { type: Boolean, default: false },
    consoleAccessIpAclIds: { type: [String], default: [] },
    apiAccessRestricted: { type: Boolean, default: false },
    apiAccessIpAclIds: { type: [String], default: [] },
    tags: { type: [tag], default: [] },
    /** Compare-and-set token of read-modify-write changes (tags). */
    revision: { type: Number, default: 0 },
    roleId: { type: String, required: true },
    provisioning: { type: String, enum: PROVISIONING_STATES, required: true },
    syncToken: { type: String, required: true },
    /** Why the last provisioning attempt failed (shown on the assignment; cleared when it succeeds). */
    provisioningError: { type: String, default: null },
    /** When the current provisioning work was requested (the reconciler's grace period). */
    provisioningRequestedAt: { type: Date, default: () => new Date() },
  },
  { timestamps: true, collection: 'sso_assignments' },
);
assignmentSchema.index({ assignmentId: 1 }, { unique: true });
assignmentSchema.index({ tenantId: 1, nameKey: 1 }, { unique: true });
// Access resolution: one equality query per principal (resolve-access.ts).
assignmentSchema.index({ tenantId: 1, targetUserIds: 1 });
assignmentSchema.index({ tenantId: 1, targetGroupIds: 1 });
// Re-sync of a permission set's roles, and refusing to delete a set in use.
assignmentSchema.index({ tenantId: 1, permissionSetId: 1 });
// Reverse links of IP ACLs, and refusing to delete an ACL in use.
assignmentSchema.index({ tenantId: 1, consoleAccessIpAclIds: 1 });
assignmentSchema.index({ tenantId: 1, apiAccessIpAclIds: 1 });
// The reconciler's work list: per tenant, and across tenants at start (provisioning first).
assignmentSchema.index({ provisioning: 1, tenantId: 1 });
assignmentSchema.plugin(scopePlugin, { key: 'tenantId' });

export type AssignmentDoc = InferSchemaType<typeof assignmentSchema>;
export type StoredAssignment = AssignmentDoc & { createdAt?: Date; updatedAt?: Date };
export const Assignment = mongoose.model('SsoAssignment', assignmentSchema);
