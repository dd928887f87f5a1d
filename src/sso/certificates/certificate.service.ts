/**
 * The tenant's SAML signing certificates (reference/ncloud-model.md §1 "Certificates"; seed S4
 * SP-certificate actions; issue 9 "IdP signing certificates"). One key pair per certificate,
 * generated here with WebCrypto and @peculiar/x509 (src/shared/x509.ts), self-signed, subject
 * `CN=Gatehouse {tenantAlias}`; the private key is envelope-encrypted before it is stored and
 * never leaves this module except decrypted to the signer (src/saml/keys.ts).
 *
 * Rules (model: certificate.model.ts):
 * - at most 2 per tenant (unique slot index), so a rollover publishes current + next;
 * - exactly one active: the first certificate is activated when created; activating the active
 *   one is 400 InvalidState (Ncloud); the active one cannot be deleted (400 InvalidState);
 * - every change bumps the tenant's change stamp, so each process's signing-key cache and
 *   metadata drop their copy (src/saml/keys.ts).
 * The tenant always comes from the caller's account: another account's certificate id is 404.
 */
import { X509Certificate } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import type { Keyring } from '../../db/encryption.js';
import type { ChangeStamps } from '../../iam/change-stamps.js';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { createSelfSigned } from '../../shared/x509.js';
import { requireTenant, tenantScope } from '../tenant/tenant-context.js';
import {
  CERTIFICATE_SLOTS,
  SamlCertificate,
  SamlCertificateNotice,
  SamlCertificateState,
  privateKeyContext,
  type CertificateKeySize,
  type StoredCertificate,
} from './certificate.model.js';
import type { CreateCertificateInput, NotificationSettingInput } from './certificate.schemas.js';

export interface CertificateDeps {
  keyring: Keyring;
  stamps: ChangeStamps;
}

export type CertificateStatus = 'ACTIVE' | 'INACTIVE';

export interface CertificateView {
  certificateId: string;
  status: CertificateStatus;
  keySize: number;
  algorithm: string;
  subject: string;
  serialNumber: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
  createdAt: string;
  activatedAt: string | null;
}

export interface CertificateList {
  certificates: CertificateView[];
  totalElements: number;
}

export interface CertificateDownload {
  certificateId: string;
  /** Base64 DER, as Ncloud's download returns it. */
  certificate: string;
  certificatePem: string;
}

export interface NotificationSetting {
  recipients: string[];
  leadDays: number[];
}

/** Keycloak's realm keys and the issue's default: 3 years. */
export const DEFAULT_VALIDITY_DAYS = 1095;
/** Lead days used until the tenant sets its own (AWS IAM Identity Center warns from 30 days). */
export const DEFAULT_LEAD_DAYS = [30, 7, 1];

/** Active first (highest activation), then the other; a tenant whose certificates were never activated (a crash between create and activate) treats its lowest slot as active. */
export function orderCertificates<T extends Pick<StoredCertificate, 'activationSeq' | 'slot'>>(certs: readonly T[]): T[] {
  return [...certs].sort((a, b) => (b.activationSeq ?? 0) - (a.activationSeq ?? 0) || a.slot - b.slot);
}

function toView(d: StoredCertificate, active: boolean): CertificateView {
  return {
    certificateId: d.certificateId,
    status: active ? 'ACTIVE' : 'INACTIVE',
    keySize: d.keySize,
    algorithm: d.algorithm,
    subject: d.subject,
    serialNumber: d.serialNumber,
    sha256Fingerprint: d.sha256Fingerprint,
    notBefore: d.notBefore.toISOString(),
    notAfter: d.notAfter.toISOString(),
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    activatedAt: d.activatedAt ? d.activatedAt.toISOString() : null,
  };
}

const notFound = (certificateId: string) => new AppError('NOT_FOUND', `certificate ${certificateId} does not exist`);
const invalidState = (detail: string) => new AppError('BAD_REQUEST', detail, { message: 'InvalidState' });

/** The tenant's certificates, active first (no private keys). */
export async function tenantCertificates(tenantId: string): Promise<StoredCertificate[]> {
  return orderCertificates(await SamlCertificate.find({ tenantId }).lean<StoredCertificate[]>());
}

