/**
 * The tenant's external IdP (reference/ncloud-model.md §1 "External IdP", §2 "A. Console
 * federation"; seed S4 `change/manageExternalIDP` and the IdP-certificate actions). The model is
 * src/federation/external-idp.model.ts; sign-in through it is src/federation's sign-in part.
 *
 * Rules:
 * - One per tenant: the create is a plain insert under the unique `tenantId` index, so two
 *   concurrent creates make one record and one 409 (never check-then-insert).
 * - Every write is one atomic single-document write and moves `revision`; the IdP certificate
 *   add and delete are read-decide-write guarded by the `revision` read (the engine may lack
 *   `$expr`/`$size`), retried a few times on a lost race, so the 1-2 bound holds under
 *   concurrency.
 * - Every write bumps the tenant's change stamp (`tenantScope`), so the sign-in side's cached SP
 *   configuration and the SP metadata drop their copy.
 * - Request signing needs the tenant's active SAML certificate: asking for the tenant's signing
 *   keys creates the first one if the tenant has none (src/saml/keys.ts, as on first IdP use).
 * The tenant always comes from the caller's account (another account sees 404).
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import type { Keyring } from '../db/encryption.js';
import type { ChangeStamps } from '../iam/change-stamps.js';
import { getTenantSigningKeys } from '../saml/keys.js';
import { AppError, isDuplicateKeyError } from '../shared/errors.js';
import { readNotificationSetting, type NotificationSetting } from '../sso/certificates/certificate.service.js';
import type { NotificationSettingInput } from '../sso/certificates/certificate.schemas.js';
import { requireTenant, tenantScope, type TenantRecord } from '../sso/tenant/tenant-context.js';
import { ExternalIdp, MAX_IDP_CERTIFICATES, federationSpUrls, type ExternalIdpRecord, type ExternalIdpStatus } from './external-idp.model.js';
import type { CreateExternalIdpInput, ParsedIdpCertificate, ParseMetadataInput, UpdateExternalIdpInput } from './external-idp.schemas.js';
import { parseIdpMetadata, type ParsedIdpMetadata } from './idp-metadata.js';
import { tenantSpMetadata } from './sp-metadata.js';

export interface ExternalIdpDeps {
  config: Pick<Config, 'baseUrl'>;
  keyring: Keyring;
  stamps: ChangeStamps;
}

export interface IdpCertificateView {
  certificateId: string;
  subject: string;
  sha256Fingerprint: string;
  notBefore: string;
  notAfter: string;
  addedAt: string;
}

export interface IdpCertificateDetail extends IdpCertificateView {
  certificatePem: string;
}

export interface ExternalIdpView {
  providerId: string;
  tenantId: string;
  protocol: string;
  status: ExternalIdpStatus;
  idpIssuerUrl: string;
  idpSigninUrl: string;
  idpSignoutUrl: string | null;
  protocolBinding: string;
  requestSigningEnabled: boolean;
  signRequestAlgorithm: string;
  signResponseAlgorithm: string;
  idpCertificates: IdpCertificateView[];
  revision: number;
  createdAt: string | null;
  updatedAt: string | null;
}

/** One stored IdP certificate as read with lean() (the model's idpCertificates entry). */
interface StoredIdpCertificate {
  certificateId: string;
  certificatePem: string;
  subject: string;
  sha256Fingerprint: string;
  notBefore: Date;
  notAfter: Date;
  addedAt: Date;
}

/** Lost-race retries of the revision-guarded certificate writes. */
const MAX_ATTEMPTS = 5;

function certView(c: StoredIdpCertificate): IdpCertificateView {
  return {
    certificateId: c.certificateId,
    subject: c.subject,
    sha256Fingerprint: c.sha256Fingerprint,
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    addedAt: c.addedAt.toISOString(),
  };
}

export function toExternalIdpView(d: ExternalIdpRecord): ExternalIdpView {
  return {
    providerId: d.providerId,
    tenantId: d.tenantId,
    protocol: d.protocol,
    status: d.status as ExternalIdpStatus,
    idpIssuerUrl: d.idpIssuerUrl,
    idpSigninUrl: d.idpSigninUrl,
    idpSignoutUrl: d.idpSignoutUrl ?? null,
    protocolBinding: d.protocolBinding,
    requestSigningEnabled: d.requestSigningEnabled === true,
    signRequestAlgorithm: d.signRequestAlgorithm ?? 'RSA_SHA256',
    signResponseAlgorithm: d.signResponseAlgorithm ?? 'RSA_SHA256',
    idpCertificates: (d.idpCertificates as StoredIdpCertificate[]).map(certView),
    revision: d.revision ?? 0,
    createdAt: d.createdAt ? d.createdAt.toISOString() : null,
    updatedAt: d.updatedAt ? d.updatedAt.toISOString() : null,
  };
}

