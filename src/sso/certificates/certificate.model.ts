/**
 * The tenant's SAML signing certificates (reference/ncloud-model.md §1 "Certificates": at most 2
 * per tenant, exactly one active; seed S4 SP-certificate actions). In Ncloud the "SP certificate"
 * is the tenant's own key pair; in Gatehouse the same key pair signs as IdP towards SAML
 * applications (src/saml/keys.ts) and as SP towards an external IdP (federation).
 *
 * - At most two: each certificate occupies `slot` 1 or 2 under a unique (tenantId, slot) index,
 *   so concurrent creates cannot make a third (ARCHITECTURE.md "Storage": uniqueness only through
 *   unique indexes).
 * - Which one is active: the one with the highest `activationSeq` (0 = never activated). An
 *   activation is one atomic write of a number drawn from the tenant's counter
 *   (`SamlCertificateState.seq`, $inc), so there is never a moment with no active certificate or
 *   two processes disagreeing, and no two-document switch is needed (no transactions).
 * - The private key is envelope-encrypted (src/db/encryption.ts, context binds it to the tenant
 *   and certificate) and a secret field: never selected unless asked for, never serialized.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';
import { secretPlugin } from '../../db/plugins/secret.js';

/** Reference §1: ≤2 per tenant (current + next for a rollover). */
export const CERTIFICATE_SLOTS = [1, 2] as const;
export const CERTIFICATE_KEY_SIZES = [2048, 3072, 4096] as const;
export type CertificateKeySize = (typeof CERTIFICATE_KEY_SIZES)[number];

const certificateSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    accountId: { type: Number, required: true },
    certificateId: { type: String, required: true },
    slot: { type: Number, required: true, enum: CERTIFICATE_SLOTS },
    certificatePem: { type: String, required: true },
    privateKeyEncrypted: { type: String, required: true, secret: true },
    keySize: { type: Number, required: true },
    /** Signature algorithm of the certificate itself (always RSA-SHA256; SHA-1 is never offered). */
    algorithm: { type: String, required: true, default: 'RSA_SHA256' },
    subject: { type: String, required: true },
    serialNumber: { type: String, required: true },
    sha256Fingerprint: { type: String, required: true },
    notBefore: { type: Date, required: true },
    notAfter: { type: Date, required: true },
    /** Higher is more recent; the highest non-zero one is the active certificate. */
    activationSeq: { type: Number, default: 0 },
    activatedAt: { type: Date, default: null },
    /** Created by first use (getTenantSigningKeys), not through the admin API. */
    createdAutomatically: { type: Boolean, default: false },
  },
  { timestamps: true, collection: 'sso_saml_certificates' },
);
certificateSchema.index({ certificateId: 1 }, { unique: true });
certificateSchema.index({ tenantId: 1, slot: 1 }, { unique: true });
certificateSchema.index({ notAfter: 1 });
certificateSchema.plugin(scopePlugin, { key: 'tenantId' });
certificateSchema.plugin(secretPlugin);

export type CertificateDoc = InferSchemaType<typeof certificateSchema>;
export type StoredCertificate = CertificateDoc & { createdAt?: Date; updatedAt?: Date };
export const SamlCertificate = mongoose.model('SamlCertificate', certificateSchema);

/** What a private key is bound to as additional authenticated data: a ciphertext copied into another record does not decrypt. */
export function privateKeyContext(tenantId: string, certificateId: string): string {
  return `SsoTenant:${tenantId}:samlCertificate:${certificateId}`;
}

/**
 * Per-tenant certificate state: the activation counter, and the expiry notification setting
 * (`Change/manageSPNotificationSetting`: recipients and lead days).
 */
const stateSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    seq: { type: Number, default: 0 },
    notificationRecipients: { type: [String], default: [] },
    notificationLeadDays: { type: [Number], default: [] },
  },
  { timestamps: true, collection: 'sso_saml_certificate_state', minimize: false },
);
stateSchema.index({ tenantId: 1 }, { unique: true });
stateSchema.plugin(scopePlugin, { key: 'tenantId' });

export type CertificateStateDoc = InferSchemaType<typeof stateSchema>;
export const SamlCertificateState = mongoose.model('SamlCertificateState', stateSchema);

/**
 * One expiry notice sent: unique per (certificate, lead day), inserted before sending, so two
 * processes running the daily job at once send each notice once (src/sso/certificates/expiry-job.ts).
 */
const noticeSchema = new Schema(
  {
    noticeKey: { type: String, required: true },
    tenantId: { type: String, required: true },
    certificateId: { type: String, required: true },
    leadDays: { type: Number, required: true },
    sentAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'sso_saml_certificate_notices' },
);
noticeSchema.index({ noticeKey: 1 }, { unique: true });
noticeSchema.plugin(scopePlugin, { key: 'tenantId' });
export const SamlCertificateNotice = mongoose.model('SamlCertificateNotice', noticeSchema);
