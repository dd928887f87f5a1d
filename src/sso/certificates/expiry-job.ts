/**
 * Certificate expiry notices (issue 9 "expiry notifications to configured recipients through the
 * notification transport (N days before; a daily job, idempotent across processes)"; reference
 * §1 "Expiry notifications are set separately…; the lead time and schedule are [NF]").
 *
 * Once a day (and shortly after start), every certificate that expires within the tenant's
 * largest lead day is looked at. For each lead day already reached, a notice record unique per
 * (certificate, lead day) is inserted; only the process whose insert succeeds sends, so any number
 * of processes running the job at once send each notice once. When several lead days are reached
 * at once (the job did not run for a while, or a short-lived certificate), one message is sent, for
 * the nearest one, and the others are recorded as covered by it.
 * Delivery is at most once: a crash between the insert and the send loses that notice (the next
 * lead day still comes), which is preferable to repeating it on every restart.
 */
import type { Logger } from '../../shared/logger.js';
import type { Notifier } from '../../notifications/notifier.js';
import { isDuplicateKeyError } from '../../shared/errors.js';
import { Tenant } from '../tenant/tenant.model.js';
import { runIdpCertificateExpiry } from '../../federation/idp-certificate-expiry.js';
import { SamlCertificate, SamlCertificateNotice, SamlCertificateState, type StoredCertificate } from './certificate.model.js';
import { orderCertificates, readNotificationSetting } from './certificate.service.js';

const DAY_MS = 86_400_000;
export const EXPIRY_JOB_INTERVAL_MS = DAY_MS;
/** The largest lead day a tenant can set (certificate.schemas.ts). */
const MAX_LEAD_DAYS = 365;

export interface ExpiryJobDeps {
  notifier: Notifier;
  logger: Logger;
  /** Where the admin console is, for the message. */
  baseUrl: string;
}

export interface ExpiryJobResult {
  /** Messages sent by this run (one per recipient). */
  sent: number;
  /** Certificates whose notice this run sent. */
  certificates: string[];
}

function noticeKey(certificateId: string, leadDays: number): string {
  return `${certificateId}:${leadDays}`;
}

/** True when this call recorded the notice (and so must send it); false when another run already did. */
async function claim(cert: StoredCertificate, leadDays: number): Promise<boolean> {
  try {
    await SamlCertificateNotice.create({ noticeKey: noticeKey(cert.certificateId, leadDays), tenantId: cert.tenantId, certificateId: cert.certificateId, leadDays });
    return true;
  } catch (err) {
    if (isDuplicateKeyError(err)) return false;
    throw err;
  }
}

/** One pass over every tenant's certificates (the daily job calls it; tests call it with a clock). */
export async function runCertificateExpiryJob(deps: ExpiryJobDeps, now: Date = new Date()): Promise<ExpiryJobResult> {
  const result: ExpiryJobResult = { sent: 0, certificates: [] };
  // Every tenant's certificates expiring within the largest possible lead time: a cross-tenant
  // sweep by design (the job belongs to no tenant), on the notAfter index.
  const expiring = await SamlCertificate.find({ notAfter: { $gt: now, $lte: new Date(now.getTime() + MAX_LEAD_DAYS * DAY_MS) } })
    .setOptions({ unscoped: true })
    .lean<StoredCertificate[]>();
  const byTenant = new Map<string, StoredCertificate[]>();
  for (const c of expiring) byTenant.set(c.tenantId, [...(byTenant.get(c.tenantId) ?? []), c]);

  for (const [tenantId, certs] of byTenant) {
    const state = await SamlCertificateState.findOne({ tenantId }).lean();
    const setting = readNotificationSetting(state);
    if (setting.recipients.length === 0) continue;
    const tenant = await Tenant.findOne({ tenantId }).setOptions({ unscoped: true }).lean();
    if (!tenant) continue;
    const all = orderCertificates(await SamlCertificate.find({ tenantId }).lean<StoredCertificate[]>());
    const activeId = all[0]?.certificateId;
    for (const cert of certs) {
      const daysLeft = (cert.notAfter.getTime() - now.getTime()) / DAY_MS;
      const reached = setting.leadDays.filter((d) => daysLeft <= d).sort((a, b) => a - b);
      if (reached.length === 0) continue;
      // Claim every reached lead day; send only when the nearest one is newly claimed by this run.
      const claims = await Promise.all(reached.map((d) => claim(cert, d)));
      if (!claims[0]) continue;
      const wholeDays = Math.max(0, Math.floor(daysLeft));
      const role = cert.certificateId === activeId ? 'the ACTIVE signing certificate' : 'the inactive (next) signing certificate';
      const subject = `Gatehouse: SAML certificate of tenant ${tenant.tenantAlias} expires in ${wholeDays} day${wholeDays === 1 ? '' : 's'}`;
      const text = [
        `The SAML signing certificate ${cert.certificateId} of Single Sign-On tenant ${tenant.tenantAlias} (${tenantId}) is ${role}.`,
        `It expires on ${cert.notAfter.toISOString()} (subject ${cert.subject}, SHA-256 fingerprint ${cert.sha256Fingerprint}).`,
        '',
        'To roll it over without breaking applications: create a new certificate (it is published in the IdP metadata as the next one),',
        'let service providers refresh the metadata, then activate the new certificate and delete the old one.',
        `Admin API: ${deps.baseUrl}/api/v1/sso/tenant/saml-idp/certificates`,
      ].join('\n');
      for (const to of setting.recipients) {
        await deps.notifier.send({ to, subject, text, kind: 'certificateExpiry', tenantId });
        result.sent += 1;
      }
      await SamlCertificateNotice.updateOne({ noticeKey: noticeKey(cert.certificateId, reached[0]!), tenantId }, { $set: { sentAt: new Date() } });
      result.certificates.push(cert.certificateId);
      deps.logger.info({ tenantId, certificateId: cert.certificateId, leadDays: reached[0], recipients: setting.recipients.length }, 'certificate expiry notice sent');
    }
  }
  // External IdP certificates, to the IdP's own recipients (src/federation/idp-certificate-expiry.ts).
  const idp = await runIdpCertificateExpiry(deps, now);
  result.sent += idp.sent;
  result.certificates.push(...idp.certificates);
  return result;
}

/** Starts the daily job (first run a minute after start); returns how to stop it. */
export function startCertificateExpiryJob(deps: ExpiryJobDeps, intervalMs = EXPIRY_JOB_INTERVAL_MS, firstRunMs = 60_000): { stop: () => void } {
  const run = () => {
    runCertificateExpiryJob(deps).catch((err: unknown) => deps.logger.warn({ err }, 'certificate expiry job failed; it runs again tomorrow'));
  };
  const first = setTimeout(run, firstRunMs);
  const timer = setInterval(run, intervalMs);
  first.unref();
  timer.unref();
  return {
    stop: () => {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
