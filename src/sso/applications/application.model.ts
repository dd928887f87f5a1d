/**
 * An application of a tenant (reference/ncloud-model.md §1 "Application"; seed S4 "Application"
 * actions): one row per application whatever its protocol, with the protocol's settings in one
 * sub-document (`oidc` for `protocol: OAUTH2`, `saml` for `protocol: SAML`), as logto keeps SAML
 * apps as an application row plus a config row. Issues 8 (OIDC) and 9 (SAML) both read this model;
 * the admin API (`/api/v1/sso/applications`) writes it.
 *
 * - `name`: 2-100, `^[A-Za-z][A-Za-z0-9_.-]*$`, unique per tenant case-sensitively (Ncloud).
 * - Who may sign in (`accessScope`): `ALL_USERS` of the tenant, or `ASSIGNED` users and groups
 *   only (application-principal.model.ts, one document per principal). Sub accounts need
 *   `SSO:View/accessApplication` on the application's NRN; the main account needs
 *   `memberLoginPolicy: ALLOW`.
 * - Secrets (`clientSecretEncrypted`) never serialize; the secret is shown once at creation
 *   and at `renewalClientSecret`.
 * - `revision` guards read-modify-writes (tags); `configRevision` moves on every change a cached
 *   protocol configuration depends on (the per-tenant change stamp is bumped too).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';
import { secretPlugin } from '../../db/plugins/secret.js';

export const APPLICATION_PROTOCOLS = ['OAUTH2', 'SAML'] as const;
export type ApplicationProtocol = (typeof APPLICATION_PROTOCOLS)[number];
/** Applications per tenant: Ncloud publishes none; Keycloak and AWS have none that small. */
export const APPLICATION_LIMIT = 1000;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });
const localized = new Schema({ ko: { type: String, default: '' }, en: { type: String, default: '' }, ja: { type: String, default: '' } }, { _id: false });

const consentPage = new Schema(
  {
    enabled: { type: Boolean, default: true },
    applicationName: { type: localized, default: () => ({}) },
    useLanguages: { type: [String], default: ['en'] },
    defaultLanguage: { type: String, default: 'en' },
    usePurposeDesc: { type: Boolean, default: false },
    purposeDesc: { type: localized, default: () => ({}) },
    usePeriodDesc: { type: Boolean, default: false },
    periodDesc: { type: localized, default: () => ({}) },
    dataTransferAbroad: { type: Boolean, default: false },
    dataTransferCountry: { type: String, default: '' },
    dataRecipients: { type: String, default: '' },
    dataRecipientsContact: { type: String, default: '' },
  },
  { _id: false },
);

const oidcSettings = new Schema(
  {
    clientId: { type: String, required: true },
    clientSecretIssuedAt: { type: Date, default: null },
    redirectUris: { type: [String], default: [] },
    postLogoutRedirectUris: { type: [String], default: [] },
    /** `client_secret_basic` | `client_secret_post` | `none` (Ncloud) | `private_key_jwt` (Gatehouse). */
    clientAuthMethod: { type: String, required: true },
    accessType: { type: String, enum: ['confidential', 'public'], required: true },
    grantTypes: { type: [String], default: ['authorization_code'] },
    scopes: { type: [String], default: ['openid'] },
    accessTokenValiditySec: { type: Number, default: 3600 },
    refreshTokenValiditySec: { type: Number, default: 14 * 86400 },
    /** For private_key_jwt: the client's public keys (a JWKS document as JSON text). */
    jwks: { type: String, default: null },
    backchannelLogoutUri: { type: String, default: null },
    /** Portal launch (OIDC third-party initiated login, Core §4). */
    initiateLoginUri: { type: String, default: null },
  },
  { _id: false },
);

const acsEndpoint = new Schema(
  {
    binding: { type: String, enum: ['HTTP-POST', 'HTTP-Redirect'], default: 'HTTP-POST' },
    location: { type: String, required: true },
    index: { type: Number, default: 0 },
    isDefault: { type: Boolean, default: false },
  },
  { _id: false },
);

