/**
 * A group of SSO users (reference/ncloud-model.md §1 "Group": `groupId`, `groupName`,
 * `description`, tags; seed S4 "Group" actions). The name is immutable and unique per tenant
 * case-insensitively through `nameKey` and a plain unique index.
 *
 * Membership is stored on the users (`SsoUser.groupIds`), never here: a group of a million
 * members stays one small document, and a user's groups are read from the user alone.
 *
 * `deletingSince` marks a delete in progress: the group is hidden (404) while its id is pulled
 * from its members in bounded batches, and removed at the end. A delete that stopped half-way is
 * finished by the next DELETE of the same id; its name stays taken until then.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

/** Groups per tenant: AWS IAM Identity Center's identity-store quota (Ncloud documents none). */
export const SSO_GROUP_LIMIT = 100_000;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const ssoGroupSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    groupId: { type: String, required: true },
    groupName: { type: String, required: true, immutable: true },
    nameKey: { type: String, required: true, immutable: true },
    description: { type: String, default: '' },
    tags: { type: [tag], default: [] },
    /** Bumped by every merged write (tags), which is made under the revision it read. */
    revision: { type: Number, default: 0 },
    deletingSince: { type: Date, default: null },
  },
  { timestamps: true, collection: 'sso_groups' },
);
ssoGroupSchema.index({ tenantId: 1, groupId: 1 }, { unique: true });
ssoGroupSchema.index({ tenantId: 1, nameKey: 1 }, { unique: true });
ssoGroupSchema.plugin(scopePlugin, { key: 'tenantId' });

export type SsoGroupDoc = InferSchemaType<typeof ssoGroupSchema>;
export const SsoGroup = mongoose.model('SsoGroup', ssoGroupSchema);

/** The quota counter of a tenant's groups (src/shared/quota.ts). */
export function ssoGroupQuotaKey(tenantId: string): string {
  return `ssoGroups:${tenantId}`;
}
