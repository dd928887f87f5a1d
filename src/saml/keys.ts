/**
 * The key material a tenant signs SAML messages with (issue 9 "IdP signing certificates"):
 * the active certificate and its decrypted private key, and the next certificate during a
 * rollover (published in metadata, never used to sign). Certificates are managed through
 * src/sso/certificates; a tenant without one gets a first RSA-2048 certificate valid for three
 * years on first use, as Keycloak creates a realm's keys when the realm first needs them.
 *
 * Hot path (ARCHITECTURE.md "Storage"): the result is cached per process and per tenant, tagged
 * with the tenant's change stamp (`tenant:{tenantId}`); every certificate change bumps it, so a
 * process sees its own changes at once and other processes' within one stamp poll.
 */
import type { Keyring } from '../db/encryption.js';
import type { ChangeStamps } from '../iam/change-stamps.js';
import { AppError, isDuplicateKeyError } from '../shared/errors.js';
import { SamlCertificate, privateKeyContext, type StoredCertificate } from '../sso/certificates/certificate.model.js';
import { activateCertificateOf, issueCertificate, tenantCertificatesWithKeys } from '../sso/certificates/certificate.service.js';
import { tenantScope } from '../sso/tenant/tenant-context.js';
import { Tenant } from '../sso/tenant/tenant.model.js';

export interface TenantSigningKeys {
  current: { certificateId: string; certPem: string; privateKeyPem: string };
  next?: { certificateId: string; certPem: string };
}

/** First certificate made on first use: RSA-2048, three years (the issue's contract). */
const FIRST_CERTIFICATE = { keySize: 2048, validityDays: 3 * 365 } as const;
const CACHE_LIMIT = 1000;

const cache = new Map<string, { stamp: number; keys: TenantSigningKeys }>();

/**
 * The tenant's signing keys. `stamps` enables the per-process cache (pass `deps.stamps`); without
 * it every call reads the database (tests, one-off tools).
 */
export async function getTenantSigningKeys(tenantId: string, accountId: number, keyring: Keyring, stamps?: ChangeStamps): Promise<TenantSigningKeys> {
  const scope = tenantScope(tenantId);
  // The stamp is read before the certificates: a change that lands during the read leaves an
  // older stamp on the entry, so the next call reads again.
  const stamp = stamps ? await stamps.current(scope) : undefined;
  const hit = cache.get(tenantId);
  if (stamp !== undefined && hit && hit.stamp === stamp) return hit.keys;

  let certs = await tenantCertificatesWithKeys(tenantId);
  if (certs.length === 0) {
    await createFirstCertificate(tenantId, accountId, keyring, stamps);
    certs = await tenantCertificatesWithKeys(tenantId);
  }
  const [current, next] = certs;
  if (!current) throw new AppError('INTERNAL', `tenant ${tenantId} has no SAML signing certificate`);
  // A certificate stored but never activated (a crash between the two writes) signs as the
  // lowest slot; make that explicit so every process agrees from now on.
  if (!current.activationSeq) await activateCertificateOf(tenantId, current.certificateId);
  const keys = toKeys(tenantId, current, next, keyring);
  if (stamp !== undefined) {
    if (cache.size >= CACHE_LIMIT && !cache.has(tenantId)) cache.delete(cache.keys().next().value as string);
    cache.set(tenantId, { stamp, keys });
  }
  return keys;
}

function toKeys(tenantId: string, current: StoredCertificate, next: StoredCertificate | undefined, keyring: Keyring): TenantSigningKeys {
  const privateKeyPem = keyring.decrypt(current.privateKeyEncrypted, privateKeyContext(tenantId, current.certificateId));
  const keys: TenantSigningKeys = { current: { certificateId: current.certificateId, certPem: current.certificatePem, privateKeyPem } };
  if (next) keys.next = { certificateId: next.certificateId, certPem: next.certificatePem };
  return keys;
}

async function createFirstCertificate(tenantId: string, accountId: number, keyring: Keyring, stamps: ChangeStamps | undefined): Promise<void> {
  const tenant = await Tenant.findOne({ tenantId, accountId }).lean();
  if (!tenant) throw new AppError('NOT_FOUND', `tenant ${tenantId} does not exist`);
  // Concurrent first uses (two processes, two requests) race for slot 1: one inserts, the others
  // find the slot taken (or both slots taken: LIMIT_EXCEEDED) and read what the winner stored.
  const bump = stamps ?? { bump: async () => undefined };
  try {
    await issueCertificate(
      { tenantId, accountId, tenantAlias: tenant.tenantAlias },
      { ...FIRST_CERTIFICATE, createdAutomatically: true, onlyFirstSlot: true },
      { keyring, stamps: bump as ChangeStamps },
    );
  } catch (err) {
    if (isDuplicateKeyError(err) || (err instanceof AppError && err.code === 'LIMIT_EXCEEDED')) return;
    if ((await SamlCertificate.countDocuments({ tenantId })) > 0) return;
    throw err;
  }
}

/** Drops this process's cached keys (tests; a stamp bump does the same across processes). */
export function forgetTenantSigningKeys(tenantId?: string): void {
  if (tenantId) cache.delete(tenantId);
  else cache.clear();
}
