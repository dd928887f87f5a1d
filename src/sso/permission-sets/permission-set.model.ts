/**
 * A permission set (reference/ncloud-model.md §1 "Permission Set"): a named list of
 * system-managed policy ids and user-created policy names (together 1 to 10) that every
 * assignment using it turns into an SSO role of its target account. User-created policies are
 * referenced by name because each target account has its own policies of that name (§1: "checked
 * in each target account when an assignment is created").
 *
 * `nameKey` (lowercased name) + a unique index gives case-insensitive uniqueness per tenant.
 * `revision` is the compare-and-set token of every read-modify-write (policies, tags);
 * `policyRevision` counts policy changes only. A policy change sets `resyncPending` in the same
 * atomic write; it is cleared (for that `policyRevision`) once the assignments using the set have
 * been marked for re-sync, so a crash in between leaves the flag for the reconciler
 * (assignment-provisioning.ts). `deleting` guards a delete against a concurrent assignment create
 * (see permission-set.service.ts deletePermissionSet).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

/** Permission sets per tenant: Ncloud publishes no limit; bounded (AWS IAM Identity Center's default quota is 2000). */
export const PERMISSION_SET_LIMIT = 2000;
/** System-managed plus user-created policies of one set (reference §1: "together they may hold at most 10"). */
export const PERMISSION_SET_POLICY_MAX = 10;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const permissionSetSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    accountId: { type: Number, required: true },
    permissionSetId: { type: String, required: true },
    permissionSetName: { type: String, required: true },
    nameKey: { type: String, required: true },
    description: { type: String, default: '' },
    /** Stable ids of system-managed policies (names given on input are stored as ids). */
    systemManagedPolicyIds: { type: [String], default: [] },
    userCreatedPolicyNames: { type: [String], default: [] },
    tags: { type: [tag], default: [] },
    revision: { type: Number, default: 0 },
    policyRevision: { type: Number, default: 0 },
    resyncPending: { type: Boolean, default: false },
    deleting: { type: Boolean, default: false },
  },
  { timestamps: true, collection: 'sso_permission_sets' },
);
permissionSetSchema.index({ permissionSetId: 1 }, { unique: true });
permissionSetSchema.index({ tenantId: 1, nameKey: 1 }, { unique: true });
// The reconciler's work list: per tenant, and across tenants at start (the flag first).
permissionSetSchema.index({ resyncPending: 1, tenantId: 1 });
permissionSetSchema.plugin(scopePlugin, { key: 'tenantId' });

export type PermissionSetDoc = InferSchemaType<typeof permissionSetSchema>;
export type StoredPermissionSet = PermissionSetDoc & { createdAt?: Date; updatedAt?: Date };
export const PermissionSet = mongoose.model('SsoPermissionSet', permissionSetSchema);
