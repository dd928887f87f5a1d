/**
 * A console sign-in between its two steps: the password was right, the TOTP code is still to
 * come (or, for a sub account whose MFA is mandatory, its first device is being enrolled). The
 * browser holds a random token in a short-lived cookie; only the token's SHA-256 is stored, and
 * the identity it stands for lives here, server-side, so no client-supplied account id is ever
 * trusted. Five minutes to finish, five code attempts, single use.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../../db/plugins/expiry.js';
import { scopePlugin } from '../../db/plugins/scope.js';
import { secretPlugin } from '../../db/plugins/secret.js';

export const LOGIN_CHALLENGE_TTL_MS = 5 * 60_000;
export const LOGIN_CHALLENGE_MAX_ATTEMPTS = 5;

const loginChallengeSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tokenHash: { type: String, required: true },
    kind: { type: String, enum: ['Root', 'SubAccount'], required: true },
    subAccountId: { type: String, default: null },
    /** As typed at the password step: the label of an enrolled device. */
    loginId: { type: String, required: true },
    /** The identity's lockout counter key: wrong codes count against it like wrong passwords. */
    identityKey: { type: String, required: true },
    /** Credential generation at the password step: a suspension or reset in between voids the challenge. */
    credentialGeneration: { type: Number, required: true },
    mustChangePassword: { type: Boolean, default: false },
    /** `verify`: the enrolled device's code; `enroll`: confirm a new device with its first code. */
    mode: { type: String, enum: ['verify', 'enroll'], required: true },
    /** The secret offered for enrollment, envelope-encrypted (context: loginChallengeSecretContext). */
    enrollSecretEncrypted: { type: String, default: null, secret: true },
    attempts: { type: Number, default: 0 },
    /** Where the sign-in started (`/console/login` or `/console/login/{alias}`), to send the user back. */
    loginPath: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: true, collection: 'console_login_challenges' },
);
loginChallengeSchema.index({ tokenHash: 1 }, { unique: true });
loginChallengeSchema.plugin(scopePlugin, { key: 'accountId' });
loginChallengeSchema.plugin(secretPlugin);
loginChallengeSchema.plugin(expiryPlugin);

export type LoginChallengeDoc = InferSchemaType<typeof loginChallengeSchema>;
export const LoginChallenge = mongoose.model('LoginChallenge', loginChallengeSchema);

export function loginChallengeSecretContext(tokenHash: string): string {
  return `LoginChallenge:${tokenHash}:enroll`;
}
