/**
 * Everything oidc-provider stores (sessions, interactions, grants, codes, tokens, replay
 * detection) in one collection, one document per artifact (issue 8 "MongoDB adapter").
 *
 * - `_id` is `{model}:{id}`; every query also names `tenantId` (scope plugin), so an artifact of
 *   tenant A is never found through tenant B's provider (security-bar §6 #45).
 * - The lookups oidc-provider makes (`findByUid`, `findByUserCode`, `revokeByGrantId`) and the
 *   Gatehouse session link (`ssoSessionId`, for logout propagation) are top-level fields with
 *   their own indexes: the bundled engine never indexes dotted paths.
 * - `payload` is the JSON text of oidc-provider's payload: its keys (client ids in
 *   `authorizations`, claim names) are data, and a string keeps `.`/`$` in them out of the
 *   engine's way.
 * - Expiry is checked on every read (expiry plugin), TTL indexes where the engine has them.
 * - `consumedAt` is set once, atomically (`consume`), which is what makes code and refresh
 *   token reuse detection race-free.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../db/plugins/expiry.js';
import { scopePlugin } from '../db/plugins/scope.js';

const artifactSchema = new Schema(
  {
    _id: { type: String, required: true },
    model: { type: String, required: true },
    tenantId: { type: String, required: true },
    payload: { type: String, required: true },
    grantId: { type: String, default: null },
    userCode: { type: String, default: null },
    uid: { type: String, default: null },
    /** For `Session`: the Gatehouse session (sso_user_sessions.sessionId) it belongs to. */
    ssoSessionId: { type: String, default: null },
    /** For `Session` and `Grant`: the SSO user (consent withdrawal revokes the user's grants). */
    accountId: { type: String, default: null },
    /** For `Grant`: the client it was given to. */
    clientId: { type: String, default: null },
    consumedAt: { type: Date, default: null },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'oidc_artifacts', versionKey: false, minimize: false },
);
artifactSchema.index({ tenantId: 1, grantId: 1 });
artifactSchema.index({ tenantId: 1, uid: 1 });
artifactSchema.index({ tenantId: 1, userCode: 1 });
artifactSchema.index({ tenantId: 1, ssoSessionId: 1 });
artifactSchema.index({ tenantId: 1, accountId: 1 });
artifactSchema.plugin(scopePlugin, { key: 'tenantId' });
artifactSchema.plugin(expiryPlugin);

export type OidcArtifactDoc = InferSchemaType<typeof artifactSchema>;
export const OidcArtifact = mongoose.model('OidcArtifact', artifactSchema);
