/**
 * The portal through the real sign-in pages, and the profile (issue 7 "User portal"): no session →
 * sign-in → back to the portal; MFA device add (confirmed by a first code) and remove, each only
 * after a fresh re-authentication (security-bar §4 "MFA enrollment", §6 item 42: 403 without
 * it); the user's own sessions listed and ended; consents' empty state; CSRF on profile forms.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { ssoSessionCookieName } from '../../../src/auth/sso-session.js';
import { totpCode } from '../../../src/iam/mfa/totp.js';
import { readOutbox } from '../../../src/notifications/notifier.js';
import { REAUTH_WINDOW_SEC } from '../../../src/portal/profile.routes.js';
import { hashPassword } from '../../../src/shared/password-hash.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { testApp, testConfig } from '../../helpers/app.js';
import { ACCOUNT } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';
import { SSO_ORIGIN, signIn } from '../../helpers/sso-login.js';
import { createTenant, signedIn, textOf, type TestSession } from './portal-fixtures.js';

const PASSWORD = 'plum orchard lantern 42';

describe('portal: sign-in round trip and profile', function () {
  this.timeout(90_000);
  useTestDatabase('portalprofile');
  const app = testApp({ db: { ping: async () => true } });
  const config = testConfig();
  let tenantId: string;

  const portal = (path: string) => `/tenants/${tenantId}/portal${path}`;
  const post = (s: TestSession, path: string, fields: Record<string, string> = {}, opts: { csrf?: string | null; origin?: string } = {}) =>
    request(app)
      .post(portal(path))
      .set('Cookie', s.cookie)
      .set('Origin', opts.origin ?? SSO_ORIGIN)
      .type('form')
      .send({ ...(opts.csrf === null ? {} : { _csrf: opts.csrf ?? s.csrf }), ...fields });

  async function userWithPassword(extra: Record<string, unknown> = {}): Promise<{ userId: string; loginId: string }> {
    const userId = randomUUID();
    const loginId = `${userId.slice(0, 8)}@example.com`;
    await SsoUser.create({ accountId: ACCOUNT, tenantId, userId, loginId, loginIdKey: loginId, userProfile: { email: loginId }, passwordHash: await hashPassword(PASSWORD), ...extra });
    return { userId, loginId };
  }

  const stored = (userId: string) => SsoUser.findOne({ tenantId, userId }).select('+mfaSecretEncrypted').orFail().lean();

  before(async () => {
    tenantId = await createTenant(ACCOUNT, 'profileco');
  });

  it('no session: the portal starts the sign-in, and the sign-in comes back to the portal (the login id leaves the address bar)', async () => {
    const u = await userWithPassword();
    const agent = request.agent(app);
    const start = await agent.get(portal('')).expect(303);
    const back = await signIn(agent, tenantId, u.loginId, PASSWORD, { loginUrl: String(start.headers.location) });
    expect(back.location).to.match(new RegExp(`^/tenants/${tenantId}/portal\\?login=`));
    const clean = await agent.get(back.location).expect(303);
    expect(clean.headers.location).to.equal(`/tenants/${tenantId}/portal`);
    const page = await agent.get(portal('')).expect(200);
    expect(textOf(page.text, 'login-id')).to.equal(u.loginId);
    // The portal's sign-out button carries the token the sign-in module's logout checks.
    const csrf = /action="\/tenants\/[^/]+\/logout"[^>]*>\s*<input type="hidden" name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
    expect(csrf, 'sign-out form').to.be.a('string');
    await agent.post(`/tenants/${tenantId}/logout`).set('Origin', SSO_ORIGIN).type('form').send({ _csrf: csrf! }).expect(303);
    await agent.get(portal('')).expect(303);
  });

  it('speaks Korean or Japanese from Accept-Language or the switcher (?lang=, remembered), with the switcher’s links', async () => {
    const u = await userWithPassword();
    const s = await signedIn(config, ACCOUNT, tenantId, u.userId);
    const ko = await request(app).get(portal('')).set('Cookie', s.cookie).set('Accept-Language', 'ko-KR,ko;q=0.9,en;q=0.5').expect(200);
    expect(ko.text).to.contain('<html lang="ko">').and.contain('계정 및 역할');
    const ja = await request(app).get(portal('/profile?lang=ja')).set('Cookie', s.cookie).expect(200);
    expect(ja.text).to.contain('<html lang="ja">').and.contain('アクティブなセッション');
    expect(String(ja.headers['set-cookie'])).to.contain('gh_lang=ja');
    expect(ja.text).to.contain(`href="/tenants/${tenantId}/portal/profile?lang=en"`);
  });

  describe('MFA device', () => {
    it('add and remove without a fresh re-authentication → 403, nothing changed', async () => {
      const u = await userWithPassword();
      const s = await signedIn(config, ACCOUNT, tenantId, u.userId, { authAgeSec: REAUTH_WINDOW_SEC + 60 });
      const res = await post(s, '/profile/mfa/add', { pending: 'x', code: '123456' }).expect(403);
      expect(textOf(res.text, 'error-message')).to.contain('sign in again');
      expect((await stored(u.userId)).mfaEnabled).to.equal(false);

      await SsoUser.updateOne({ tenantId, userId: u.userId }, { $set: { mfaEnabled: true, mfaSecretEncrypted: 'sealed' } });
      await post(s, '/profile/mfa/remove').expect(403);
      expect((await stored(u.userId)).mfaEnabled).to.equal(true);
      // A fresh session that used only a password is not fresh enough when a device exists.
      const pwdOnly = await signedIn(config, ACCOUNT, tenantId, u.userId, { acr: 'pwd' });
      await post(pwdOnly, '/profile/mfa/remove').expect(403);
      expect((await stored(u.userId)).mfaEnabled).to.equal(true);
    });

    it('the add page of a stale session starts a forced re-authentication that comes back to it', async () => {
      const u = await userWithPassword();
      const s = await signedIn(config, ACCOUNT, tenantId, u.userId, { authAgeSec: REAUTH_WINDOW_SEC + 60 });
      const res = await request(app).get(portal('/profile/mfa/add')).set('Cookie', s.cookie).expect(303);
      expect(res.headers.location).to.match(new RegExp(`^/tenants/${tenantId}/login\\?interaction=`));
    });

    it('through the real pages: re-authenticate, scan, confirm with a first code → active; the code cannot be replayed; then remove after re-authenticating with password + TOTP', async () => {
      const u = await userWithPassword();
      const agent = request.agent(app);
      await signIn(agent, tenantId, u.loginId, PASSWORD);
      // Make the sign-in stale, so the add page needs a forced re-authentication.
      await SsoUserSession.updateMany({ tenantId, userId: u.userId }, { $set: { authTime: new Date(Date.now() - 3600_000) } });
      const go = await agent.get(portal('/profile/mfa/add')).expect(303);
      const back = await signIn(agent, tenantId, u.loginId, PASSWORD, { loginUrl: String(go.headers.location) });
      expect(back.location).to.match(new RegExp(`^/tenants/${tenantId}/portal/profile/mfa/add\\?login=`));
      await agent.get(back.location).expect(303);
      const enroll = await agent.get(portal('/profile/mfa/add')).expect(200);
      expect(enroll.headers['cache-control']).to.equal('no-store');
      const secret = textOf(enroll.text, 'mfa-secret');
      const pending = /name="pending" value="([^"]+)"/.exec(enroll.text)![1]!;
      const csrf = /name="_csrf" value="([^"]+)"/.exec(enroll.text)![1]!;
      expect((await stored(u.userId)).mfaEnabled, 'inactive until the first code').to.equal(false);

      const wrong = await agent.post(portal('/profile/mfa/add')).set('Origin', SSO_ORIGIN).type('form').send({ _csrf: csrf, pending, code: '000000' }).expect(400);
      expect(wrong.text).to.contain('aria-invalid="true"');
      expect((await stored(u.userId)).mfaEnabled).to.equal(false);
      const code = await totpCode(secret);
      const ok = await agent.post(portal('/profile/mfa/add')).set('Origin', SSO_ORIGIN).type('form').send({ _csrf: csrf, pending, code }).expect(303);
      expect(ok.headers.location).to.equal(`/tenants/${tenantId}/portal/profile?done=mfaAdded`);
      const after = await stored(u.userId);
      expect(after.mfaEnabled).to.equal(true);
      expect(after.mfaSecretEncrypted, 'stored encrypted').to.be.a('string').and.not.contain(secret);
      expect(after.mfaLastStep, 'the confirming code is used up').to.be.greaterThan(0);
      expect((await readOutbox(u.loginId, 'mfaChanged')).length).to.equal(1);
      // The same form again is refused: with a device registered, a change needs a two-factor re-authentication.
      await agent.post(portal('/profile/mfa/add')).set('Origin', SSO_ORIGIN).type('form').send({ _csrf: csrf, pending, code }).expect(403);

      // Removal: the session used password only at the last step-up → sign in again with password + TOTP.
      await SsoUserSession.updateMany({ tenantId, userId: u.userId }, { $set: { authTime: new Date(Date.now() - 3600_000) } });
      const goRemove = await agent.get(portal('/profile/mfa/remove')).expect(303);
      const back2 = await signIn(agent, tenantId, u.loginId, PASSWORD, { loginUrl: String(goRemove.headers.location), totpSecret: secret });
      await agent.get(back2.location).expect(303);
      const confirm = await agent.get(portal('/profile/mfa/remove')).expect(200);
      const csrf2 = /name="_csrf" value="([^"]+)"/.exec(confirm.text)![1]!;
      await agent.post(portal('/profile/mfa/remove')).set('Origin', SSO_ORIGIN).type('form').send({ _csrf: csrf2 }).expect(303);
      const removed = await stored(u.userId);
      expect(removed.mfaEnabled).to.equal(false);
      expect(removed.mfaSecretEncrypted).to.equal(null);
    });

    it('two concurrent confirmations of one enrollment register one device', async () => {
      const u = await userWithPassword();
      const s = await signedIn(config, ACCOUNT, tenantId, u.userId);
      const page = await request(app).get(portal('/profile/mfa/add')).set('Cookie', s.cookie).expect(200);
      const pending = /name="pending" value="([^"]+)"/.exec(page.text)![1]!;
      const secret = textOf(page.text, 'mfa-secret');
      const code = await totpCode(secret);
      const statuses = (await Promise.all([post(s, '/profile/mfa/add', { pending, code }), post(s, '/profile/mfa/add', { pending, code })])).map((r) => r.status).sort();
      expect(statuses[0]).to.equal(303);
      expect(statuses[1]).to.be.oneOf([403, 409]);
      const after = await stored(u.userId);
      expect(after.mfaEnabled).to.equal(true);
      expect((await readOutbox(u.loginId, 'mfaChanged')).length, 'one notice').to.equal(1);
    });

    it('a pending key from another session does not decrypt here', async () => {
      const u = await userWithPassword();
      const s1 = await signedIn(config, ACCOUNT, tenantId, u.userId);
      const s2 = await signedIn(config, ACCOUNT, tenantId, u.userId);
      const page = await request(app).get(portal('/profile/mfa/add')).set('Cookie', s1.cookie).expect(200);
      const pending = /name="pending" value="([^"]+)"/.exec(page.text)![1]!;
      const code = await totpCode(textOf(page.text, 'mfa-secret'));
      await post(s2, '/profile/mfa/add', { pending, code }).expect(400);
      expect((await stored(u.userId)).mfaEnabled).to.equal(false);
    });
  });

  describe('password', () => {
    it('changes the password with the current one (other sessions end, this one stays); a wrong current password or a mismatch is an error tied to its field', async () => {
      const u = await userWithPassword();
      const s = await signedIn(config, ACCOUNT, tenantId, u.userId);
      const other = await signedIn(config, ACCOUNT, tenantId, u.userId);
      const before = (await SsoUser.findOne({ tenantId, userId: u.userId }).select('+passwordHash').orFail().lean()).passwordHash;
      const wrong = await post(s, '/profile/password', { currentPassword: 'not it at all', newPassword: 'a fresh long passphrase 7', confirmPassword: 'a fresh long passphrase 7' }).expect(400);
      expect(wrong.text).to.match(/id="currentPassword"[^>]*aria-invalid="true"/);
      const mismatch = await post(s, '/profile/password', { currentPassword: PASSWORD, newPassword: 'a fresh long passphrase 7', confirmPassword: 'something else entirely' }).expect(400);
      expect(mismatch.text).to.match(/id="confirmPassword"[^>]*aria-invalid="true"/);
      expect((await SsoUser.findOne({ tenantId, userId: u.userId }).select('+passwordHash').orFail().lean()).passwordHash).to.equal(before);

      const ok = await post(s, '/profile/password', { currentPassword: PASSWORD, newPassword: 'a fresh long passphrase 7', confirmPassword: 'a fresh long passphrase 7' }).expect(303);
      expect(ok.headers.location).to.equal(`/tenants/${tenantId}/portal/profile?done=passwordChanged`);
      expect((await SsoUser.findOne({ tenantId, userId: u.userId }).select('+passwordHash').orFail().lean()).passwordHash).to.not.equal(before);
      await request(app).get(portal('/profile')).set('Cookie', s.cookie).expect(200);
      await request(app).get(portal('/profile')).set('Cookie', other.cookie).expect(303);
    });
  });

  describe('sessions and consents', () => {
    it('lists the user’s own sessions, ends another one, refuses another user’s session id (404), and shows the consents’ empty state', async () => {
      const u = await userWithPassword();
      const other = await userWithPassword();
      const s1 = await signedIn(config, ACCOUNT, tenantId, u.userId);
      const s2 = await signedIn(config, ACCOUNT, tenantId, u.userId);
      const foreign = await signedIn(config, ACCOUNT, tenantId, other.userId);
      const page = await request(app).get(portal('/profile')).set('Cookie', s1.cookie).expect(200);
      expect(page.text).to.contain(`data-session="${s1.sessionId}"`).and.contain(`data-session="${s2.sessionId}"`).and.not.contain(foreign.sessionId);
      expect(textOf(page.text, 'consents-empty')).to.contain('appear here');

      await post(s1, `/profile/sessions/${foreign.sessionId}/end`).expect(404);
      expect(await SsoUserSession.countDocuments({ tenantId, sessionId: foreign.sessionId })).to.equal(1);
      const ended = await post(s1, `/profile/sessions/${s2.sessionId}/end`).expect(303);
      expect(ended.headers.location).to.equal(`/tenants/${tenantId}/portal/profile?done=sessionEnded`);
      expect(await SsoUserSession.countDocuments({ tenantId, sessionId: s2.sessionId })).to.equal(0);
      await request(app).get(portal('')).set('Cookie', s2.cookie).expect(303);
      // Ending the current one signs this browser out.
      const own = await post(s1, `/profile/sessions/${s1.sessionId}/end`).expect(303);
      expect(String(own.headers['set-cookie'])).to.contain(`${ssoSessionCookieName(config, tenantId)}=;`);
    });

    it('profile forms refuse a missing token or a foreign origin (403)', async () => {
      const u = await userWithPassword();
      const s = await signedIn(config, ACCOUNT, tenantId, u.userId);
      const s2 = await signedIn(config, ACCOUNT, tenantId, u.userId);
      await post(s, `/profile/sessions/${s2.sessionId}/end`, {}, { csrf: null }).expect(403);
      await post(s, `/profile/sessions/${s2.sessionId}/end`, {}, { origin: 'https://evil.example' }).expect(403);
      await post(s, '/profile/mfa/remove', {}, { csrf: null }).expect(403);
      expect(await SsoUserSession.countDocuments({ tenantId, sessionId: s2.sessionId })).to.equal(1);
    });
  });
});
