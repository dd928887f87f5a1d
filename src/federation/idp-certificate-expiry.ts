/**
 * Expiry notices for external IdP certificates (seed S4 `Change/manageIdPNotificationSetting`;
 * reference §1 "Expiry notifications are set separately" for SP and IdP certificates). Runs as
 * part of the daily certificate expiry job (src/sso/certificates/expiry-job.ts) with the same
 * rules: for each lead day reached a notice record unique per (certificate, lead day) is inserted
 * first, only the run whose insert succeeds sends (so concurrent runs in several processes send
 * each notice once), and when several lead days are reached at once one message is sent, for the
 * nearest. Recipients and lead days are the IdP record's own setting, never the SP certificates'.
 * An IdP certificate is the IdP's to renew: the message says to add the IdP's new certificate
 * before the old one expires (otherwise federated sign-in stops).
 */
import type { Notifier } from '../notifications/notifier.js';
import type { Logger } from '../shared/logger.js';
import { isDuplicateKeyError } from '../shared/errors.js';
import { SamlCertificateNotice } from '../sso/certificates/certificate.model.js';
import { readNotificationSetting } from '../sso/certificates/certificate.service.js';
import { Tenant } from '../sso/tenant/tenant.model.js';
import { ExternalIdp, type ExternalIdpRecord } from './external-idp.model.js';

const DAY_MS = 86_400_000;
/** The largest lead day a tenant can set (the notification schema's bound). */
const MAX_LEAD_DAYS = 365;
export const IDP_CERTIFICATE_EXPIRY_KIND = 'idpCertificateExpiry';

export interface IdpExpiryDeps {
  notifier: Notifier;
  logger: Logger;
  baseUrl: string;
}

/** Notice keys of IdP certificates are prefixed so they can never meet an SP certificate's. */
function noticeKey(certificateId: string, leadDays: number): string {
  return `idp:${certificateId}:${leadDays}`;
}

async function claim(tenantId: string, certificateId: string, leadDays: number): Promise<boolean> {
  try {
    await SamlCertificateNotice.create({ noticeKey: noticeKey(certificateId, leadDays), tenantId, certificateId, leadDays });
    return true;
  } catch (err) {
    if (isDuplicateKeyError(err)) return false;
    throw err;
  }
}

/** One pass over every tenant's IdP certificates; returns the messages sent and the certificates noticed. */
export async function runIdpCertificateExpiry(deps: IdpExpiryDeps, now: Date): Promise<{ sent: number; certificates: string[] }> {
  const result = { sent: 0, certificates: [] as string[] };
  // A cross-tenant sweep by design (the job belongs to no tenant): IdPs with a certificate
  // expiring within the largest possible lead time.
  const idps = await ExternalIdp.find({ 'idpCertificates.notAfter': { $gt: now, $lte: new Date(now.getTime() + MAX_LEAD_DAYS * DAY_MS) } })
    .setOptions({ unscoped: true })
    .lean<ExternalIdpRecord[]>();
  for (const idp of idps) {
    const setting = readNotificationSetting({ notificationRecipients: idp.notificationRecipients, notificationLeadDays: idp.notificationLeadDays });
    if (setting.recipients.length === 0) continue;
    const tenant = await Tenant.findOne({ tenantId: idp.tenantId }).setOptions({ unscoped: true }).lean();
    if (!tenant) continue;
    for (const cert of idp.idpCertificates) {
      const daysLeft = (cert.notAfter.getTime() - now.getTime()) / DAY_MS;
      if (daysLeft <= 0) continue;
      const reached = setting.leadDays.filter((d) => daysLeft <= d).sort((a, b) => a - b);
      if (reached.length === 0) continue;
      const claims = await Promise.all(reached.map((d) => claim(idp.tenantId, cert.certificateId, d)));
      if (!claims[0]) continue;
      const wholeDays = Math.max(0, Math.floor(daysLeft));
      const subject = `Gatehouse: external IdP certificate of tenant ${tenant.tenantAlias} expires in ${wholeDays} day${wholeDays === 1 ? '' : 's'}`;
      const text = [
        `A signing certificate of the external IdP ${idp.idpIssuerUrl} of Single Sign-On tenant ${tenant.tenantAlias} (${idp.tenantId}) expires on ${cert.notAfter.toISOString()}`,
        `(certificate ${cert.certificateId}, subject ${cert.subject}, SHA-256 fingerprint ${cert.sha256Fingerprint}).`,
        '',
        'Responses signed with it will be refused once it expires, and sign-in through the external IdP stops unless the IdP',
        'signs with another registered certificate. Add the IdP’s new certificate now (at most two are kept), then delete the old one.',
        `Admin API: ${deps.baseUrl}/api/v1/sso/tenant/saml-idp/idp-certificates`,
      ].join('\n');
      for (const to of setting.recipients) {
        await deps.notifier.send({ to, subject, text, kind: IDP_CERTIFICATE_EXPIRY_KIND, tenantId: idp.tenantId });
        result.sent += 1;
      }
      await SamlCertificateNotice.updateOne({ noticeKey: noticeKey(cert.certificateId, reached[0]!), tenantId: idp.tenantId }, { $set: { sentAt: new Date() } });
      result.certificates.push(cert.certificateId);
      deps.logger.info({ tenantId: idp.tenantId, certificateId: cert.certificateId, leadDays: reached[0], recipients: setting.recipients.length }, 'IdP certificate expiry notice sent');
    }
  }
  return result;
}