const samlAttribute = new Schema(
  {
    name: { type: String, required: true },
    nameFormat: { type: String, default: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic' },
    friendlyName: { type: String, default: '' },
    /** `profile` (a user profile field), `groups`, `roles`, `constant`. */
    source: { type: String, enum: ['profile', 'groups', 'roles', 'constant'], required: true },
    /** The profile field for `profile`, the literal value for `constant`. */
    value: { type: String, default: '' },
  },
  { _id: false },
);

const samlSettings = new Schema(
  {
    entityId: { type: String, required: true },
    acsEndpoints: { type: [acsEndpoint], default: [] },
    sloUrl: { type: String, default: null },
    sloBinding: { type: String, enum: ['HTTP-POST', 'HTTP-Redirect', null], default: null },
    nameIdFormat: { type: String, enum: ['emailAddress', 'persistent', 'transient', 'unspecified'], default: 'emailAddress' },
    /** For emailAddress/unspecified: which profile field (`loginId`, `email`, `userId`, `empNo`). */
    nameIdSource: { type: String, default: 'loginId' },
    /** What to sign: `assertion` (default), `response`, `both`. */
    signWhat: { type: String, enum: ['assertion', 'response', 'both'], default: 'assertion' },
    signatureAlgorithm: { type: String, enum: ['rsa-sha256', 'rsa-sha512'], default: 'rsa-sha256' },
    encryptAssertion: { type: Boolean, default: false },
    /** The SP's encryption certificate (PEM), needed when `encryptAssertion`. */
    encryptionCertificate: { type: String, default: null },
    requireSignedRequests: { type: Boolean, default: false },
    /** The SP's signing certificates (PEM) for signed AuthnRequests / LogoutRequests. */
    signingCertificates: { type: [String], default: [] },
    idpInitiatedAllowed: { type: Boolean, default: false },
    defaultRelayState: { type: String, default: '' },
    attributes: { type: [samlAttribute], default: [] },
    /** The role attribute (values `roleNrn,idpEntityId`); null leaves it out. */
    roleAttributeName: { type: String, default: 'https://gatehouse.dev/SAML/Attributes/Role' },
    sessionDurationAttributeName: { type: String, default: null },
    metadataValidUntil: { type: Date, default: null },
  },
  { _id: false },
);

const applicationSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    applicationId: { type: String, required: true },
    name: { type: String, required: true },
    description: { type: String, default: '' },
    applicationUrl: { type: String, default: '' },
    applicationType: { type: String, enum: ['WEB', 'APP'], default: 'WEB' },
    memberLoginPolicy: { type: String, enum: ['ALLOW', 'DENY'], default: 'DENY' },
    protocol: { type: String, enum: APPLICATION_PROTOCOLS, required: true },
    /**
     * How the protocol finds the application: `oidc:{clientId}` or `saml:{entityId}`. Top-level
     * because the bundled engine never indexes dotted paths, and always set so one plain unique
     * index (no partial indexes) makes client ids and SP entity ids unique per tenant.
     */
    protocolKey: { type: String, required: true },
    /** OIDC client secret, envelope-encrypted (context applicationSecretContext); top-level so the secret plugin hides it. */
    clientSecretEncrypted: { type: String, default: null, secret: true },
    accessScope: { type: String, enum: ['ALL_USERS', 'ASSIGNED'], default: 'ALL_USERS' },
    consentPage: { type: consentPage, default: () => ({}) },
    oidc: { type: oidcSettings, default: null },
    saml: { type: samlSettings, default: null },
    tags: { type: [tag], default: [] },
    revision: { type: Number, default: 0 },
    configRevision: { type: Number, default: 0 },
  },
  { timestamps: true, collection: 'sso_applications', minimize: false },
);
applicationSchema.index({ tenantId: 1, applicationId: 1 }, { unique: true });
applicationSchema.index({ tenantId: 1, name: 1 }, { unique: true });
// Protocol lookups: oidc-provider finds a client by client_id, the SAML IdP an SP by entity ID.
applicationSchema.index({ tenantId: 1, protocolKey: 1 }, { unique: true });
applicationSchema.plugin(scopePlugin, { key: 'tenantId' });
applicationSchema.plugin(secretPlugin);

export type ApplicationDoc = InferSchemaType<typeof applicationSchema>;
export type StoredApplication = ApplicationDoc & { createdAt?: Date; updatedAt?: Date };
export const Application = mongoose.model('SsoApplication', applicationSchema);

export function applicationSecretContext(tenantId: string, applicationId: string): string {
  return `SsoApplication:${tenantId}:${applicationId}:clientSecret`;
}

export function oidcProtocolKey(clientId: string): string {
  return `oidc:${clientId}`;
}

export function samlProtocolKey(entityId: string): string {
  return `saml:${entityId}`;
}
