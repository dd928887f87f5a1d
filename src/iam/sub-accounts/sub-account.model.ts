/**
 * A sub account: an admin identity of an account (reference/ncloud-model.md §3 "Sub account",
 * seed S1/S2). Login ids are unique per account case-insensitively through `loginIdKey`
 * (lowercased) and a plain unique index (ARCHITECTURE.md "Storage": no collations).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';
import { secretPlugin } from '../../db/plugins/secret.js';

export const SUB_ACCOUNT_LIMIT = 500;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const subAccountSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    subAccountId: { type: String, required: true },
    loginId: { type: String, required: true },
    loginIdKey: { type: String, required: true },
    name: { type: String, required: true },
    email: { type: String, default: null },
    memo: { type: String, default: '' },
    status: { type: String, enum: ['active', 'suspended'], default: 'active' },
    canConsoleAccess: { type: Boolean, default: true },
    canAPIGatewayAccess: { type: Boolean, default: false },
    consolePermitIps: { type: [String], default: [] },
    useApiAllowSource: { type: Boolean, default: false },
    apiAllowSources: { type: [String], default: [] },
    isMfaMandatory: { type: Boolean, default: false },
    passwordHash: { type: String, required: true, secret: true },
    needPasswordReset: { type: Boolean, default: false },
    passwordChangedAt: { type: Date, default: () => new Date() },
    /** TOTP device: secret envelope-encrypted; the last accepted time step blocks replays. */
    mfaSecretEncrypted: { type: String, default: null, secret: true },
    mfaEnabled: { type: Boolean, default: false },
    mfaLastStep: { type: Number, default: 0 },
    policyIds: { type: [String], default: [] },
    groupIds: { type: [String], default: [] },
    tags: { type: [tag], default: [] },
    lastLoginAt: { type: Date, default: null },
    /** Bumped on suspend, password reset and deletion: sessions and STS credentials carry the
     *  generation they were issued under and die when it moves. */
    credentialGeneration: { type: Number, default: 0 },
  },
  { timestamps: true, collection: 'sub_accounts' },
);
subAccountSchema.index({ subAccountId: 1 }, { unique: true });
subAccountSchema.index({ accountId: 1, loginIdKey: 1 }, { unique: true });
subAccountSchema.index({ accountId: 1, policyIds: 1 });
subAccountSchema.index({ accountId: 1, groupIds: 1 });
subAccountSchema.plugin(scopePlugin, { key: 'accountId' });
subAccountSchema.plugin(secretPlugin);

export type SubAccountDoc = InferSchemaType<typeof subAccountSchema>;
export const SubAccount = mongoose.model('SubAccount', subAccountSchema);

export function subAccountMfaContext(subAccountId: string): string {
  return `SubAccount:${subAccountId}:mfa`;
}
