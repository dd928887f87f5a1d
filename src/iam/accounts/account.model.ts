/**
 * An account: the unit that owns a Single Sign-On tenant, sub accounts, policies and resources.
 * `memberNo` is Ncloud's numeric member number (it appears in every NRN, e.g.
 * `nrn:PUB:SSO::1000001:User/…`). The main account's root identity signs in to the console with
 * `rootLoginId` and a password (argon2id, secret field).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { secretPlugin } from '../../db/plugins/secret.js';

const accountSchema = new Schema(
  {
    memberNo: { type: Number, required: true, unique: true, min: 1 },
    name: { type: String, required: true, maxlength: 60 },
    type: { type: String, enum: ['main'], required: true, default: 'main' },
    organizationId: { type: String, default: null },
    rootLoginId: { type: String, required: true },
    rootPasswordHash: { type: String, required: true, secret: true },
    /** Set when the root password was generated and printed: the console asks to change it. */
    rootPasswordGenerated: { type: Boolean, default: false },
    rootPasswordChangedAt: { type: Date, default: () => new Date() },
    /** Root TOTP device (envelope-encrypted secret); replays blocked by the last accepted step. */
    rootMfaSecretEncrypted: { type: String, default: null, secret: true },
    rootMfaEnabled: { type: Boolean, default: false },
    rootMfaLastStep: { type: Number, default: 0 },
    /** Bumped when root credentials change: older root sessions end. */
    rootCredentialGeneration: { type: Number, default: 0 },
    /** Account-wide Sub Account settings (reference/ncloud-model.md §3 "Account-wide settings"). */
    settings: {
      /** Login alias for /console/login/{alias}; uniqueness lives in the login_aliases collection. */
      loginAlias: { type: String, default: null },
      /** Sub account password expiry in days: null (never), 60, 90, 120 or 180. */
      passwordExpiryDays: { type: Number, default: null },
      /** Console idle session expiry in seconds: 600, 1800, 3600 or 10800. */
      sessionIdleSec: { type: Number, default: 3600 },
      /** Console access IP ranges for sub accounts of this account (empty: anywhere). */
      consoleAccessIps: { type: [String], default: [] },
    },
  },
  { timestamps: true, collection: 'accounts' },
);
accountSchema.index({ rootLoginId: 1 }, { unique: true });
accountSchema.plugin(secretPlugin);

export type AccountDoc = InferSchemaType<typeof accountSchema>;
export const Account = mongoose.model('Account', accountSchema);

/** Encryption context of the root TOTP secret (binds the ciphertext to this account). */
export function rootMfaContext(memberNo: number): string {
  return `Account:${memberNo}:rootMfa`;
}

/**
 * Login aliases, one document per alias (`_id` = alias): a unique key on `_id` works on every
 * engine, where a unique index on an optional field of `accounts` would collide on nulls
 * (no sparse or partial indexes on FerretDB).
 */
const loginAliasSchema = new Schema({ _id: { type: String, required: true }, accountId: { type: Number, required: true } }, { collection: 'login_aliases', versionKey: false });
loginAliasSchema.index({ accountId: 1 }, { unique: true });
export const LoginAlias = mongoose.model('LoginAlias', loginAliasSchema);
