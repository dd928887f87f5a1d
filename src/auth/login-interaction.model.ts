/**
 * A login interaction in progress (issue 7 "The login interaction"): what a protocol asked for,
 * where to return, and how far the user got. Server-side state only: the browser holds a random
 * token in a short-lived cookie bound to the interaction (only its SHA-256 is stored), so an
 * interaction id seen in a URL cannot be finished from another browser (login CSRF).
 *
 * States: `identify` (login id + password, one form) → (`mfa` | `enroll` | `otp`) → (`changePassword`) →
 * `completed` (login-flow.service.ts; `password` is kept for a separate password page, unused today).
 * `completed` interactions carry their result (`sessionId`, `amr`, `acr`, `authTime`) until the
 * protocol consumes it once (`consumedAt`).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../db/plugins/expiry.js';
import { scopePlugin } from '../db/plugins/scope.js';
import { secretPlugin } from '../db/plugins/secret.js';

/** Ten minutes from start to finish (Keycloak's "Login timeout" is 30 min; 10 is enough for TOTP enrollment). */
export const LOGIN_INTERACTION_TTL_MS = 10 * 60_000;
export const LOGIN_STATES = ['identify', 'password', 'mfa', 'enroll', 'otp', 'changePassword', 'completed'] as const;
export type LoginState = (typeof LOGIN_STATES)[number];

const loginInteractionSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    /** Public id (in URLs): 128-bit random, base64url. */
    interactionId: { type: String, required: true },
    /** SHA-256 of the browser-binding cookie token. */
    bindingHash: { type: String, required: true },
    /**
     * The forms' CSRF token (synchronizer token, security-bar §4 "CSRF"): rendered into every
     * form of this interaction and compared in constant time on every POST.
     */
    csrfToken: { type: String, default: null },
    /** What the next page should tell the user (`failed`, `throttled`, `wrongCode`, ...): post/redirect/get. */
    notice: { type: String, default: null },
    state: { type: String, enum: LOGIN_STATES, default: 'identify' },
    /** Path (under `/tenants/{t}/`) to return to when completed; validated by beginLogin. */
    returnTo: { type: String, required: true },
    /** Who asked: `portal`, `oidc`, `saml` (logs and the page's wording). */
    client: { type: String, required: true },
    /** Display name of the application asking, for the page ("Sign in to continue to …"). */
    clientName: { type: String, default: null },
    forceAuthn: { type: Boolean, default: false },
    maxAgeSec: { type: Number, default: null },
    requireMfa: { type: Boolean, default: false },
    /** The user identified so far, and the factors they passed in this interaction. */
    userId: { type: String, default: null },
    loginId: { type: String, default: null },
    amr: { type: [String], default: [] },
    credentialGeneration: { type: Number, default: null },
    /** Wrong second-factor codes in this interaction (also counted per user by the throttle). */
    attempts: { type: Number, default: 0 },
    /** TOTP secret offered for enrollment, envelope-encrypted; one-time code hash for `otp`. */
    enrollSecretEncrypted: { type: String, default: null, secret: true },
    otpHash: { type: String, default: null, secret: true },
    otpChannel: { type: String, default: null },
    otpExpiresAt: { type: Date, default: null },
    /** One-time codes sent in this interaction (bounded: each one is a message to the user). */
    otpSends: { type: Number, default: 0 },
    /** An existing session re-authenticating (step-up): its token is replaced on completion. */
    stepUpSessionId: { type: String, default: null },
    /** The result, once completed. */
    sessionId: { type: String, default: null },
    authTime: { type: Date, default: null },
    acr: { type: String, default: null },
    completedAt: { type: Date, default: null },
    consumedAt: { type: Date, default: null },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: true, collection: 'sso_login_interactions', minimize: false },
);
loginInteractionSchema.index({ tenantId: 1, interactionId: 1 }, { unique: true });
loginInteractionSchema.plugin(scopePlugin, { key: 'tenantId' });
loginInteractionSchema.plugin(secretPlugin);
loginInteractionSchema.plugin(expiryPlugin);

export type LoginInteractionDoc = InferSchemaType<typeof loginInteractionSchema>;
export const LoginInteraction = mongoose.model('LoginInteraction', loginInteractionSchema);

export function loginInteractionSecretContext(tenantId: string, interactionId: string): string {
  return `LoginInteraction:${tenantId}:${interactionId}:enroll`;
}
