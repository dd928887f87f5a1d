/**
 * An end-user session of an SSO user (reference/ncloud-model.md §1 "Active sessions":
 * `sessionId`, `clientIp`, `permissionSetId`, `permissionSetName`, `createdAt`). The sign-in
 * issue creates these and extends them (token hash, authentication methods); this is the minimal
 * shape the admin API lists and expires now (`GET/DELETE /users/{id}/sessions`).
 *
 * `expiresAt` is the idle deadline, moved forward by `lastSeenAt` updates; the expiry plugin
 * hides expired sessions on every read (ARCHITECTURE.md "Storage": engines without TTL indexes).
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
    clientIp: { type: String, default: null },
    /** Set while the user is switched into an SSO role (the assignment's permission set). */
    permissionSetId: { type: String, default: null },
    permissionSetName: { type: String, default: null },
    createdAt: { type: Date, default: () => new Date() },
    lastSeenAt: { type: Date, default: () => new Date() },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'sso_user_sessions' },
);
ssoUserSessionSchema.index({ tenantId: 1, sessionId: 1 }, { unique: true });
ssoUserSessionSchema.index({ tenantId: 1, userId: 1 });
ssoUserSessionSchema.plugin(scopePlugin, { key: 'tenantId' });
ssoUserSessionSchema.plugin(expiryPlugin);

export type SsoUserSessionDoc = InferSchemaType<typeof ssoUserSessionSchema>;
export const SsoUserSession = mongoose.model('SsoUserSession', ssoUserSessionSchema);
