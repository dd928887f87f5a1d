/**
 * Certificate expiry notices (src/sso/certificates/expiry-job.ts) against the real engine: sent
 * through the notifier (the MongoDB outbox) to the configured recipients when a lead day is
 * reached, once per certificate and lead day even when the job runs twice at the same time (two
 * processes), again at the next lead day, never without recipients. Also: the app installs the
 * real schema validator at boot (security-bar §1), checked in a fresh process.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { OutboxMessage } from '../../../src/notifications/outbox.model.js';
import { OutboxNotifier, readOutbox } from '../../../src/notifications/notifier.js';
import { runCertificateExpiryJob } from '../../../src/sso/certificates/expiry-job.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { silentLogger, testApp } from '../../helpers/app.js';
import { ACCOUNT, rootSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const CERTS = `${SSO_API_PREFIX}/tenant/saml-idp/certificates`;
const DAY = 86_400_000;

describe('SAML certificate expiry notices', function () {
  this.timeout(120_000);
  useTestDatabase('samlexpiry');
  const app = testApp({ db: { ping: async () => true } });
  const deps = { notifier: new OutboxNotifier(), logger: silentLogger, baseUrl: 'https://sso.example.com' };
  let root: Signer;
  let certificateId: string;
  let notAfter: Date;

  before(async () => {
    root = await rootSigner(app);
    await root.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201);
    const cert = (await root.call('post', CERTS, { certificateExpireDays: 40 }).expect(201)).body;
    certificateId = cert.certificateId;
    notAfter = new Date(cert.notAfter);
    // A second tenant whose certificate is far from expiry and whose recipients must hear nothing.
    const other = await rootSigner(app, ACCOUNT + 3);
    await other.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201);
    await other.call('post', CERTS, { certificateExpireDays: 3650 }).expect(201);
    await other.call('put', `${CERTS}/notification`, { recipients: ['far@example.com'] }).expect(200);
  });

  const at = (daysBeforeExpiry: number) => new Date(notAfter.getTime() - daysBeforeExpiry * DAY);
  const count = async (to: string) => (await readOutbox(to, 'certificateExpiry')).length;

  it('sends nothing while no recipients are set, even when a lead day is reached', async () => {
    const r = await runCertificateExpiryJob(deps, at(25));
    expect(r.sent).to.equal(0);
    expect(await OutboxMessage.countDocuments({ kind: 'certificateExpiry' })).to.equal(0);
  });

  it('sends nothing before the first lead day', async () => {
    await root.call('put', `${CERTS}/notification`, { recipients: ['ops@example.com', 'sec@example.com'], leadDays: [14, 3] }).expect(200);
    expect((await runCertificateExpiryJob(deps, at(20))).sent).to.equal(0);
  });

  it('sends one notice per recipient when a lead day is reached, once even when two runs race', async () => {
    const [a, b] = await Promise.all([runCertificateExpiryJob(deps, at(13.5)), runCertificateExpiryJob(deps, at(13.5))]);
    expect(a.sent + b.sent, 'two concurrent runs send each notice once').to.equal(2);
    expect(await count('ops@example.com')).to.equal(1);
    expect(await count('sec@example.com')).to.equal(1);
    const [message] = await readOutbox('ops@example.com', 'certificateExpiry');
    expect(message?.subject).to.match(/expires in 13 days/);
    expect(message?.text).to.contain(certificateId).and.contain('ACTIVE').and.not.match(/PRIVATE KEY/);
    // The next day's run, same lead day: nothing new.
    expect((await runCertificateExpiryJob(deps, at(12.5))).sent).to.equal(0);
  });

  it('sends again at the next lead day, and never to another tenant’s recipients', async () => {
    const r = await runCertificateExpiryJob(deps, at(2.5));
    expect(r.sent).to.equal(2);
    expect(r.certificates).to.deep.equal([certificateId]);
    expect(await count('ops@example.com')).to.equal(2);
    expect((await runCertificateExpiryJob(deps, at(1))).sent).to.equal(0);
    expect(await count('far@example.com')).to.equal(0);
  });

  it('sends nothing for a certificate that has already expired', async () => {
    expect((await runCertificateExpiryJob(deps, new Date(notAfter.getTime() + DAY))).sent).to.equal(0);
  });

  it('the app installs the real schema validator for samlify at boot (a fresh process, no test setup)', async () => {
    // A module file outside the tree (xmllint's worker threads inherit the parent's flags, so no
    // `--input-type`/`-e`), importing the project by absolute URL.
    const at = (p: string) => JSON.stringify(pathToFileURL(path.resolve(p)).href);
    const script = [
      `import * as samlify from ${at('node_modules/samlify/build/index.js')};`,
      `import { createApp } from ${at('src/app.ts')};`,
      `import { Keyring } from ${at('src/db/encryption.ts')};`,
      `import { loadConfig } from ${at('src/config.ts')};`,
      `import { pino } from ${at('node_modules/pino/pino.js')};`,
      "createApp({ config: loadConfig({ NODE_ENV: 'test', MONGODB_URI: 'mongodb://127.0.0.1:1/x', GATEHOUSE_MASTER_KEY: '00'.repeat(32) }), logger: pino({ level: 'silent' }), db: undefined, keyring: new Keyring(Buffer.alloc(32)) });",
      "const bad = '<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ID=\"_1\" IssueInstant=\"2026-01-01T00:00:00Z\"/>';",
      "const good = bad.replace('ID=', 'Version=\"2.0\" ID=');",
      // Node's own ESM loader names only some of samlify's CommonJS exports; SamlLib is on the default export.
      'const lib = samlify.default.SamlLib;',
      'await lib.isValidXml(good);',
      "const verdict = await lib.isValidXml(bad).then(() => 'accepted', () => 'rejected');",
      'console.log(`invalid:${verdict}`);',
      'process.exit(0);',
    ].join('\n');
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-boot-'));
    const file = path.join(dir, 'boot.mts');
    writeFileSync(file, script);
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', file], { cwd: process.cwd(), timeout: 60_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    }).finally(() => rmSync(dir, { recursive: true, force: true }));
    expect(out).to.contain('invalid:rejected');
  });
});
