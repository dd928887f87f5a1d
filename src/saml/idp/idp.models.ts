/**
 * Server-side state of the SAML IdP flows (issue 9; ARCHITECTURE.md "Storage": expiry checked on
 * every read, each write atomic on one document, retries safe, no transactions).
 *
 * - `SamlPendingRequest` (`saml_pending_requests`): a verified AuthnRequest (or an IdP-initiated
 *   launch) waiting for the login pipeline. It holds only what was verified: the SP, the ACS
 *   chosen from the SP's registered endpoints, the request ID for InResponseTo, RelayState and
 *   the authentication requirements. Bound to the browser by the hash of a cookie token, like the
 *   login interaction, and answered at most once (`consumedAt` claimed by compare-and-set).
 * - `SamlSessionParticipant` (`saml_session_participants`): which SP received an assertion in
 *   which Gatehouse session, under which NameID and SessionIndex: what single logout needs
 *   (SAML Profiles §4.4). One document per (session, application), upserted.
 * - `SamlLogoutRun` (`saml_logout_runs`): a front-channel single logout in progress: the SP that
 *   asked (to answer it at the end), the participants still to visit, in order.
 * - `SamlIdpSecret` (`saml_idp_secrets`): a per-tenant random key (envelope-encrypted) for the
 *   persistent NameID (HMAC of user and SP) and the IdP-initiated launch tokens.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../../db/plugins/expiry.js';
import { scopePlugin } from '../../db/plugins/scope.js';
import { secretPlugin } from '../../db/plugins/secret.js';

/** A pending request lives as long as a login interaction (10 minutes). */
export const SAML_PENDING_TTL_MS = 10 * 60_000;

const pendingSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    /** Public id (in the resume URL): 128-bit random, base64url. */
    pendingId: { type: String, required: true },
    /** SHA-256 of the browser-binding cookie token. */
    bindingHash: { type: String, required: true },
    applicationId: { type: String, required: true },
    entityId: { type: String, required: true },
    /** The AuthnRequest ID (InResponseTo); null for IdP-initiated launches (unsolicited response). */
    requestId: { type: String, default: null },
    /** The ACS URL chosen from the SP's registered endpoints (never the request's own value unless it matched exactly). */
    acsUrl: { type: String, required: true },
    relayState: { type: String, default: null },
    forceAuthn: { type: Boolean, default: false },
    isPassive: { type: Boolean, default: false },
    requireMfa: { type: Boolean, default: false },
    consumedAt: { type: Date, default: null },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'saml_pending_requests', minimize: false },
);
pendingSchema.index({ tenantId: 1, pendingId: 1 }, { unique: true });
pendingSchema.plugin(scopePlugin, { key: 'tenantId' });
pendingSchema.plugin(expiryPlugin);
export type SamlPendingRequestDoc = InferSchemaType<typeof pendingSchema>;
export const SamlPendingRequest = mongoose.model('SamlPendingRequest', pendingSchema);

const participantSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    sessionId: { type: String, required: true },
    userId: { type: String, required: true },
    applicationId: { type: String, required: true },
    entityId: { type: String, required: true },
    nameId: { type: String, required: true },
    nameIdFormat: { type: String, required: true },
    sessionIndex: { type: String, required: true },
    firstAt: { type: Date, default: () => new Date() },
    lastAt: { type: Date, default: () => new Date() },
    /**
     * Set when the Gatehouse session ended (any reason, through onSsoSessionEnd). An SP that was
     * not visited by a front-channel logout keeps its own session until it expires: there is no
     * SAML back channel here (SOAP binding not offered); `endedReason` records why.
     */
    endedAt: { type: Date, default: null },
    endedReason: { type: String, default: null },
    /** Set when a LogoutRequest was sent to the SP (front channel) / when it answered. */
    logoutSentAt: { type: Date, default: null },
    logoutConfirmedAt: { type: Date, default: null },
    /** Kept until the session could not be live any more (absolute session lifetime). */
    expiresAt: { type: Date, required: true },
  },
  { collection: 'saml_session_participants', minimize: false },
);
participantSchema.index({ tenantId: 1, sessionId: 1, applicationId: 1 }, { unique: true });
participantSchema.index({ tenantId: 1, applicationId: 1, sessionIndex: 1 });
participantSchema.index({ tenantId: 1, applicationId: 1, nameId: 1 });
participantSchema.plugin(scopePlugin, { key: 'tenantId' });
participantSchema.plugin(expiryPlugin);
export type SamlSessionParticipantDoc = InferSchemaType<typeof participantSchema>;
export const SamlSessionParticipant = mongoose.model('SamlSessionParticipant', participantSchema);

/** A front-channel logout round trip per SP; ten minutes for the whole run. */
export const SAML_LOGOUT_RUN_TTL_MS = 10 * 60_000;

const logoutStep = new Schema(
  {
    applicationId: { type: String, required: true },
    /** The LogoutRequest ID sent to this SP (its LogoutResponse's InResponseTo). */
    requestId: { type: String, default: null },
    state: { type: String, enum: ['pending', 'sent', 'done', 'failed'], default: 'pending' },
  },
  { _id: false },
);

const logoutRunSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    runId: { type: String, required: true },
    sessionId: { type: String, required: true },
    /** The SP whose LogoutRequest started the run (answered last); null when Gatehouse started it. */
    origin: {
      applicationId: { type: String, default: null },
      requestId: { type: String, default: null },
      relayState: { type: String, default: null },
    },
    steps: { type: [logoutStep], default: [] },
    /** Moves on every step, so two tabs cannot both advance the same step (compare-and-set). */
    revision: { type: Number, default: 0 },
    finishedAt: { type: Date, default: null },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'saml_logout_runs', minimize: false },
);
logoutRunSchema.index({ tenantId: 1, runId: 1 }, { unique: true });
logoutRunSchema.plugin(scopePlugin, { key: 'tenantId' });
logoutRunSchema.plugin(expiryPlugin);
export type SamlLogoutRunDoc = InferSchemaType<typeof logoutRunSchema>;
export const SamlLogoutRun = mongoose.model('SamlLogoutRun', logoutRunSchema);

const idpSecretSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    secretEncrypted: { type: String, required: true, secret: true },
    createdAt: { type: Date, default: () => new Date() },
  },
  { collection: 'saml_idp_secrets', minimize: false },
);
idpSecretSchema.index({ tenantId: 1 }, { unique: true });
idpSecretSchema.plugin(scopePlugin, { key: 'tenantId' });
idpSecretSchema.plugin(secretPlugin);
export const SamlIdpSecret = mongoose.model('SamlIdpSecret', idpSecretSchema);

export function samlIdpSecretContext(tenantId: string): string {
  return `SamlIdpSecret:${tenantId}`;
}
