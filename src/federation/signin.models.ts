/**
 * Server-side state of federated sign-in through a tenant's external SAML IdP (ARCHITECTURE.md
 * "Request flows": federation; security-bar cases 13-22). Storage rules: expiry checked on every
 * read (expiryPlugin), each write atomic on one document, uniqueness only through unique indexes.
 *
 * - `FederationPending` (`sso_federation_pending`): one sign-in sent to the IdP. Its random
 *   `stateId` is the RelayState (opaque, never a URL). It remembers the login interaction the
 *   browser started, the AuthnRequest ID (the response must answer exactly that request), and,
 *   once the ACS has verified a response, the outcome (`verified`), which `/saml/complete`
 *   claims once by compare-and-set.
 * - `FederationRequestCache` (`sso_federation_request_cache`): node-saml's CacheProvider for
 *   `validateInResponseTo: 'always'`, per tenant and expiring (node-saml's own cache is in
 *   memory: a second process would refuse every response, a restart would lose every request).
 * - `FederationAssertionSeen` (`sso_federation_assertions`): every accepted assertion ID, once
 *   (unique index): a replayed response, sequential or concurrent, loses the insert race
 *   (security-bar case 19). Kept until the assertion could no longer be accepted anyway.
 * - `FederatedLink` (`sso_federated_links`): a user's first and last federated sign-in; the
 *   attribute mapper's `import` mode copies only at the first (reference/ncloud-model.md §1
 *   "Attribute mapper"). Kept apart from the SSO user record, which this module does not own.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../db/plugins/expiry.js';
import { scopePlugin } from '../db/plugins/scope.js';

/** Ten minutes from the redirect to the IdP to the return (the login interaction's own lifetime). */
export const FEDERATION_PENDING_TTL_MS = 10 * 60_000;
/**
 * How long an accepted assertion ID is remembered: longer than any assertion can stay acceptable
 * (the request it answers lives 10 minutes; NotOnOrAfter is checked with a 3-minute skew), so a
 * replay is refused by the record, not by luck.
 */
export const ASSERTION_SEEN_TTL_MS = 24 * 60 * 60_000;

export const FEDERATION_PENDING_STATES = ['sent', 'verified', 'completed'] as const;

const pendingSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    /** The RelayState: 128-bit random, base64url. */
    stateId: { type: String, required: true },
    interactionId: { type: String, required: true },
    /** The AuthnRequest's ID; the response's InResponseTo must equal it. */
    requestId: { type: String, required: true },
    state: { type: String, enum: FEDERATION_PENDING_STATES, default: 'sent' },
    /** The verified outcome (set by the ACS, read by /saml/complete). */
    userId: { type: String, default: null },
    credentialGeneration: { type: Number, default: null },
    amr: { type: [String], default: [] },
    acr: { type: String, default: null },
    verifiedAt: { type: Date, default: null },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'sso_federation_pending', minimize: false },
);
pendingSchema.index({ tenantId: 1, stateId: 1 }, { unique: true });
pendingSchema.plugin(scopePlugin, { key: 'tenantId' });
pendingSchema.plugin(expiryPlugin);
export type FederationPendingDoc = InferSchemaType<typeof pendingSchema>;
export const FederationPending = mongoose.model('FederationPending', pendingSchema);

const requestCacheSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    key: { type: String, required: true },
    value: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'sso_federation_request_cache', minimize: false },
);
requestCacheSchema.index({ tenantId: 1, key: 1 }, { unique: true });
requestCacheSchema.plugin(scopePlugin, { key: 'tenantId' });
requestCacheSchema.plugin(expiryPlugin);
export const FederationRequestCache = mongoose.model('FederationRequestCache', requestCacheSchema);

const assertionSeenSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    /** `{IdP entity ID} {assertion ID}`: IDs are unique per issuer only (SAML core §1.3.4). */
    key: { type: String, required: true },
    userId: { type: String, default: null },
    seenAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'sso_federation_assertions', minimize: false },
);
assertionSeenSchema.index({ tenantId: 1, key: 1 }, { unique: true });
assertionSeenSchema.plugin(scopePlugin, { key: 'tenantId' });
assertionSeenSchema.plugin(expiryPlugin);
export const FederationAssertionSeen = mongoose.model('FederationAssertionSeen', assertionSeenSchema);

const linkSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    userId: { type: String, required: true },
    firstSignInAt: { type: Date, required: true },
    lastSignInAt: { type: Date, required: true },
  },
  { collection: 'sso_federated_links', minimize: false },
);
linkSchema.index({ tenantId: 1, userId: 1 }, { unique: true });
linkSchema.plugin(scopePlugin, { key: 'tenantId' });
export type FederatedLinkDoc = InferSchemaType<typeof linkSchema>;
export const FederatedLink = mongoose.model('FederatedLink', linkSchema);
