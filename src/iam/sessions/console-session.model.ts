/**
 * Console sessions, in MongoDB so any Gatehouse process can serve any request (ARCHITECTURE.md
 * "More than one machine"). The cookie carries a random 256-bit token; only its SHA-256 is
 * stored, so a database leak yields no usable session. `expiresAt` is the idle deadline (moved
 * forward on use); `absoluteExpiresAt` caps the session's life.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../../db/plugins/expiry.js';
import { scopePlugin } from '../../db/plugins/scope.js';

const consoleSessionSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tokenHash: { type: String, required: true },
    /** Synchronizer token for state-changing requests made with this session's cookie. */
    csrfToken: { type: String, required: true },
    /**
     * `SsoRole`: an SSO user switched into an assignment's SSO role from the user portal
     * (src/portal/role-switch.service.ts); no sub account behind it, the role is `switchedRoleId`.
     */
    kind: { type: String, enum: ['Root', 'SubAccount', 'SsoRole'], required: true },
    subAccountId: { type: String, default: null },
    /** Generation of the sub account's credentials at login (see SubAccount.credentialGeneration). */
    credentialGeneration: { type: Number, default: 0 },
    /** While switched into a role: the role and its generation at switch time. */
    switchedRoleId: { type: String, default: null },
    switchedRoleGeneration: { type: Number, default: 0 },
    switchedRoleExpiresAt: { type: Date, default: null },
    /** SsoRole sessions: the SSO user and the SSO session it came from (it dies with that session). */
    ssoTenantId: { type: String, default: null },
    ssoUserId: { type: String, default: null },
    ssoSessionId: { type: String, default: null },
    /** SsoRole sessions: the assignment's console IP ACL entries at switch time (empty: unrestricted). */
    ssoPermitIps: { type: [String], default: [] },
    mfa: { type: Boolean, default: false },
    /** A password change is required before anything else (expired or reset password). */
    mustChangePassword: { type: Boolean, default: false },
    idleTimeoutSec: { type: Number, required: true },
    absoluteExpiresAt: { type: Date, required: true },
    lastSeenAt: { type: Date, default: () => new Date() },
    sourceIp: { type: String, default: null },
    userAgent: { type: String, default: null },
    expiresAt: { type: Date, required: true },
  },
  { timestamps: true, collection: 'console_sessions' },
);
consoleSessionSchema.index({ tokenHash: 1 }, { unique: true });
consoleSessionSchema.index({ accountId: 1, subAccountId: 1 });
// Ending the console role sessions of an SSO session (portal logout, admin expiry).
consoleSessionSchema.index({ ssoSessionId: 1 });
consoleSessionSchema.plugin(scopePlugin, { key: 'accountId' });
consoleSessionSchema.plugin(expiryPlugin);

export type ConsoleSessionDoc = InferSchemaType<typeof consoleSessionSchema>;
export const ConsoleSession = mongoose.model('ConsoleSession', consoleSessionSchema);
