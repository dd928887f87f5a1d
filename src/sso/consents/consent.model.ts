/**
 * A user's consent to an application (reference/ncloud-model.md §1 "Consent status": the fields
 * are [NF] there; this follows the suggested `{applicationId, principal, consentedItems/scopes,
 * language, consentedAt, withdrawnAt}`). Seed S4 `view/getConsentStatusList` /
 * `view/getConsentStatusDetail` read it; the OIDC consent page writes it (consent.service.ts).
 *
 * At most one LIVE consent per (application, user): `liveKey` is `{applicationId}:{userId}` while
 * the consent stands and `withdrawn:{consentId}` once it is withdrawn, with a plain unique index
 * on {tenantId, liveKey} (no partial indexes on the bundled engine). A withdrawn consent stays as
 * history ("Check the consent history"); a new consent afterwards is a new document.
 *
 * `items` is what the consent page showed (the application's consent settings in the language
 * shown, and the scopes), so the record proves what the user agreed to even after an admin edits
 * the application's consent page.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

export const CONSENT_WITHDRAWAL_REASONS = ['user', 'applicationDeleted'] as const;
export type ConsentWithdrawalReason = (typeof CONSENT_WITHDRAWAL_REASONS)[number];

const consentItem = new Schema({ label: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const consentSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    accountId: { type: Number, required: true },
    consentId: { type: String, required: true },
    applicationId: { type: String, required: true },
    userId: { type: String, required: true },
    liveKey: { type: String, required: true },
    scopes: { type: [String], default: [] },
    items: { type: [consentItem], default: [] },
    language: { type: String, default: 'en' },
    consentedAt: { type: Date, required: true },
    withdrawnAt: { type: Date, default: null },
    withdrawalReason: { type: String, enum: [...CONSENT_WITHDRAWAL_REASONS, null], default: null },
  },
  { timestamps: true, collection: 'sso_consents', minimize: false },
);
consentSchema.index({ tenantId: 1, consentId: 1 }, { unique: true });
consentSchema.index({ tenantId: 1, liveKey: 1 }, { unique: true });
// Admin lists filtered by application or user, newest first; the portal lists one user's.
consentSchema.index({ tenantId: 1, applicationId: 1, consentedAt: -1 });
consentSchema.index({ tenantId: 1, userId: 1, consentedAt: -1 });
consentSchema.plugin(scopePlugin, { key: 'tenantId' });

export type ConsentDoc = InferSchemaType<typeof consentSchema>;
export type StoredConsent = ConsentDoc & { createdAt?: Date; updatedAt?: Date };
export const Consent = mongoose.model('SsoConsent', consentSchema);

export function liveConsentKey(applicationId: string, userId: string): string {
  return `${applicationId}:${userId}`;
}

export function withdrawnConsentKey(consentId: string): string {
  return `withdrawn:${consentId}`;
}