/** The same with the encrypted private keys, for the signer only. */
export async function tenantCertificatesWithKeys(tenantId: string): Promise<StoredCertificate[]> {
  return orderCertificates(await SamlCertificate.find({ tenantId }).select('+privateKeyEncrypted').lean<StoredCertificate[]>());
}

/**
 * Generates a key pair and certificate and stores it in a free slot: slot 1, else slot 2, else
 * 409 LIMIT_EXCEEDED (the unique slot index decides, so concurrent creates cannot make three).
 * The first certificate of a tenant is activated at once.
 */
export async function issueCertificate(
  tenant: { tenantId: string; accountId: number; tenantAlias: string },
  input: { keySize: CertificateKeySize; validityDays: number; createdAutomatically?: boolean; onlyFirstSlot?: boolean },
  deps: CertificateDeps,
): Promise<StoredCertificate> {
  const { tenantId, accountId } = tenant;
  // Refuse early (no key generation) when both slots are taken; the insert below still decides.
  if ((await SamlCertificate.countDocuments({ tenantId })) >= CERTIFICATE_SLOTS.length) throw limitReached();
  const made = await createSelfSigned({ commonName: `Gatehouse ${tenant.tenantAlias}`, validDays: input.validityDays, rsaModulusLength: input.keySize });
  const parsed = new X509Certificate(made.certificatePem);
  const certificateId = randomUUID();
  const base = {
    tenantId,
    accountId,
    certificateId,
    certificatePem: made.certificatePem,
    privateKeyEncrypted: deps.keyring.encrypt(made.privateKeyPem, privateKeyContext(tenantId, certificateId)),
    keySize: input.keySize,
    algorithm: 'RSA_SHA256',
    subject: parsed.subject,
    serialNumber: parsed.serialNumber,
    sha256Fingerprint: made.sha256Fingerprint,
    notBefore: new Date(parsed.validFrom),
    notAfter: new Date(parsed.validTo),
    createdAutomatically: input.createdAutomatically ?? false,
  };
  let stored: StoredCertificate | undefined;
  // First use (src/saml/keys.ts) takes slot 1 only: concurrent first uses must make one certificate, not two.
  for (const slot of input.onlyFirstSlot ? CERTIFICATE_SLOTS.slice(0, 1) : CERTIFICATE_SLOTS) {
    try {
      stored = (await SamlCertificate.create({ ...base, slot })).toObject() as StoredCertificate;
      break;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
  if (!stored) throw limitReached();
  const others = await SamlCertificate.countDocuments({ tenantId, activationSeq: { $gt: 0 } });
  if (others === 0) stored = (await activate(tenantId, certificateId)) ?? stored;
  await deps.stamps.bump(tenantScope(tenantId));
  return stored;
}

function limitReached(): AppError {
  return new AppError('LIMIT_EXCEEDED', `at most ${CERTIFICATE_SLOTS.length} certificates per tenant (the active one and the next one for a rollover); delete the inactive one first`);
}

/** Draws the tenant's next activation number and gives it to the certificate (one atomic write each). */
async function activate(tenantId: string, certificateId: string): Promise<StoredCertificate | null> {
  const state = await SamlCertificateState.findOneAndUpdate({ tenantId }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
  if (!state) throw new AppError('INTERNAL', 'certificate counter update returned nothing');
  return SamlCertificate.findOneAndUpdate({ tenantId, certificateId }, { $set: { activationSeq: state.seq, activatedAt: new Date() } }, { returnDocument: 'after' }).lean<StoredCertificate>();
}

/** Used by src/saml/keys.ts when a tenant without a certificate first needs one (never-activated certificates get activated there too). */
export async function activateCertificateOf(tenantId: string, certificateId: string): Promise<void> {
  await activate(tenantId, certificateId);
}

export async function listCertificates(accountId: number): Promise<CertificateList> {
  const { tenantId } = await requireTenant(accountId);
  const certs = await tenantCertificates(tenantId);
  const views = certs.map((c, i) => toView(c, i === 0));
  return { certificates: views, totalElements: views.length };
}

async function mustFind(tenantId: string, certificateId: string): Promise<{ cert: StoredCertificate; active: boolean; all: StoredCertificate[] }> {
  const all = await tenantCertificates(tenantId);
  const index = all.findIndex((c) => c.certificateId === certificateId);
  const cert = all[index];
  if (!cert) throw notFound(certificateId);
  return { cert, active: index === 0, all };
}

export async function getCertificate(accountId: number, certificateId: string): Promise<CertificateView> {
  const { tenantId } = await requireTenant(accountId);
  const { cert, active } = await mustFind(tenantId, certificateId);
  return toView(cert, active);
}

export async function createCertificate(accountId: number, input: CreateCertificateInput, deps: CertificateDeps): Promise<CertificateView> {
  const tenant = await requireTenant(accountId);
  const stored = await issueCertificate(tenant, { keySize: input.keySize, validityDays: input.certificateExpireDays }, deps);
  return getCertificate(accountId, stored.certificateId).catch(() => toView(stored, false));
}

export async function downloadCertificate(accountId: number, certificateId: string): Promise<CertificateDownload> {
  const { tenantId } = await requireTenant(accountId);
  const { cert } = await mustFind(tenantId, certificateId);
  return { certificateId, certificate: new X509Certificate(cert.certificatePem).raw.toString('base64'), certificatePem: cert.certificatePem };
}

/** Makes the certificate the one that signs; the previous one stays published as "next" until deleted. */
export async function activateCertificate(accountId: number, certificateId: string, deps: CertificateDeps): Promise<CertificateView> {
  const { tenantId } = await requireTenant(accountId);
  const { active } = await mustFind(tenantId, certificateId);
  if (active) throw invalidState(`certificate ${certificateId} is already active`);
  const after = await activate(tenantId, certificateId);
  if (!after) throw notFound(certificateId);
  await deps.stamps.bump(tenantScope(tenantId));
  return getCertificate(accountId, certificateId);
}

/**
 * Deletes an inactive certificate. The delete is conditional on the activation number read when
 * deciding it was inactive, so an activation of the same certificate that lands in between makes
 * the delete miss (and it is decided again) instead of removing the now-active certificate.
 */
export async function deleteCertificate(accountId: number, certificateId: string, deps: CertificateDeps): Promise<void> {
  const { tenantId } = await requireTenant(accountId);
  for (let attempt = 0; attempt < 3; attempt++) {
    const { cert, active } = await mustFind(tenantId, certificateId);
    if (active) throw invalidState(`certificate ${certificateId} is active: activate the other certificate before deleting this one`);
    const gone = await SamlCertificate.findOneAndDelete({ tenantId, certificateId, activationSeq: cert.activationSeq ?? 0 }).lean();
    if (gone) {
      await deps.stamps.bump(tenantScope(tenantId));
      return;
    }
  }
  throw new AppError('CONFLICT', `certificate ${certificateId} changed while it was being deleted; try again`);
}

export async function getNotificationSetting(accountId: number): Promise<NotificationSetting> {
  const { tenantId } = await requireTenant(accountId);
  const state = await SamlCertificateState.findOne({ tenantId }).lean();
  return readNotificationSetting(state);
}

export function readNotificationSetting(state: { notificationRecipients?: string[]; notificationLeadDays?: number[] } | null | undefined): NotificationSetting {
  const leadDays = state?.notificationLeadDays?.length ? state.notificationLeadDays : DEFAULT_LEAD_DAYS;
  return { recipients: [...(state?.notificationRecipients ?? [])], leadDays: [...leadDays].sort((a, b) => b - a) };
}

/** Replaces the recipients and lead days (PUT semantics: what is sent is the whole setting). */
export async function setNotificationSetting(accountId: number, input: NotificationSettingInput): Promise<NotificationSetting> {
  const { tenantId } = await requireTenant(accountId);
  const state = await SamlCertificateState.findOneAndUpdate(
    { tenantId },
    { $set: { notificationRecipients: input.recipients, notificationLeadDays: input.leadDays } },
    { upsert: true, returnDocument: 'after' },
  ).lean();
  return readNotificationSetting(state);
}

/**
 * Called by the tenant delete once the tenant is gone: its certificates (and their keys), counter,
 * notification setting and notice records go with it. They never block the delete (a tenant that
 * ever signed always has an active certificate, which cannot be deleted on its own).
 */
export async function deleteTenantCertificates(tenantId: string): Promise<void> {
  await Promise.all([SamlCertificate.deleteMany({ tenantId }), SamlCertificateState.deleteMany({ tenantId }), SamlCertificateNotice.deleteMany({ tenantId })]);
}
