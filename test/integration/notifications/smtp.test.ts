/**
 * The SMTP transport against a real SMTP peer: Python's stdlib smtpd (with AUTH PLAIN added,
 * smtp-sink.py) started by this test on 127.0.0.1. Covers delivery with authentication, the
 * headers and body that arrive, a reset link sent end to end through the admin API, refused
 * credentials and an unreachable server surfacing as errors (503 from the API, no link left), the
 * transport chosen from the configuration, and start-up logging without credentials.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { createApp } from '../../../src/app.js';
import { PasswordReset } from '../../../src/auth/password-reset.model.js';
import { loadConfig } from '../../../src/config.js';
import { OutboxNotifier } from '../../../src/notifications/notifier.js';
import { notifierFromConfig } from '../../../src/notifications/select.js';
import { describeSmtp, SmtpNotifier, smtpOptions } from '../../../src/notifications/smtp.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { ACCOUNT, rootSigner } from '../../helpers/admin.js';
import { silentLogger, testConfig, testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';

const SINK = path.join(path.dirname(fileURLToPath(import.meta.url)), 'smtp-sink.py');
const USER = 'mailer@example.test';
const PASS = 'p@ss:w/rd with spaces';

interface Received {
  mailfrom: string;
  rcpttos: string[];
  data: string;
  auth: string | null;
}

/** Starts the sink; resolves with its port and a queue of the messages it accepts. */
async function startSink(): Promise<{ port: number; child: ChildProcessWithoutNullStreams; next: () => Promise<Received> }> {
  const child = spawn('python3', ['-W', 'ignore', SINK, USER, PASS], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  const messages: Received[] = [];
  const waiters: Array<(m: Received) => void> = [];
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the SMTP sink exited with ${code}`)));
    lines.on('line', (line) => {
      const m = /^PORT (\d+)$/.exec(line);
      if (m) return resolve(Number(m[1]));
      const msg = JSON.parse(line) as Received;
      const w = waiters.shift();
      if (w) w(msg);
      else messages.push(msg);
    });
  });
  const next = () =>
    new Promise<Received>((resolve, reject) => {
      const m = messages.shift();
      if (m) return resolve(m);
      const timer = setTimeout(() => reject(new Error('no message reached the SMTP sink')), 10_000);
      waiters.push((msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
    });
  return { port, child, next };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('notifications: SMTP transport against a real SMTP peer', function () {
  this.timeout(60_000);
  useTestDatabase('smtp');
  let sink: Awaited<ReturnType<typeof startSink>>;
  let url: string;

  before(async () => {
    sink = await startSink();
    url = `smtp://${encodeURIComponent(USER)}:${encodeURIComponent(PASS)}@127.0.0.1:${sink.port}`;
  });
  after(() => {
    sink?.child.stdin.end();
    sink?.child.kill();
  });

  it('delivers a message with AUTH PLAIN: envelope, From, To, Subject, kind header and the text', async () => {
    const notifier = new SmtpNotifier({ url, from: 'Gatehouse <no-reply@sso.example.test>' });
    await notifier.send({ to: 'user@example.com', subject: 'Your code: 123456', text: 'Line one\n.\nLine three ünïcode', kind: 'otp', tenantId: 't1' });
    const m = await sink.next();
    expect(m.auth).to.equal(USER);
    expect(m.mailfrom).to.equal('no-reply@sso.example.test');
    expect(m.rcpttos).to.deep.equal(['user@example.com']);
    expect(m.data).to.match(/^From: Gatehouse <no-reply@sso\.example\.test>$/m);
    expect(m.data).to.match(/^To: user@example\.com$/m);
    expect(m.data).to.match(/^Subject: Your code: 123456$/m);
    expect(m.data).to.match(/^X-Gatehouse-Kind: otp$/m);
    // A lone "." line is dot-stuffed on the wire (RFC 5321 §4.5.2) and arrives intact.
    expect(m.data).to.include('Line one\n.\nLine three');
    notifier.close();
  });

  it('refused credentials and an unreachable server reject send()', async () => {
    const failure = (p: Promise<void>) => p.then(() => 'sent', (err: unknown) => (err instanceof Error ? err.message : String(err)));
    const wrong = new SmtpNotifier({ url: `smtp://${encodeURIComponent(USER)}:wrong@127.0.0.1:${sink.port}`, from: 'a@b.test' });
    expect(await failure(wrong.send({ to: 'x@example.com', subject: 's', text: 't', kind: 'otp' }))).to.match(/535/);
    const dead = new SmtpNotifier({ url: `smtp://127.0.0.1:${await closedPort()}`, from: 'a@b.test' });
    expect(await failure(dead.send({ to: 'x@example.com', subject: 's', text: 't', kind: 'otp' }))).to.match(/ECONNREFUSED/);
  });

  it('a reset link requested through the admin API arrives by SMTP; a dead server answers 503 and leaves no link', async () => {
    const config = testConfig({ GATEHOUSE_BASE_URL: 'https://sso.example.test', GATEHOUSE_SMTP_URL: url, GATEHOUSE_MAIL_FROM: 'SSO <sso@example.test>' });
    const notifier = notifierFromConfig(config, silentLogger);
    const app = createApp({ config, logger: silentLogger, keyring: testKeyring(), db: { ping: async () => true }, notifier });
    const root = await rootSigner(app);
    const tenantId = randomUUID();
    await Tenant.create({ accountId: ACCOUNT, tenantId, tenantAlias: 'smtp', aliasKey: 'smtp', termsAcceptedAt: new Date() });
    const user = (await root.call('post', '/api/v1/sso/users', { loginId: 'mailme@example.com' }).expect(201)).body as { userId: string };

    await root.call('post', `/api/v1/sso/users/${user.userId}/password-reset`).expect(202);
    const m = await sink.next();
    expect(m.rcpttos).to.deep.equal(['mailme@example.com']);
    expect(m.data).to.match(/^X-Gatehouse-Kind: passwordReset$/m);
    expect(m.data.replace(/=\r?\n/g, '')).to.match(new RegExp(`https://sso\\.example\\.test/tenants/${tenantId}/password/reset\\?token(=3D|=)[A-Za-z0-9_-]{43}`));

    const deadConfig = testConfig({ GATEHOUSE_SMTP_URL: `smtp://127.0.0.1:${await closedPort()}` });
    const deadApp = createApp({ config: deadConfig, logger: silentLogger, keyring: testKeyring(), db: { ping: async () => true }, notifier: notifierFromConfig(deadConfig, silentLogger) });
    const deadRoot = await rootSigner(deadApp);
    await PasswordReset.deleteMany({ tenantId, userId: user.userId });
    await deadRoot.call('post', `/api/v1/sso/users/${user.userId}/password-reset`).expect(503);
    expect(await PasswordReset.countDocuments({ tenantId, userId: user.userId })).to.equal(0);
  });

  it('chooses SMTP when configured and the outbox otherwise, and logs which without credentials', () => {
    const logged: Array<{ obj: unknown; msg: string }> = [];
    const logger = { info: (obj: unknown, msg: string) => void logged.push({ obj, msg }) } as unknown as Parameters<typeof notifierFromConfig>[1];
    const smtp = notifierFromConfig(testConfig({ GATEHOUSE_SMTP_URL: 'smtp://bob:hunter2secret@mail.example.com:587' }), logger);
    expect(smtp.transport).to.equal('smtp');
    expect(notifierFromConfig(testConfig(), logger)).to.be.instanceOf(OutboxNotifier);
    const text = JSON.stringify(logged);
    expect(text).to.include('smtp://mail.example.com:587 (STARTTLS required, authenticated)').and.to.include('outbox');
    expect(text).not.to.include('hunter2secret');
    expect(text).not.to.include('bob');
  });

  it('parses the URL: TLS by scheme, STARTTLS required for credentials off loopback, default ports and sender', () => {
    expect(smtpOptions('smtps://mail.example.com')).to.include({ host: 'mail.example.com', port: 465, secure: true, requireTLS: false });
    expect(smtpOptions('smtp://u:p@mail.example.com')).to.include({ port: 587, secure: false, requireTLS: true });
    expect(smtpOptions('smtp://u:p@mail.example.com?requireTLS=false')).to.include({ requireTLS: false });
    expect(smtpOptions('smtp://u:p@127.0.0.1:2525')).to.include({ port: 2525, requireTLS: false });
    expect(smtpOptions('smtp://mail.example.com:25')).to.include({ requireTLS: false });
    expect(smtpOptions('smtp://a%40b:p%3Aw@mail.example.com').auth).to.deep.equal({ user: 'a@b', pass: 'p:w' });
    expect(describeSmtp('smtp://[::1]:25')).to.equal('smtp://[::1]:25 (STARTTLS when offered)');
    expect(loadConfig({ MONGODB_URI: 'mongodb://x/y', GATEHOUSE_MASTER_KEY: 'a'.repeat(64), GATEHOUSE_BASE_URL: 'https://sso.example.com', GATEHOUSE_SMTP_URL: 'smtp://m.example.com' }).smtp).to.deep.equal({
      url: 'smtp://m.example.com',
      from: 'Gatehouse <no-reply@sso.example.com>',
    });
    let message = '';
    try {
      loadConfig({ GATEHOUSE_SMTP_URL: 'http://user:secretpw@m.example.com' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).to.match(/GATEHOUSE_SMTP_URL must be an smtp/).and.not.to.include('secretpw');
  });
});
