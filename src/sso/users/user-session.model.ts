/**
 * An end-user session of an SSO user (reference/ncloud-model.md §1 "Active sessions":
 * `sessionId`, `clientIp`, `permissionSetId`, `permissionSetName`, `createdAt`), created by the
 * sign-in pipeline (src/auth/sso-session.ts) and listed and expired by the admin API
 * (`GET/DELETE /users/{id}/sessions`).
 *
 * - The browser holds a random token; only its SHA-256 (`tokenHash`) is stored. `sessionId` is
 *   the public name of the session (UUID), never the token.
 * - `expiresAt` is the idle deadline, moved forward on use and never past `absoluteExpiresAt`;
 *   the expiry plugin hides expired sessions on every read (ARCHITECTURE.md "Storage": engines
 *   without TTL indexes).
 * - `authTime`, `amr` and `acr` say when and how the user last proved who they are (OIDC
 *   `auth_time`/`amr`/`acr`, SAML AuthnInstant/AuthnContextClassRef).
 * - `credentialGeneration` is the user's at sign-in: a suspension, password reset or "expire
 *   active sessions" moves the user's generation and kills the session even before it is deleted.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../../db/plugins/expiry.js';
import { scopePlugin } from '../../db/plugins/scope.js';

const ssoUserSessionSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    userId: { type: String, required: true },
    /** Public id of the session (UUID): what the admin API names, never the session token. */
    sessionId: { type: String, required: true },
    /** SHA-256 (base64url) of the cookie token; null only for records made before sign-in existed. */
    tokenHash: { type: String, default: null },
    clientIp: { type: String, default: null },
    userAgent: { type: String, default: null },
    /** Set while the user is switched into an SSO role (the assignment's permission set). */
    permissionSetId: { type: String, default: null },
    permissionSetName: { type: String, default: null },
    credentialGeneration: { type: Number, default: 0 },
    /** When the user last authenticated in this session (sign-in or step-up). */
    authTime: { type: Date, default: () => new Date() },
    /** RFC 8176 methods of the last authentication: `pwd`, `otp`, `sms`, `mfa`, `fed`. */
    amr: { type: [String], default: [] },
    /** Gatehouse's assurance level of the last authentication: `pwd` (one factor) or `mfa`. */
    acr: { type: String, enum: ['pwd', 'mfa'], default: 'pwd' },
    idleTimeoutSec: { type: Number, default: 3600 },
    absoluteExpiresAt: { type: Date, default: () => new Date(Date.now() + 12 * 3600_000) },
    createdAt: { type: Date, default: () => new Date() },
    lastSeenAt: { type: Date, default: () => new Date() },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'sso_user_sessions', minimize: false },
);
ssoUserSessionSchema.index({ tenantId: 1, sessionId: 1 }, { unique: true });
ssoUserSessionSchema.index({ tenantId: 1, tokenHash: 1 });
ssoUserSessionSchema.index({ tenantId: 1, userId: 1 });
ssoUserSessionSchema.plugin(scopePlugin, { key: 'tenantId' });
ssoUserSessionSchema.plugin(expiryPlugin);

export type SsoUserSessionDoc = InferSchemaType<typeof ssoUserSessionSchema>;
export const SsoUserSession = mongoose.model('SsoUserSession', ssoUserSessionSchema);
