/**
 * Admin-set passwords and admin-initiated reset links against the real engine (issue 7 "Local
 * credentials"; security-bar §4, §6 items 33, 34, 40, 46): the tenant's password policy on create
 * and bulk create (400 on the field, nothing written), argon2id over NFKC; the reset action (202,
 * no token in the answer, the link in the outbox, nothing moved until used); the reset page
 * (no-store, no referrer, no framing, 303 on success), its one-time, one-hour, bound-to-the-user
 * token (parallel uses → one winner), sessions ended and the generation moved on success, and the
 * token absent from every log line.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { verifyUserPassword } from '../../../src/auth/password-policy.js';
import { PasswordReset } from '../../../src/auth/password-reset.model.js';
import { hashToken } from '../../../src/shared/tokens.js';
import { createSsoSession, findSsoSession } from '../../../src/auth/sso-session.js';
import { readOutbox, type Notifier } from '../../../src/notifications/notifier.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { quotaUsed } from '../../../src/shared/quota.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { SsoUser, ssoUserQuotaKey } from '../../../src/sso/users/user.model.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { testConfig, testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/sso';
const OTHER_ACCOUNT = 2000071;
const STRONG = 'violet lantern across the quiet harbour';

type ErrorBody = { error: { errorCode: string; fieldErrors: { field: string; message: string }[] } };

async function seedTenant(accountId: number): Promise<string> {
  const tenantId = randomUUID();
  const alias = `pw${accountId}`;
  await Tenant.create({ accountId, tenantId, tenantAlias: alias, aliasKey: alias, termsAcceptedAt: new Date() });
  return tenantId;
}

/** Every log line the app writes, to prove the reset token never appears in one. */
const logLines: string[] = [];
const logger = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  }),
);

