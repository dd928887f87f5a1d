/**
 * An assignment (reference/ncloud-model.md §1 "Assignment"): one target account × one permission
 * set, its targets (users and groups), console/API access flags and IP ACLs, a status, tags, and
 * the SSO role it provisions in the target account (ARCHITECTURE.md "Domain").
 *
 * Targets (users and groups) are documents of their own (`AssignmentTarget` below), not arrays
 * on the assignment: resolving one user's access is then an equality query on an indexed
 * top-level field (`targetId`: the user's id, each of its groups) and never a scan of the tenant
 * (issue 6 scale rule). Arrays were measured first: the bundled engine (FerretDB v1) indexes an
 * array field as ONE btree entry holding the whole JSON array, and PostgreSQL refuses btree
 * entries over 2,704 bytes, so an indexed `targetUserIds` of ~65 UUIDs or more cannot be written
 * at all (SQLSTATE 54000). One document per target also makes adding a target an insert (atomic
 * on every engine, idempotent through a unique index) instead of a read-modify-write of an array.
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
    consoleAccessRestricted: { type: Boolean, default: false },
    consoleAccessIpAclIds: { type: [String], default: [] },
    apiAccessRestricted: { type: Boolean, default: false },
    apiAccessIpAclIds: { type: [String], default: [] },
    tags: { type: [tag], default: [] },
    /** Compare-and-set token of read-modify-write changes (IP ACL lists, tags). */
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

export const TARGET_TYPES = ['user', 'group'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

/**
 * One target of one assignment (reference §1 "Targets": `{targetType: user|group, targetIds[]}`).
 * The unique index makes adding a target idempotent and lists an assignment's targets of one type
 * in id order; the (tenantId, targetId) index answers "which assignments name this principal" with
 * one equality query (resolve-access.ts). User and group ids are UUIDs, so one field holds both.
 */
const assignmentTargetSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    accountId: { type: Number, required: true },
    assignmentId: { type: String, required: true },
    targetType: { type: String, enum: TARGET_TYPES, required: true },
    targetId: { type: String, required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'sso_assignment_targets', versionKey: false },
);
assignmentTargetSchema.index({ tenantId: 1, assignmentId: 1, targetType: 1, targetId: 1 }, { unique: true });
assignmentTargetSchema.index({ tenantId: 1, targetId: 1 });
assignmentTargetSchema.plugin(scopePlugin, { key: 'tenantId' });

export type AssignmentTargetDoc = InferSchemaType<typeof assignmentTargetSchema>;
export const AssignmentTarget = mongoose.model('SsoAssignmentTarget', assignmentTargetSchema);
