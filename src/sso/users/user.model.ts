/**
 * An SSO user of a tenant (reference/ncloud-model.md §1 "SSO User"; seed S4 "User" actions).
 *
 * - `loginId` is immutable and unique per tenant case-insensitively through `loginIdKey`
 *   (lowercased) and a plain unique index (ARCHITECTURE.md "Storage": no collations).
 * - Group membership lives on the user (`groupIds`, indexed with `tenantId`): resolving a user's
 *   groups reads this one document, and a group's members are the users whose `groupIds` hold
 *   it (a top-level array, so FerretDB can use the index; dotted paths it cannot).
 * - Secrets (`passwordHash`, `mfaSecretEncrypted`) are `secret: true`: never serialized, never
 *   selected unless asked for by name.
 * - `revision` is bumped by every read-modify-write of a merged value (tags): the write is made
 *   under the revision it read and retried on a miss, so two concurrent tag requests cannot lose
 *   one another's keys or overshoot the 20-tag limit.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';
import { secretPlugin } from '../../db/plugins/secret.js';

export const SSO_USER_STATUSES = ['ACTIVATED', 'SUSPENDED'] as const;
export type SsoUserStatus = (typeof SSO_USER_STATUSES)[number];

/**
 * Groups one user may be in. Ncloud documents none (AWS IAM allows 10 per IAM user). The bound
 * comes from the bundled engine: FerretDB on PostgreSQL stores a compound index entry over an
 * array as one B-tree tuple holding the whole array, and PostgreSQL caps a tuple at 2,704 bytes.
 * Measured with `{ tenantId, groupIds }`: 60 UUIDs fit, 70 are refused (SQLSTATE 54000, about
 * 40 bytes per id). 50 leaves room; MongoDB has no such cap, but one limit must hold everywhere.
 */
export const GROUPS_PER_USER = 50;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const ssoUserSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    userId: { type: String, required: true },
    loginId: { type: String, required: true, immutable: true },
    loginIdKey: { type: String, required: true, immutable: true },
    description: { type: String, default: '' },
    userProfile: {
      firstName: { type: String, default: '' },
      lastName: { type: String, default: '' },
      email: { type: String, default: '' },
      emailVerified: { type: Boolean, default: false },
      empNo: { type: String, default: '' },
      phoneCountryCode: { type: String, default: '' },
      phoneNo: { type: String, default: '' },
      phoneNoVerified: { type: Boolean, default: false },
      deptName: { type: String, default: '' },
    },
    accessRules: {
      consoleAccessAllowed: { type: Boolean, default: true },
      apiAccessAllowed: { type: Boolean, default: false },
    },
    status: { type: String, enum: SSO_USER_STATUSES, default: 'ACTIVATED' },
    groupIds: { type: [String], default: [] },
    tags: { type: [tag], default: [] },
    /** Allowed source IPs (`manageUserAllowSourceSetting`), shaped like the sub account's (reference §1: [I]). */
    consolePermitIps: { type: [String], default: [] },
    useApiAllowSource: { type: Boolean, default: false },
    apiAllowSources: { type: [String], default: [] },
    /** Optional local password (argon2id PHC) for automation; the sign-in issue verifies it. */
    passwordHash: { type: String, default: null, secret: true },
    needPasswordReset: { type: Boolean, default: false },
    passwordChangedAt: { type: Date, default: null },
    /** The one TOTP device (reference §1 "MFA device"): base32 key envelope-encrypted; the last accepted step blocks replays. */
    mfaSecretEncrypted: { type: String, default: null, secret: true },
    mfaEnabled: { type: Boolean, default: false },
    mfaLastStep: { type: Number, default: 0 },
    mfaRegisteredAt: { type: Date, default: null },
    lastLoginAt: { type: Date, default: null },
    /**
     * Moved by suspension, expiring all sessions and (later) password resets: sessions and role
     * credentials the sign-in issue derives from the user carry the generation they were issued
     * under and die when it moves.
     */
    credentialGeneration: { type: Number, default: 0 },
    revision: { type: Number, default: 0 },
  },
  { timestamps: true, collection: 'sso_users', minimize: false },
);
ssoUserSchema.index({ tenantId: 1, userId: 1 }, { unique: true });
ssoUserSchema.index({ tenantId: 1, loginIdKey: 1 }, { unique: true });
ssoUserSchema.index({ tenantId: 1, groupIds: 1 });
ssoUserSchema.index({ tenantId: 1, status: 1, loginIdKey: 1 });
ssoUserSchema.plugin(scopePlugin, { key: 'tenantId' });
ssoUserSchema.plugin(secretPlugin);

export type SsoUserDoc = InferSchemaType<typeof ssoUserSchema>;
export const SsoUser = mongoose.model('SsoUser', ssoUserSchema);

/** Encryption context of a user's TOTP key: a ciphertext copied to another user does not decrypt. */
export function ssoUserMfaContext(userId: string): string {
  return `SsoUser:${userId}:mfa`;
}

/** The quota counter of a tenant's users (src/shared/quota.ts), limited by `Tenant.userLimit`. */
export function ssoUserQuotaKey(tenantId: string): string {
  return `ssoUsers:${tenantId}`;
}