describe('passwords: admin-set initial passwords and one-time reset links', function () {
  this.timeout(60_000);
  useTestDatabase('pwreset');
  const config = testConfig({ GATEHOUSE_BASE_URL: 'https://sso.example.test' });
  const app = createApp({ config, logger, keyring: testKeyring(), db: { ping: async () => true } });
  let root: Signer;
  let tenantId: string;
  let otherTenantId: string;

  before(async () => {
    root = await rootSigner(app);
    tenantId = await seedTenant(ACCOUNT);
    await rootSigner(app, OTHER_ACCOUNT);
    otherTenantId = await seedTenant(OTHER_ACCOUNT);
  });

  const stored = (userId: string) => SsoUser.findOne({ tenantId, userId }).select('+passwordHash').lean();
  const createUser = async (loginId: string, extra: Record<string, unknown> = {}) =>
    (await root.call('post', `${BASE}/users`, { loginId, ...extra }).expect(201)).body as { userId: string; nrn: string };
  const session = (userId: string, credentialGeneration: number) =>
    createSsoSession({ accountId: ACCOUNT, tenantId, userId, credentialGeneration, amr: ['pwd'], acr: 'pwd', idleTimeoutSec: 3600, clientIp: '127.0.0.1' });

  /** Issues a reset link through the admin API and returns its token, read from the outbox. */
  async function issueLink(userId: string, to: string): Promise<string> {
    const res = await root.call('post', `${BASE}/users/${userId}/password-reset`).expect(202);
    expect(Object.keys(res.body).sort()).to.deep.equal(['expiresAt', 'userId']);
    const [mail] = await readOutbox(to, 'passwordReset');
    const m = /\/tenants\/([0-9a-f-]+)\/password\/reset\?token=([A-Za-z0-9_-]{43})$/m.exec(mail?.text ?? '');
    expect(m, mail?.text).to.not.equal(null);
    expect(m![1]).to.equal(tenantId);
    expect(JSON.stringify(res.body)).not.to.include(m![2]);
    return m![2]!;
  }

  const postReset = (token: string, newPassword: string, confirmPassword = newPassword) =>
    request(app).post(`/tenants/${tenantId}/password/reset`).type('form').send({ token, newPassword, confirmPassword });

  describe('initial password on create', () => {
    it('refuses a password the policy rejects with 400 on body.password and creates nothing', async () => {
      const before = { users: await SsoUser.countDocuments({ tenantId }), quota: await quotaUsed(ssoUserQuotaKey(tenantId)) };
      for (const [password, why] of [
        ['qwerty123456', /common/],
        ['Password123456!', /common/],
        ['abcdefghijklmnop', /repeated or sequential/],
        ['the weak.robot secret phrase', /login id/],
        ['Marguerite forever and ever', /login id, e-mail, name/],
      ] as const) {
        const res = await root
          .call('post', `${BASE}/users`, { loginId: 'weak.robot@example.com', userProfile: { firstName: 'Marguerite' }, password })
          .expect(400);
        const body = res.body as ErrorBody;
        expect(body.error.errorCode).to.equal('VALIDATION_FAILED');
        expect(body.error.fieldErrors).to.have.length(1);
        expect(body.error.fieldErrors[0]!.field).to.equal('body.password');
        expect(body.error.fieldErrors[0]!.message, password).to.match(why);
        expect(JSON.stringify(body)).not.to.include(password);
      }
      expect(await SsoUser.countDocuments({ tenantId })).to.equal(before.users);
      expect(await quotaUsed(ssoUserQuotaKey(tenantId))).to.equal(before.quota);
    });

    it("applies the tenant's passwordMinLength and the 256-character maximum in code points", async () => {
      await Tenant.updateOne({ accountId: ACCOUNT, tenantId }, { $set: { 'loginSettings.passwordMinLength': 20 } });
      try {
        const res = await root.call('post', `${BASE}/users`, { loginId: 'len@example.com', password: 'nineteen chars ok!!' }).expect(400);
        expect((res.body as ErrorBody).error.fieldErrors[0]).to.deep.include({ field: 'body.password', message: 'must be at least 20 characters' });
      } finally {
        await Tenant.updateOne({ accountId: ACCOUNT, tenantId }, { $set: { 'loginSettings.passwordMinLength': 12 } });
      }
      // 256 emoji are 512 UTF-16 units but 256 characters: accepted; 257 are not.
      const emoji = Array.from({ length: 256 }, (_, i) => String.fromCodePoint(0x1f400 + (i % 60))).join('');
      await createUser('emoji@example.com', { password: emoji });
      const res = await root.call('post', `${BASE}/users`, { loginId: 'emoji2@example.com', password: `${emoji}🐉` }).expect(400);
      expect((res.body as ErrorBody).error.fieldErrors[0]!.message).to.equal('must be at most 256 characters');
      expect(await SsoUser.countDocuments({ tenantId, loginIdKey: 'emoji2@example.com' })).to.equal(0);
    });

    it('stores argon2id (OWASP parameters) over the NFKC form, needPasswordReset true by default, never echoed', async () => {
      const res = await root.call('post', `${BASE}/users`, { loginId: 'nfkc@example.com', password: 'ｆｕｌｌｗｉｄｔｈ harbour lights' }).expect(201);
      expect(res.body).to.include({ passwordSet: true, needPasswordReset: true });
      expect(JSON.stringify(res.body)).not.to.match(/argon2|passwordHash|harbour/);
      const user = await stored(res.body.userId as string);
      expect(user?.passwordHash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await verifyUserPassword(user!.passwordHash!, 'fullwidth harbour lights')).to.equal(true);
      const kept = await createUser('kept@example.com', { password: STRONG, needPasswordReset: false });
      expect((await stored(kept.userId))?.needPasswordReset).to.equal(false);
    });

    it('bulk create refuses only the weak row, with its own field error, and creates the others', async () => {
      const res = await root
        .call('post', `${BASE}/users/bulk`, {
          users: [
            { loginId: 'bulk-ok@example.com', password: STRONG },
            { loginId: 'bulk-weak@example.com', password: 'iloveyou1234' },
            { loginId: 'bulk-nopw@example.com' },
          ],
        })
        .expect(200);
      expect(res.body).to.include({ succeeded: 2, failed: 1 });
      const weak = res.body.results[1];
      expect(weak.error.errorCode).to.equal('VALIDATION_FAILED');
      expect(weak.error.fieldErrors).to.deep.equal([{ field: 'body.users.1.password', message: 'is a commonly used or breached password' }]);
      expect(await SsoUser.countDocuments({ tenantId, loginIdKey: 'bulk-weak@example.com' })).to.equal(0);
      const ok = await SsoUser.findOne({ tenantId, loginIdKey: 'bulk-ok@example.com' }).select('+passwordHash').lean();
      expect(await verifyUserPassword(ok!.passwordHash!, STRONG)).to.equal(true);
    });
  });

  describe('admin-initiated reset link', () => {
    it('answers 202 without the token, mails a one-hour link, stores only its hash, moves nothing and audits updateUser', async () => {
      const user = await createUser('reset1@example.com', { password: STRONG, userProfile: { email: 'reset1.mail@example.com' } });
      const before = await stored(user.userId);
      const live = await session(user.userId, before!.credentialGeneration);
      const token = await issueLink(user.userId, 'reset1.mail@example.com');

      const record = await PasswordReset.findOne({ tenantId, userId: user.userId }).lean();
      expect(record?.tokenHash).to.equal(hashToken(token));
      expect(JSON.stringify(record)).not.to.include(token);
      const ttl = record!.expiresAt.getTime() - record!.createdAt.getTime();
      expect(ttl).to.be.within(3599_000, 3601_000);

      const after = await stored(user.userId);
      expect(after?.passwordHash).to.equal(before?.passwordHash);
      expect(after?.credentialGeneration).to.equal(before?.credentialGeneration);
      expect(await findSsoSession(tenantId, live.token)).to.not.equal(null);

      const audit = await HistoryEvent.find({ accountId: ACCOUNT, action: 'SSO:change/updateUser', nrn: user.nrn }).lean();
      expect(audit.map((e) => e.result)).to.deep.equal(['success']);
    });

    it('sends to the login id when the profile has no e-mail; 404 for an unknown user; a newer link replaces the older', async () => {
      const user = await createUser('noprofile@example.com');
      const first = await issueLink(user.userId, 'noprofile@example.com');
      const second = await issueLink(user.userId, 'noprofile@example.com');
      expect(second).to.not.equal(first);
      await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token: first }).expect(400);
      await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token: second }).expect(200);
      const res = await root.call('post', `${BASE}/users/${randomUUID()}/password-reset`).expect(404);
      expect((res.body as ErrorBody).error.errorCode).to.equal('NOT_FOUND');
    });

    it('two admins issuing at once leave one pending link, and only its token works', async () => {
      const user = await createUser('twice@example.com');
      await Promise.all([
        root.call('post', `${BASE}/users/${user.userId}/password-reset`).expect(202),
        root.call('post', `${BASE}/users/${user.userId}/password-reset`).expect(202),
      ]);
      expect(await PasswordReset.countDocuments({ tenantId, userId: user.userId })).to.equal(1);
      const tokens = (await readOutbox('twice@example.com', 'passwordReset')).map((m) => /token=([A-Za-z0-9_-]{43})/.exec(m.text)![1]!);
      expect(tokens).to.have.length(2);
      const statuses = await Promise.all(tokens.map(async (token) => (await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token })).status));
      expect(statuses.sort()).to.deep.equal([200, 400]);
    });

    it('is gated by SSO:change/updateUser: a caller without it gets 403 and no message is sent', async () => {
      const user = await createUser('gated@example.com');
      const viewer = await subAccountSigner(app, [allow(['View*'], 'SSO')]);
      await viewer.call('post', `${BASE}/users/${user.userId}/password-reset`).expect(403);
      expect(await readOutbox('gated@example.com', 'passwordReset')).to.have.length(0);
      expect(await PasswordReset.countDocuments({ tenantId, userId: user.userId })).to.equal(0);
      const updater = await subAccountSigner(app, [allow(['change/updateUser'], 'SSO')]);
      await updater.call('post', `${BASE}/users/${user.userId}/password-reset`).expect(202);
    });

    it('answers 503 and leaves no usable link when the message cannot be sent', async () => {
      const failing: Notifier = {
        transport: 'smtp',
        send: async () => {
          throw new Error('connection refused');
        },
      };
      const broken = createApp({ config, logger, keyring: testKeyring(), db: { ping: async () => true }, notifier: failing });
      const brokenRoot = await rootSigner(broken);
      const user = await createUser('unsendable@example.com');
      const res = await brokenRoot.call('post', `${BASE}/users/${user.userId}/password-reset`).expect(503);
      expect((res.body as ErrorBody).error.errorCode).to.equal('UNAVAILABLE');
      expect(await PasswordReset.countDocuments({ tenantId, userId: user.userId })).to.equal(0);
    });
  });

  describe('the reset page', () => {
    it('shows the form with no-store, no referrer and no framing; an unknown or malformed token gets one neutral message', async () => {
      const user = await createUser('page@example.com');
      const token = await issueLink(user.userId, 'page@example.com');
      const res = await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token }).expect(200);
      expect(res.headers['cache-control']).to.equal('no-store');
      expect(res.headers['referrer-policy']).to.equal('no-referrer');
      expect(res.headers['content-security-policy']).to.include("frame-ancestors 'none'");
      expect(res.headers['x-frame-options']).to.equal('DENY');
      expect(res.text).to.include('page@example.com').and.to.include('name="newPassword"').and.to.include('autocomplete="new-password"');
      expect(res.text).to.include('<label for="newPassword">');
      expect(res.text).not.to.match(/<script/);
      expect(res.text).to.include('<html lang="en">');

      const unknown = await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token: 'A'.repeat(43) }).expect(400);
      const malformed = await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token: '<script>' }).expect(400);
      const missing = await request(app).get(`/tenants/${tenantId}/password/reset`).expect(400);
      expect(unknown.text).to.equal(malformed.text).and.to.equal(missing.text);
      expect(unknown.text).not.to.include('page@example.com');
    });

    it('refuses mismatched or weak passwords with the reasons on the form, and the link stays usable', async () => {
      const user = await createUser('weakpage@example.com', { userProfile: { firstName: 'Isadora' } });
      const token = await issueLink(user.userId, 'weakpage@example.com');
      const mismatch = await postReset(token, STRONG, `${STRONG}!`).expect(400);
      expect(mismatch.text).to.include('The two passwords are not the same.').and.to.include('role="alert"');
      const weak = await postReset(token, 'isadora-1234-garden').expect(400);
      expect(weak.text).to.include('must not contain your login ID, e-mail, name');
      expect(weak.text).to.include('aria-invalid="true"');
      const short = await postReset(token, 'short one').expect(400);
      expect(short.text).to.include('must be at least 12 characters');
      expect((await stored(user.userId))?.passwordHash).to.equal(null);
      await postReset(token, STRONG).expect(303);
    });

    it('speaks Korean and Japanese from Accept-Language or ?lang=, the reasons included', async () => {
      const user = await createUser('lang@example.com');
      const token = await issueLink(user.userId, 'lang@example.com');
      const ko = await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token }).set('Accept-Language', 'ko-KR,ko;q=0.9,en;q=0.5').expect(200);
      expect(ko.text).to.include('<html lang="ko">').and.to.include('새 비밀번호 설정');
      const ja = await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token, lang: 'ja' }).expect(200);
      expect(ja.text).to.include('<html lang="ja">').and.to.include('新しいパスワード');
      // The switcher keeps the token, and the choice is remembered.
      expect(ja.text).to.include(`href="/tenants/${tenantId}/password/reset?token=${token}&amp;lang=ko"`);
      expect(String(ja.headers['set-cookie'])).to.include('gh_lang=ja');
      const weak = await postReset(token, 'qwerty123456').set('Accept-Language', 'ko').expect(400);
      expect(weak.text).to.include('흔히 사용되거나 유출된 비밀번호입니다.');
      const invalid = await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token: 'x' }).set('Accept-Language', 'ja').expect(400);
      expect(invalid.text).to.include('無効なリンク');
    });

    it('on success: 303, new argon2id hash, needPasswordReset false, passwordChangedAt, generation moved, every session ended; the link is dead', async () => {
      const user = await createUser('success@example.com', { password: 'an initial temporary passphrase' });
      const before = await stored(user.userId);
      expect(before?.needPasswordReset).to.equal(true);
      const s1 = await session(user.userId, before!.credentialGeneration);
      const s2 = await session(user.userId, before!.credentialGeneration);
      const token = await issueLink(user.userId, 'success@example.com');

      const res = await postReset(token, STRONG).expect(303);
      expect(res.headers.location).to.equal(`/tenants/${tenantId}/password/reset/done`);
      const done = await request(app).get(res.headers.location as string).expect(200);
      expect(done.text).to.include(`/tenants/${tenantId}/login`);

      const after = await stored(user.userId);
      expect(after?.passwordHash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await verifyUserPassword(after!.passwordHash!, STRONG)).to.equal(true);
      expect(await verifyUserPassword(after!.passwordHash!, 'an initial temporary passphrase')).to.equal(false);
      expect(after?.needPasswordReset).to.equal(false);
      expect(after?.passwordChangedAt?.getTime()).to.be.greaterThan(before!.passwordChangedAt!.getTime());
      expect(after?.credentialGeneration).to.equal(before!.credentialGeneration + 1);
      expect(await findSsoSession(tenantId, s1.token)).to.equal(null);
      expect(await findSsoSession(tenantId, s2.token)).to.equal(null);

      await postReset(token, `${STRONG} again`).expect(400);
      await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token }).expect(400);
      expect(await verifyUserPassword((await stored(user.userId))!.passwordHash!, STRONG)).to.equal(true);
    });

    it('two parallel submissions of one link: exactly one wins', async () => {
      const user = await createUser('parallel@example.com');
      const token = await issueLink(user.userId, 'parallel@example.com');
      const [a, b] = await Promise.all([postReset(token, 'first racer phrase wins'), postReset(token, 'second racer phrase wins')]);
      expect([a.status, b.status].sort()).to.deep.equal([303, 400]);
      const winner = a.status === 303 ? 'first racer phrase wins' : 'second racer phrase wins';
      const after = await stored(user.userId);
      expect(await verifyUserPassword(after!.passwordHash!, winner)).to.equal(true);
      expect(after?.credentialGeneration).to.equal(1);
    });

    it('an expired link, a link whose user changed credentials since, and a link used at another tenant are refused', async () => {
      const user = await createUser('expired@example.com');
      const token = await issueLink(user.userId, 'expired@example.com');
      await request(app).post(`/tenants/${otherTenantId}/password/reset`).type('form').send({ token, newPassword: STRONG, confirmPassword: STRONG }).expect(400);
      await request(app).get(`/tenants/${otherTenantId}/password/reset`).query({ token }).expect(400);

      await PasswordReset.updateOne({ tenantId, userId: user.userId }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
      await postReset(token, STRONG).expect(400);

      const moved = await issueLink(user.userId, 'expired@example.com');
      await root.call('delete', `${BASE}/users/${user.userId}/sessions`).expect(200);
      await postReset(moved, STRONG).expect(400);
      expect((await stored(user.userId))?.passwordHash).to.equal(null);
    });

    it('refuses form bodies that are not plain strings (NoSQL-shaped input) without a stack trace', async () => {
      const res = await request(app)
        .post(`/tenants/${tenantId}/password/reset`)
        .type('form')
        .send('token[$ne]=x&newPassword=aaaaaaaaaaaaaaa&confirmPassword=aaaaaaaaaaaaaaa')
        .expect(400);
      expect(res.text).to.include('not valid');
    });

    it('never writes a reset token to a log line', async () => {
      const user = await createUser('logs@example.com');
      const token = await issueLink(user.userId, 'logs@example.com');
      await request(app).get(`/tenants/${tenantId}/password/reset`).query({ token }).expect(200);
      await postReset(token, STRONG).expect(303);
      expect(logLines.length).to.be.greaterThan(0);
      expect(logLines.some((l) => l.includes('/password/reset'))).to.equal(true);
      expect(logLines.filter((l) => l.includes(token))).to.deep.equal([]);
      expect(logLines.filter((l) => l.includes(STRONG))).to.deep.equal([]);
    });
  });
});
