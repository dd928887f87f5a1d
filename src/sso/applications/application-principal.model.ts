/**
 * Who may sign in to an application whose `accessScope` is `ASSIGNED` (issue 8 "who may sign in:
 * all tenant users, or assigned users and groups"): one document per assigned principal, like
 * assignment targets (assignments/assignment.model.ts explains why not an array: the bundled
 * engine stores an indexed array as one B-tree entry and refuses it past ~65 UUIDs).
 *
 * - The unique index over {tenantId, applicationId, principalType, principalId} makes an add
 *   idempotent. Its key order puts `principalId` before `principalType` so the same index answers
 *   the sign-in question "is any of {user, user's groups} assigned to application A" with one
 *   `$in` on `principalId` under an equality prefix (application-access.ts mayUseApplication).
 * - {tenantId, principalId}: which applications a user or group is assigned to (the portal, and
 *   clean-up when a user or group is deleted).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

export const APPLICATION_PRINCIPAL_TYPES = ['user', 'group'] as const;
export type ApplicationPrincipalType = (typeof APPLICATION_PRINCIPAL_TYPES)[number];

const applicationPrincipalSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    accountId: { type: Number, required: true },
    applicationId: { type: String, required: true },
    principalType: { type: String, enum: APPLICATION_PRINCIPAL_TYPES, required: true },
    principalId: { type: String, required: true },
  },
  { timestamps: { createdAt: true, updatedAt: false }, collection: 'sso_application_principals', versionKey: false },
);
applicationPrincipalSchema.index({ tenantId: 1, applicationId: 1, principalId: 1, principalType: 1 }, { unique: true });
applicationPrincipalSchema.index({ tenantId: 1, principalId: 1 });
applicationPrincipalSchema.plugin(scopePlugin, { key: 'tenantId' });

export type ApplicationPrincipalDoc = InferSchemaType<typeof applicationPrincipalSchema>;
export const ApplicationPrincipal = mongoose.model('SsoApplicationPrincipal', applicationPrincipalSchema);
