/**
 * A tenant's external identity provider (reference/ncloud-model.md §1 "External IdP"; seed S4
 * `change/manageExternalIDP`, IdP-certificate actions; ARCHITECTURE.md "federation"). Ncloud's
 * "External IdP login": the tenant is a SAML 2.0 service provider, the company's IdP (Okta, Entra
 * ID, Keycloak, another Gatehouse tenant, ...) authenticates the tenant's users.
 *
 * - One per tenant (unique `tenantId`). `protocol` is SAML (Ncloud's only one); the field exists so
 *   OIDC federation can be added without a migration.
 * - `status`: the admin turns federated sign-in on and off (`manageExternalIDP`) without losing
 *   the configuration. Sign-in through it also needs the tenant's login settings to allow the
 *   external IdP method.
 * - The IdP's signing certificates (1-2: current + next during its rollover) are public data, kept
 *   in the record with what the API shows of them. A response verifies against any of them.
 * - Algorithms: RSA-SHA256 or RSA-SHA512 only; SHA-1 is refused at the edge and by the verifier
 *   (security-bar case 21), although Ncloud's API still lists RSA_SHA1.
 * - `revision` moves at every write; caches of the federation SP configuration key on the
 *   tenant's change stamp (`tenantScope`), which every write of this record bumps.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../db/plugins/scope.js';

export const EXTERNAL_IDP_PROTOCOLS = ['SAML'] as const;
export const EXTERNAL_IDP_STATUSES = ['ENABLED', 'DISABLED'] as const;
/** How the AuthnRequest travels to `idpSigninUrl` (reference: `protocolBinding`). */
export const EXTERNAL_IDP_BINDINGS = ['HTTP_POST', 'HTTP_REDIRECT'] as const;
export const EXTERNAL_IDP_SIGNATURE_ALGORITHMS = ['RSA_SHA256', 'RSA_SHA512'] as const;
/** Reference §1: `idpCertificates` 1-2 entries. */
export const MAX_IDP_CERTIFICATES = 2;
/** Reference §1: issuer, sign-in and sign-out URLs are each at most 1,000 characters. */
export const MAX_IDP_URL_LENGTH = 1000;

export type ExternalIdpStatus = (typeof EXTERNAL_IDP_STATUSES)[number];
export type ExternalIdpBinding = (typeof EXTERNAL_IDP_BINDINGS)[number];
export type ExternalIdpSignatureAlgorithm = (typeof EXTERNAL_IDP_SIGNATURE_ALGORITHMS)[number];

const idpCertificateSchema = new Schema(
  {
    certificateId: { type: String, required: true },
    /** PEM of the X.509 certificate the IdP signs with (validated and normalised at the edge). */
    certificatePem: { type: String, required: true },
    subject: { type: String, required: true },
    sha256Fingerprint: { type: String, required: true },
    notBefore: { type: Date, required: true },
    notAfter: { type: Date, required: true },
    addedAt: { type: Date, required: true },
  },
  { _id: false },
);

const externalIdpSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    providerId: { type: String, required: true },
    protocol: { type: String, required: true, enum: EXTERNAL_IDP_PROTOCOLS, default: 'SAML' },
    status: { type: String, required: true, enum: EXTERNAL_IDP_STATUSES, default: 'ENABLED' },
    /** The IdP's entity ID: the Issuer every response must carry. */
    idpIssuerUrl: { type: String, required: true },
    /** The IdP's SingleSignOnService location for `protocolBinding`. */
    idpSigninUrl: { type: String, required: true },
    /** The IdP's SingleLogoutService location (optional). */
    idpSignoutUrl: { type: String, default: null },
    protocolBinding: { type: String, required: true, enum: EXTERNAL_IDP_BINDINGS, default: 'HTTP_POST' },
    /** Sign AuthnRequests with the tenant's active SAML certificate (src/sso/certificates). */
    requestSigningEnabled: { type: Boolean, default: false },
    signRequestAlgorithm: { type: String, enum: EXTERNAL_IDP_SIGNATURE_ALGORITHMS, default: 'RSA_SHA256' },
    /** The weakest signature algorithm accepted on responses (never SHA-1). */
    signResponseAlgorithm: { type: String, enum: EXTERNAL_IDP_SIGNATURE_ALGORITHMS, default: 'RSA_SHA256' },
    idpCertificates: { type: [idpCertificateSchema], default: [] },
    /** Expiry notices for the IdP certificates (`Change/manageIdPNotificationSetting`). */
    notificationRecipients: { type: [String], default: [] },
    notificationLeadDays: { type: [Number], default: [] },
    revision: { type: Number, default: 0 },
  },
  { timestamps: true, collection: 'sso_external_idps', minimize: false },
);
externalIdpSchema.index({ tenantId: 1 }, { unique: true });
externalIdpSchema.index({ providerId: 1 }, { unique: true });
externalIdpSchema.plugin(scopePlugin, { key: 'tenantId' });

export type ExternalIdpDoc = InferSchemaType<typeof externalIdpSchema>;
export type ExternalIdpRecord = ExternalIdpDoc & { createdAt?: Date; updatedAt?: Date };
export const ExternalIdp = mongoose.model('ExternalIdp', externalIdpSchema);

/** The tenant's SP identity towards its external IdP (reference §1 "SP data"; ARCHITECTURE.md endpoint map). */
export function federationSpUrls(baseUrl: string, tenantId: string): { entityId: string; signinUrl: string; acsUrl: string; metadataUrl: string; logoutUrl: string } {
  const root = `${baseUrl.replace(/\/+$/, '')}/tenants/${tenantId}`;
  return { entityId: root, signinUrl: `${root}/saml/login`, acsUrl: `${root}/saml/acs`, metadataUrl: `${root}/saml/sp-metadata`, logoutUrl: `${root}/saml/logout` };
}
