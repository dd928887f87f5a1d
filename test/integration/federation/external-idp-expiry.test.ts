/**
 * External IdP certificate expiry notices (src/federation/idp-certificate-expiry.ts, run by the
 * daily certificate job) against the real engine: sent to the IdP's own recipients when a lead day
 * is reached, once per certificate and lead day even for two concurrent runs, again at the next
 * lead day; the SP certificates' recipients hear nothing of it.
 */
import { expect } from 'chai';
import { IDP_CERTIFICATE_EXPIRY_KIND } from '../../../src/federation/idp-certificate-expiry.js';
import { OutboxNotifier, readOutbox } from '../../../src/notifications/notifier.js';
import { createSelfSigned } from '../../../src/shared/x509.js';
import { runCertificateExpiryJob } from '../../../src/sso/certificates/expiry-job.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { silentLogger, testApp } from '../../helpers/app.js';
import { rootSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const B = `${SSO_API_PREFIX}/tenant/saml-idp`;
const DAY = 86_400_000;

describe('External IdP certificate expiry notices', function () {
  this.timeout(120_000);
  useTestDatabase('idpexpiry');
  const app = testApp({ db: { ping: async () => true } });
  const deps = { notifier: new OutboxNotifier(), logger: silentLogger, baseUrl: 'https://sso.example.com' };
  let root: Signer;
  let notAfter: Date;

  before(async () => {
    root = await rootSigner(app);
    await root.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201);
    const soon = await createSelfSigned({ commonName: 'idp-soon', validDays: 40 });
    const later = await createSelfSigned({ commonName: 'idp-later', validDays: 3000 });
    const created = await root
      .call('post', B, { idpIssuerUrl: 'https://idp.example.com', idpSigninUrl: 'https://idp.example.com/sso', idpCertificates: [soon.certificatePem, later.certificatePem] })
      .expect(201);
    notAfter = new Date((created.body.idpCertificates as { subject: string; notAfter: string }[]).find((c) => c.subject === 'CN=idp-soon')!.notAfter);
    // The SP certificates' recipients are a separate setting and must hear nothing of the IdP's.
    await root.call('put', `${B}/certificates/notification`, { recipients: ['sp-ops@example.com'] }).expect(200);
  });

  const at = (daysBeforeExpiry: number) => new Date(notAfter.getTime() - daysBeforeExpiry * DAY);
  const count = async (to: string) => (await readOutbox(to, IDP_CERTIFICATE_EXPIRY_KIND)).length;

  it('sends nothing without recipients, then nothing before the first lead day', async () => {
    expect((await runCertificateExpiryJob(deps, at(2))).sent).to.equal(0);
    await root.call('put', `${B}/idp-certificates/notification`, { recipients: ['idp-ops@example.com', 'sec@example.com'], leadDays: [14, 3] }).expect(200);
    expect((await runCertificateExpiryJob(deps, at(20))).sent).to.equal(0);
  });

  it('notifies each IdP recipient once at a lead day, even for two concurrent runs, and again at the next lead day', async () => {
    const [a, b] = await Promise.all([runCertificateExpiryJob(deps, at(10)), runCertificateExpiryJob(deps, at(10))]);
    expect(a.sent + b.sent).to.equal(2);
    expect(await count('idp-ops@example.com')).to.equal(1);
    expect(await count('sec@example.com')).to.equal(1);
    const [msg] = await readOutbox('idp-ops@example.com', IDP_CERTIFICATE_EXPIRY_KIND);
    expect(msg?.subject).to.match(/external IdP certificate .* expires in 10 days/);
    expect(msg?.text).to.contain('CN=idp-soon').and.contain('https://idp.example.com');
    expect((await runCertificateExpiryJob(deps, at(9))).sent, 'the same lead day is not repeated').to.equal(0);
    expect((await runCertificateExpiryJob(deps, at(2))).sent).to.equal(2);
    expect(await count('idp-ops@example.com')).to.equal(2);
    expect((await readOutbox('sp-ops@example.com')).length).to.equal(0);
  });
});
