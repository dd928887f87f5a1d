/**
 * STS temporary credentials (reference/ncloud-model.md §3 "STS"): an access key and secret that
 * sign requests like an access key, for `durationSec` (600-43200 s). They carry the caller's
 * identity and whether MFA was presented, and die at expiry, when the sub account's or the role's
 * credential generation moves (suspension, password reset), or when the owner is deleted.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../../db/plugins/expiry.js';
import { scopePlugin } from '../../db/plugins/scope.js';
import { secretPlugin } from '../../db/plugins/secret.js';

export const STS_KEY_PREFIX = 'GHSTS';

const stsCredentialSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    accessKey: { type: String, required: true },
    secretEncrypted: { type: String, required: true, secret: true },
    subAccountId: { type: String, default: null },
    subAccountGeneration: { type: Number, default: 0 },
    roleId: { type: String, default: null },
    roleGeneration: { type: Number, default: 0 },
    /** For SSO roles: the SSO user who switched in (ncp:sourceIdentityId). */
    sourceIdentityId: { type: String, default: null },
    sourceIdentityType: { type: String, enum: ['SubAccount', 'SsoUser', null], default: null },
    /** For SSO roles: the SSO user's tenant and credential generation at issue (suspension revokes). */
    ssoTenantId: { type: String, default: null },
    sourceIdentityGeneration: { type: Number, default: 0 },
    /** For SSO roles: the assignment's API IP ACL entries at issue (empty: unrestricted), checked on every request. */
    allowSources: { type: [String], default: [] },
    useMfa: { type: Boolean, default: false },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: true, collection: 'sts_credentials' },
);
stsCredentialSchema.index({ accessKey: 1 }, { unique: true });
stsCredentialSchema.plugin(scopePlugin, { key: 'accountId' });
stsCredentialSchema.plugin(secretPlugin);
stsCredentialSchema.plugin(expiryPlugin);

export type StsCredentialDoc = InferSchemaType<typeof stsCredentialSchema>;
export const StsCredential = mongoose.model('StsCredential', stsCredentialSchema);

export function stsSecretContext(accessKey: string): string {
  return `StsCredential:${accessKey}:secret`;
}
