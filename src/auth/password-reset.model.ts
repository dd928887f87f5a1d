/**
 * One-time password reset links of tenant users (issue 7 "admin-initiated reset with a one-time
 * link"). The link carries a random 256-bit token; only its SHA-256 is stored (a database reader
 * cannot use a pending link). A link lives one hour, is used once (`usedAt` set by one atomic
 * compare-and-set), and is bound to the user's `credentialGeneration` at issue: a suspension, an
 * "expire sessions" or another password change in between makes it worthless. A user has at most
 * one pending link: one document per user (unique `tenantId + userId`), whose token a new link
 * replaces in one upsert, so only the newest works even when two admins click at once (Keycloak's
 * execute-actions e-mail behaves the same).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../db/plugins/expiry.js';
import { scopePlugin } from '../db/plugins/scope.js';

export const PASSWORD_RESET_TTL_MS = 3600_000;

const passwordResetSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    userId: { type: String, required: true },
    /** SHA-256 (base64url) of the token in the link. */
    tokenHash: { type: String, required: true },
    credentialGeneration: { type: Number, required: true },
    /** Who asked for it (the admin principal's NRN or name), for the audit trail. */
    requestedBy: { type: String, default: '' },
    createdAt: { type: Date, default: () => new Date() },
    usedAt: { type: Date, default: null },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'sso_password_resets' },
);
passwordResetSchema.index({ tenantId: 1, tokenHash: 1 }, { unique: true });
passwordResetSchema.index({ tenantId: 1, userId: 1 }, { unique: true });
passwordResetSchema.plugin(scopePlugin, { key: 'tenantId' });
passwordResetSchema.plugin(expiryPlugin);

export type PasswordResetDoc = InferSchemaType<typeof passwordResetSchema>;
export const PasswordReset = mongoose.model('PasswordReset', passwordResetSchema);