const noIdp = () => new AppError('NOT_FOUND', 'this tenant has no external IdP: create one with POST /api/v1/sso/tenant/saml-idp');
const certNotFound = (id: string) => new AppError('NOT_FOUND', `IdP certificate ${id} does not exist`);
const lostRace = () => new AppError('CONFLICT', 'the external IdP changed while this request was applied; try again');

function storedCertificate(c: ParsedIdpCertificate, now: Date): StoredIdpCertificate {
  return { certificateId: randomUUID(), certificatePem: c.certificatePem, subject: c.subject, sha256Fingerprint: c.sha256Fingerprint, notBefore: c.notBefore, notAfter: c.notAfter, addedAt: now };
}

/** The record of the tenant, or null. */
export async function findExternalIdp(tenantId: string): Promise<ExternalIdpRecord | null> {
  return ExternalIdp.findOne({ tenantId }).lean<ExternalIdpRecord>();
}

async function mustFind(tenantId: string): Promise<ExternalIdpRecord> {
  const d = await findExternalIdp(tenantId);
  if (!d) throw noIdp();
  return d;
}

/** Request signing signs with the tenant's active SAML certificate: make sure there is one (first use creates it). */
async function ensureSigningCertificate(tenant: TenantRecord, deps: ExternalIdpDeps): Promise<void> {
  await getTenantSigningKeys(tenant.tenantId, tenant.accountId, deps.keyring, deps.stamps);
}

export async function createExternalIdp(accountId: number, input: CreateExternalIdpInput, deps: ExternalIdpDeps): Promise<ExternalIdpView> {
  const tenant = await requireTenant(accountId);
  if (input.requestSigningEnabled) await ensureSigningCertificate(tenant, deps);
  const now = new Date();
  let created;
  try {
    created = await ExternalIdp.create({
      accountId,
      tenantId: tenant.tenantId,
      providerId: randomUUID(),
      protocol: 'SAML',
      status: input.status,
      idpIssuerUrl: input.idpIssuerUrl,
      idpSigninUrl: input.idpSigninUrl,
      idpSignoutUrl: input.idpSignoutUrl,
      protocolBinding: input.protocolBinding,
      requestSigningEnabled: input.requestSigningEnabled,
      signRequestAlgorithm: input.signRequestAlgorithm,
      signResponseAlgorithm: input.signResponseAlgorithm,
      idpCertificates: input.idpCertificates.map((c) => storedCertificate(c, now)),
      revision: 1,
    });
  } catch (err) {
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', 'this tenant already has an external IdP (one per tenant): change it with PUT /api/v1/sso/tenant/saml-idp');
    throw err;
  }
  await deps.stamps.bump(tenantScope(tenant.tenantId));
  return toExternalIdpView(created.toObject() as ExternalIdpRecord);
}

export async function getExternalIdp(accountId: number): Promise<ExternalIdpView> {
  const { tenantId } = await requireTenant(accountId);
  return toExternalIdpView(await mustFind(tenantId));
}

async function setFields(tenantId: string, fields: Record<string, unknown>, deps: ExternalIdpDeps): Promise<ExternalIdpView> {
  const after = await ExternalIdp.findOneAndUpdate({ tenantId }, { $set: fields, $inc: { revision: 1 } }, { returnDocument: 'after' }).lean<ExternalIdpRecord>();
  if (!after) throw noIdp();
  await deps.stamps.bump(tenantScope(tenantId));
  return toExternalIdpView(after);
}

/** PUT: replaces every editable setting (what is omitted takes its default). */
export async function updateExternalIdp(accountId: number, input: UpdateExternalIdpInput, deps: ExternalIdpDeps): Promise<ExternalIdpView> {
  const tenant = await requireTenant(accountId);
  // 404 before creating a signing certificate for a tenant that has no IdP.
  await mustFind(tenant.tenantId);
  if (input.requestSigningEnabled) await ensureSigningCertificate(tenant, deps);
  return setFields(tenant.tenantId, { ...input }, deps);
}

export async function setExternalIdpStatus(accountId: number, status: ExternalIdpStatus, deps: ExternalIdpDeps): Promise<ExternalIdpView> {
  const { tenantId } = await requireTenant(accountId);
  return setFields(tenantId, { status }, deps);
}

export async function deleteExternalIdp(accountId: number, deps: ExternalIdpDeps): Promise<void> {
  const { tenantId } = await requireTenant(accountId);
  const gone = await ExternalIdp.findOneAndDelete({ tenantId }).lean();
  if (!gone) throw noIdp();
  await deps.stamps.bump(tenantScope(tenantId));
}

/** Parses IdP metadata into create fields; stores nothing (the tenant must exist, as for every route here). */
export async function parseMetadata(accountId: number, input: ParseMetadataInput): Promise<ParsedIdpMetadata> {
  await requireTenant(accountId);
  return parseIdpMetadata(input.metadataXml, input.protocolBinding ? { binding: input.protocolBinding } : {});
}

export async function getSpData(accountId: number, deps: Pick<ExternalIdpDeps, 'config'>): Promise<ReturnType<typeof federationSpUrls>> {
  const { tenantId } = await requireTenant(accountId);
  return federationSpUrls(deps.config.baseUrl, tenantId);
}

export async function getSpMetadata(accountId: number, deps: ExternalIdpDeps): Promise<string> {
  const tenant = await requireTenant(accountId);
  return tenantSpMetadata(tenant, deps);
}

export async function listIdpCertificates(accountId: number): Promise<{ idpCertificates: IdpCertificateView[]; totalElements: number }> {
  const { tenantId } = await requireTenant(accountId);
  const d = await mustFind(tenantId);
  return { idpCertificates: (d.idpCertificates as StoredIdpCertificate[]).map(certView), totalElements: d.idpCertificates.length };
}

export async function getIdpCertificate(accountId: number, certificateId: string): Promise<IdpCertificateDetail> {
  const { tenantId } = await requireTenant(accountId);
  const d = await mustFind(tenantId);
  const c = (d.idpCertificates as StoredIdpCertificate[]).find((x) => x.certificateId === certificateId);
  if (!c) throw certNotFound(certificateId);
  return { ...certView(c), certificatePem: c.certificatePem };
}

/**
 * Replaces the certificate list in one write conditional on the revision read; `decide` sees the
 * current list and returns the new one (or throws). Retried when another write got in between.
 */
async function rewriteCertificates(tenantId: string, decide: (current: StoredIdpCertificate[]) => StoredIdpCertificate[], deps: ExternalIdpDeps): Promise<ExternalIdpRecord> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const d = await mustFind(tenantId);
    const next = decide(d.idpCertificates as StoredIdpCertificate[]);
    const after = await ExternalIdp.findOneAndUpdate(
      { tenantId, revision: d.revision ?? 0 },
      { $set: { idpCertificates: next }, $inc: { revision: 1 } },
      { returnDocument: 'after' },
    ).lean<ExternalIdpRecord>();
    if (after) {
      await deps.stamps.bump(tenantScope(tenantId));
      return after;
    }
  }
  throw lostRace();
}

export async function addIdpCertificate(accountId: number, cert: ParsedIdpCertificate, deps: ExternalIdpDeps): Promise<IdpCertificateDetail> {
  const { tenantId } = await requireTenant(accountId);
  const stored = storedCertificate(cert, new Date());
  await rewriteCertificates(
    tenantId,
    (current) => {
      if (current.some((c) => c.sha256Fingerprint === cert.sha256Fingerprint)) throw new AppError('CONFLICT', `this certificate (SHA-256 ${cert.sha256Fingerprint}) is already registered`);
      if (current.length >= MAX_IDP_CERTIFICATES) {
        throw new AppError('LIMIT_EXCEEDED', `at most ${MAX_IDP_CERTIFICATES} IdP certificates (the current one and the next one during the IdP's rollover); delete one first`);
      }
      return [...current, stored];
    },
    deps,
  );
  return { ...certView(stored), certificatePem: stored.certificatePem };
}

export async function deleteIdpCertificate(accountId: number, certificateId: string, deps: ExternalIdpDeps): Promise<void> {
  const { tenantId } = await requireTenant(accountId);
  await rewriteCertificates(
    tenantId,
    (current) => {
      if (!current.some((c) => c.certificateId === certificateId)) throw certNotFound(certificateId);
      if (current.length <= 1) {
        throw new AppError('BAD_REQUEST', 'the last IdP certificate cannot be deleted: responses could no longer be verified; add the new one first', { message: 'InvalidState' });
      }
      return current.filter((c) => c.certificateId !== certificateId);
    },
    deps,
  );
}

export async function getIdpNotificationSetting(accountId: number): Promise<NotificationSetting> {
  const { tenantId } = await requireTenant(accountId);
  const d = await mustFind(tenantId);
  return readNotificationSetting({ notificationRecipients: d.notificationRecipients, notificationLeadDays: d.notificationLeadDays });
}

export async function setIdpNotificationSetting(accountId: number, input: NotificationSettingInput, deps: ExternalIdpDeps): Promise<NotificationSetting> {
  const { tenantId } = await requireTenant(accountId);
  const after = await ExternalIdp.findOneAndUpdate(
    { tenantId },
    { $set: { notificationRecipients: input.recipients, notificationLeadDays: input.leadDays }, $inc: { revision: 1 } },
    { returnDocument: 'after' },
  ).lean<ExternalIdpRecord>();
  if (!after) throw noIdp();
  await deps.stamps.bump(tenantScope(tenantId));
  return readNotificationSetting({ notificationRecipients: after.notificationRecipients, notificationLeadDays: after.notificationLeadDays });
}

/** Called by the tenant delete once the tenant is gone (never blocks it). */
export async function deleteTenantExternalIdp(tenantId: string): Promise<void> {
  await ExternalIdp.deleteMany({ tenantId });
}
