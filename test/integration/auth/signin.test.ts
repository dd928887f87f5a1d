/**
 * End-user sign-in through the real pages (issue 7 "Done when"; security-bar §4, §6 #33, #38,
 * #40, #43), with a supertest agent as the browser, against the real engine: password sign-in,
 * identical refusals and lockout, suspended users, allowed source IPs behind a proxy, the session
 * (new id at login and step-up, cookie attributes, single session, idle expiry, admin listing),
 * logout, and the protocol hand-off (returnTo rules, login CSRF, takeLoginResult once).
 */
import { expect } from 'chai';
import { ssoUserThrottleKey, userThrottleRule } from '../../../src/auth/login-flow.service.js';
import { LoginInteraction } from '../../../src/auth/login-interaction.model.js';
import { isSafeReturnTo } from '../../../src/auth/login.js';
import { findSsoSession, onSsoSessionEnd, type EndedSsoSession } from '../../../src/auth/sso-session.js';
import { hashToken } from '../../../src/shared/tokens.js';
import { isThrottled, recordFailure } from '../../../src/iam/auth/login-throttle.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { DEMO_USERS, seedDemo } from '../../../src/sso/demo.js';
import { silentLogger, testApp, testConfig } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { formFields, postForm, signIn } from '../../helpers/sso-login.js';
import {
  PASSWORD,
  SSO_ORIGIN,
  agentOf,
  followBlanked,
  makeTenant,
  makeUser,
  openLogin,
  postPassword,
  setLoginSettings,
  storedUser,
  withProtocolProbe,
} from './fixtures.js';

const setCookies = (res: { headers: Record<string, unknown> }): string[] => {
  const raw = res.headers['set-cookie'];
  return Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
};
const cookieNamed = (res: { headers: Record<string, unknown> }, name: string) => setCookies(res).find((c) => c.startsWith(`${name}=`));

describe('SSO sign-in: password, refusals and sessions', function () {
  this.timeout(90_000);
  useTestDatabase('ssosignin');
  const app = testApp({ db: { ping: async () => true } });

  describe('password sign-in', () => {
    it('signs a user in with login id and password: a new session, its cookie, lastLoginAt, back to the portal', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const agent = agentOf(app);
      const r = await signIn(agent, t.alias, u.loginId, PASSWORD);
      expect(r.location).to.equal(`/tenants/${t.tenantId}/portal?login=${r.interactionId}`);
      expect(r.cookieName).to.equal(`gh_sso_${t.tenantId}`);
      const sessions = await SsoUserSession.find({ tenantId: t.tenantId, userId: u.userId }).lean();
      expect(sessions).to.have.length(1);
      expect(sessions[0]).to.include({ acr: 'pwd', tokenHash: hashToken(r.token), clientIp: '127.0.0.1' });
      expect(sessions[0]?.amr).to.deep.equal(['pwd']);
      expect((await storedUser(t, u.userId)).lastLoginAt).to.be.instanceOf(Date);
      // A second visit of the login page with a live session goes straight to the portal.
      await agent.get(`/tenants/${t.alias}/login`).expect(303).expect('Location', `/tenants/${t.tenantId}/portal`);
    });

    it('login ids match case-insensitively; passwords are neither trimmed nor case-folded', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      await signIn(agentOf(app), t.alias, u.loginId.toUpperCase(), PASSWORD);
      for (const wrong of [` ${PASSWORD}`, `${PASSWORD} `, PASSWORD.toUpperCase()]) {
        const agent = agentOf(app);
        const form = await openLogin(agent, t);
        const res = await postPassword(agent, t, form, u.loginId, wrong);
        expect(res.status).to.equal(303);
        expect(res.headers.location).to.equal(form.url);
      }
    });

    it('upgrades a weaker stored hash to the current argon2id parameters at sign-in (security-bar #40)', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const { hash } = await import('@node-rs/argon2');
      const weak = await hash(PASSWORD, { memoryCost: 4096, timeCost: 1, parallelism: 1, algorithm: 2 });
      await SsoUser.updateOne({ tenantId: t.tenantId, userId: u.userId }, { $set: { passwordHash: weak } });
      await signIn(agentOf(app), t.alias, u.loginId, PASSWORD);
      const stored = (await storedUser(t, u.userId)).passwordHash!;
      expect(stored).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(stored).not.to.equal(weak);
      // Already current: left as it is.
      await signIn(agentOf(app), t.alias, u.loginId, PASSWORD);
      expect((await storedUser(t, u.userId)).passwordHash).to.equal(stored);
    });

    it('sends a user who must change the password through the change page, with the tenant policy, then signs in', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t, { needPasswordReset: true });
      const agent = agentOf(app);
      const form = await openLogin(agent, t);
      const res = await postPassword(agent, t, form, u.loginId, PASSWORD);
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal(`/tenants/${t.tenantId}/login/password?interaction=${form.interaction}`);
      const page = await agent.get(String(res.headers.location)).expect(200);
      expect(page.text).to.include('autocomplete="new-password"');
      const post = (password: string, confirm = password) =>
        postForm(agent, `/tenants/${t.tenantId}/login/password`, { interaction: form.interaction, _csrf: form.csrf, password, confirm });
      // A listed common password and a mismatch are refused with the page's notice; nothing is stored.
      for (const [pw, confirm] of [
        ['password1234', 'password1234'],
        ['a fine long passphrase', 'another one'],
      ] as const) {
        const r = await post(pw, confirm);
        expect(r.status).to.equal(303);
        expect(r.headers.location).to.equal(`/tenants/${t.tenantId}/login/password?interaction=${form.interaction}`);
        expect((await agent.get(String(r.headers.location)).expect(200)).text).to.include('role="alert"');
      }
      expect((await storedUser(t, u.userId)).needPasswordReset).to.equal(true);
      const done = await post('violet harbor kettle 77');
      expect(done.status).to.equal(303);
      expect(String(done.headers.location)).to.match(/\/portal\?login=/);
      const stored = await storedUser(t, u.userId);
      expect(stored.needPasswordReset).to.equal(false);
      expect(stored.credentialGeneration).to.equal(1);
      await signIn(agentOf(app), t.alias, u.loginId, 'violet harbor kettle 77');
    });

    it('refuses local passwords when the tenant turned them off', async () => {
      const t = await makeTenant(app, { externalIdpEnabled: true, localPasswordEnabled: false });
      const u = await makeUser(t);
      const agent = agentOf(app);
      const start = await agent.get(`/tenants/${t.alias}/login`).expect(303);
      const page = await agent.get(String(start.headers.location)).expect(200);
      expect(page.text).not.to.include('name="password"');
      expect(page.text).to.include('not available');
      // A hand-made post of the form is refused all the same.
      const interactionId = /interaction=([A-Za-z0-9_-]{22})/.exec(String(start.headers.location))![1]!;
      const it = await LoginInteraction.findOne({ tenantId: t.tenantId, interactionId }).orFail().lean();
      const res = await postPassword(agent, t, { interaction: interactionId, csrf: it.csrfToken! }, u.loginId, PASSWORD);
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal(start.headers.location);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId })).to.equal(0);
    });
  });

  describe('refusals look the same (security-bar §4, #38)', () => {
    it('unknown login id, wrong password, no local password, suspended, outside allowed IPs and locked: same 303, same page', async () => {
      const t = await makeTenant(app, { lockoutThreshold: 3 });
      const known = await makeUser(t);
      const suspended = await makeUser(t);
      await t.root.call('put', `/api/v1/sso/users/${suspended.userId}/status`, { status: 'SUSPENDED' }).expect(200);
      const noPassword = await t.root.call('post', '/api/v1/sso/users', { loginId: 'nopw@example.com' }).expect(201);
      const fenced = await makeUser(t);
      await t.root.call('put', `/api/v1/sso/users/${fenced.userId}/allow-sources`, { consolePermitIps: ['203.0.113.0/24'] }).expect(200);
      const locked = await makeUser(t);

      const attempt = async (loginId: string, password: string) => {
        const agent = agentOf(app);
        const form = await openLogin(agent, t);
        const res = await postPassword(agent, t, form, loginId, password);
        expect(res.status).to.equal(303);
        expect(res.headers.location).to.equal(form.url);
        expect(setCookies(res).filter((c) => c.includes('gh_sso_'))).to.deep.equal([]);
        return followBlanked(agent, res);
      };
      // The locked user: three wrong passwords lock it (the tenant's lockoutThreshold) ...
      for (let i = 0; i < 3; i++) await attempt(locked.loginId, 'wrong password here');
      expect(await isThrottled(ssoUserThrottleKey(t.tenantId, locked.loginId))).to.equal(true);

      const reference = await attempt('nobody@example.com', PASSWORD);
      expect(reference.status).to.equal(200);
      expect(reference.body).to.include('role="alert"');
      const others = [
        await attempt(known.loginId, 'wrong password here'),
        await attempt('nopw@example.com', PASSWORD),
        await attempt(suspended.loginId, PASSWORD),
        await attempt(fenced.loginId, PASSWORD),
        // ... after which even the right password gets the same answer.
        await attempt(locked.loginId, PASSWORD),
      ];
      for (const o of others) expect(o).to.deep.equal(reference);
      expect((noPassword.body as { passwordSet: boolean }).passwordSet).to.equal(false);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId })).to.equal(0);
      // The lock ends with the tenant's lockout duration: counted as configured.
      expect(userThrottleRule({ lockoutThreshold: 3, lockoutDurationSeconds: 900 })).to.deep.include({ limit: 3, lockMs: 900_000 });
    });

    it('the 101st failure in an hour on one account is refused like an unknown user (ASVS V2.2.1)', async () => {
      const t = await makeTenant(app, { lockoutThreshold: 100 });
      const u = await makeUser(t);
      const key = ssoUserThrottleKey(t.tenantId, u.loginId);
      // 99 failures already counted (each was an argon2id verification through the same path).
      for (let i = 0; i < 99; i++) await recordFailure(key, userThrottleRule({ lockoutThreshold: 100, lockoutDurationSeconds: 900 }));
      expect(await isThrottled(key)).to.equal(false);
      const agent = agentOf(app);
      const form = await openLogin(agent, t);
      await postPassword(agent, t, form, u.loginId, 'the 100th wrong one');
      expect(await isThrottled(key)).to.equal(true);
      const a1 = agentOf(app);
      const f1 = await openLogin(a1, t);
      const right = await followBlanked(a1, await postPassword(a1, t, f1, u.loginId, PASSWORD));
      const a2 = agentOf(app);
      const f2 = await openLogin(a2, t);
      const unknown = await followBlanked(a2, await postPassword(a2, t, f2, 'ghost@example.com', PASSWORD));
      expect(right).to.deep.equal(unknown);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId })).to.equal(0);
    });

    it('a suspended user is refused, and a suspension ends the live session', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const agent = agentOf(app);
      const r = await signIn(agent, t.alias, u.loginId, PASSWORD);
      await t.root.call('put', `/api/v1/sso/users/${u.userId}/status`, { status: 'SUSPENDED' }).expect(200);
      expect(await findSsoSession(t.tenantId, r.token)).to.equal(null);
      const form = await openLogin(agent, t);
      const res = await postPassword(agent, t, form, u.loginId, PASSWORD);
      expect(res.headers.location).to.equal(form.url);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId, userId: u.userId })).to.equal(0);
    });
  });

  describe('allowed source IPs behind a proxy (security-bar §4 "IP allow-list vs X-Forwarded-For")', () => {
    const proxied = testApp({ db: { ping: async () => true }, env: { TRUST_PROXY: '1' } });

    it('uses the address the trusted hop saw; a client-written X-Forwarded-For entry does not get in', async () => {
      const t = await makeTenant(proxied);
      const u = await makeUser(t);
      await t.root.call('put', `/api/v1/sso/users/${u.userId}/allow-sources`, { consolePermitIps: ['203.0.113.0/24'] }).expect(200);
      // The client wrote 203.0.113.5; the proxy (one trusted hop) appended the real 198.51.100.9.
      const spoofed = { 'X-Forwarded-For': '203.0.113.5, 198.51.100.9' };
      const agent = agentOf(proxied);
      const form = await openLogin(agent, t, spoofed);
      const res = await postPassword(agent, t, form, u.loginId, PASSWORD, spoofed);
      expect(res.headers.location).to.equal(form.url);
      // From inside the range (as the proxy saw it): signed in, and the session records that address.
      const r = await signIn(agentOf(proxied), t.alias, u.loginId, PASSWORD, {
        headers: { 'X-Forwarded-For': '198.51.100.9, 203.0.113.5' },
      });
      const s = await SsoUserSession.findOne({ tenantId: t.tenantId, tokenHash: hashToken(r.token) })
        .orFail()
        .lean();
      expect(s.clientIp).to.equal('203.0.113.5');
    });

    it('without TRUST_PROXY, X-Forwarded-For is ignored altogether', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      await t.root.call('put', `/api/v1/sso/users/${u.userId}/allow-sources`, { consolePermitIps: ['203.0.113.0/24'] }).expect(200);
      const xff = { 'X-Forwarded-For': '203.0.113.5' };
      const agent = agentOf(app);
      const form = await openLogin(agent, t, xff);
      const res = await postPassword(agent, t, form, u.loginId, PASSWORD, xff);
      expect(res.headers.location).to.equal(form.url);
      await t.root.call('put', `/api/v1/sso/users/${u.userId}/allow-sources`, { consolePermitIps: ['127.0.0.1'] }).expect(200);
      await signIn(agentOf(app), t.alias, u.loginId, PASSWORD);
    });
  });

  describe('sessions', () => {
    it('the cookie is HttpOnly, SameSite=Lax, Path=/ and not Secure on a plain-http loopback base URL', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const agent = agentOf(app);
      const form = await openLogin(agent, t);
      const res = await postPassword(agent, t, form, u.loginId, PASSWORD);
      const c = cookieNamed(res, `gh_sso_${t.tenantId}`);
      expect(c).to.be.a('string');
      expect(c)
        .to.match(/; HttpOnly/)
        .and.match(/; SameSite=Lax/)
        .and.match(/; Path=\//);
      expect(c).not.to.match(/Secure/);
      expect(c).not.to.match(/Domain=/i);
    });

    it('with an https base URL the cookies are __Host- prefixed and Secure', async () => {
      const httpsApp = testApp({ db: { ping: async () => true }, env: { GATEHOUSE_BASE_URL: 'https://id.example.test' } });
      const t = await makeTenant(httpsApp);
      const u = await makeUser(t);
      // By hand: the agent's jar would not send Secure cookies over supertest's plain http.
      const start = await agentOf(httpsApp).get(`/tenants/${t.alias}/login`).expect(303);
      const binding = cookieNamed(start, `__Host-gh_login_${t.tenantId}`);
      expect(binding)
        .to.match(/; Secure/)
        .and.match(/; HttpOnly/)
        .and.match(/; Path=\//);
      const bindingPair = binding!.split(';')[0]!;
      const page = await agentOf(httpsApp).get(String(start.headers.location)).set('Cookie', bindingPair).expect(200);
      const f = formFields(page.text);
      const res = await agentOf(httpsApp)
        .post(`/tenants/${t.tenantId}/login`)
        .set('Cookie', bindingPair)
        .set('Origin', 'https://id.example.test')
        .type('form')
        .send({ interaction: f.interaction, _csrf: f.csrf, loginId: u.loginId, password: PASSWORD })
        .expect(303);
      const c = cookieNamed(res, `__Host-gh_sso_${t.tenantId}`);
      expect(c)
        .to.match(/; Secure/)
        .and.match(/; HttpOnly/)
        .and.match(/; SameSite=Lax/)
        .and.match(/; Path=\//);
      expect(c).not.to.match(/Domain=/i);
    });

    it('the session id changes at sign-in: a cookie planted before is not the one that authenticates (session fixation)', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const agent = agentOf(app);
      const first = await signIn(agent, t.alias, u.loginId, PASSWORD);
      // Another browser that an attacker gave the victim's old cookie value: signing in there mints a new one.
      const planted = agentOf(app);
      planted.jar.setCookie(`gh_sso_${t.tenantId}=${first.token}; Path=/`, '127.0.0.1', '/');
      await SsoUserSession.deleteMany({ tenantId: t.tenantId });
      const second = await signIn(planted, t.alias, u.loginId, PASSWORD);
      expect(second.token).not.to.equal(first.token);
      expect(await findSsoSession(t.tenantId, first.token)).to.equal(null);
      expect(await findSsoSession(t.tenantId, second.token)).to.not.equal(null);
    });

    it('step-up (a protocol asking again) keeps the user, mints a new token, and the old one is dead', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const config = testConfig();
      const probe = withProtocolProbe(app, config);
      const agent = agentOf(probe);
      const first = await signIn(agent, t.alias, u.loginId, PASSWORD);
      const before = await SsoUserSession.findOne({ tenantId: t.tenantId, tokenHash: hashToken(first.token) })
        .orFail()
        .lean();
      const start = await agent.get(`/probe/${t.tenantId}/start?force=1`).expect(303);
      const page = await agent.get(String(start.headers.location)).expect(200);
      // "Continue as": the login id is fixed to the session's user.
      expect(page.text).to.include(u.loginId);
      expect(page.text).not.to.include('id="loginId"');
      const f = formFields(page.text);
      // Whatever login id the form sends, the step-up authenticates the session's user (another
      // user with the same password does not take the session over).
      const other = await makeUser(t);
      const res = await postForm(agent, `/tenants/${t.tenantId}/login`, {
        interaction: f.interaction,
        _csrf: f.csrf,
        loginId: other.loginId,
        password: PASSWORD,
      });
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal(`/tenants/${t.tenantId}/probe-return?login=${f.interaction}`);
      const token = /gh_sso_[^=]+=([^;]+)/.exec(cookieNamed(res, `gh_sso_${t.tenantId}`) ?? '')?.[1];
      expect(token).to.be.a('string').and.not.equal(first.token);
      expect(await findSsoSession(t.tenantId, first.token)).to.equal(null);
      const after = await findSsoSession(t.tenantId, token);
      expect(after?.sessionId).to.equal(before.sessionId);
      expect(after!.authTime.getTime()).to.be.greaterThan(before.authTime.getTime());
      // The protocol takes the result once, in this browser only.
      const result = await agent.get(`/probe/${t.tenantId}/result/${f.interaction}`).expect(200);
      expect(result.body).to.include({ sessionId: before.sessionId, userId: u.userId, acr: 'pwd' });
      expect((await agent.get(`/probe/${t.tenantId}/result/${f.interaction}`).expect(200)).body).to.equal(null);
    });

    it('the idle expiry comes from the login settings, and an idle-expired session is gone', async () => {
      const t = await makeTenant(app, { idleSessionExpirationSeconds: 600 });
      const u = await makeUser(t);
      const agent = agentOf(app);
      const r = await signIn(agent, t.alias, u.loginId, PASSWORD);
      const s = await SsoUserSession.findOne({ tenantId: t.tenantId, tokenHash: hashToken(r.token) })
        .orFail()
        .lean();
      expect(s.idleTimeoutSec).to.equal(600);
      expect(s.expiresAt.getTime() - s.createdAt.getTime()).to.equal(600_000);
      // Ten idle minutes later (the stored deadline moved into the past): no session, a new sign-in.
      await SsoUserSession.updateOne(
        { tenantId: t.tenantId, sessionId: s.sessionId },
        { $set: { expiresAt: new Date(Date.now() - 1000) } },
      );
      expect(await findSsoSession(t.tenantId, r.token)).to.equal(null);
      const again = await agent.get(`/tenants/${t.alias}/login`).expect(303);
      expect(String(again.headers.location)).to.match(/\/login\?interaction=/);
    });

    it('with multiple login off, a new sign-in ends the older session', async () => {
      const t = await makeTenant(app, { multipleLoginAllowed: false });
      const u = await makeUser(t);
      const ended: EndedSsoSession[] = [];
      const off = onSsoSessionEnd(async (e) => {
        if (e.tenantId === t.tenantId) ended.push(e);
      });
      try {
        const a = await signIn(agentOf(app), t.alias, u.loginId, PASSWORD);
        const b = await signIn(agentOf(app), t.alias, u.loginId, PASSWORD);
        expect(await findSsoSession(t.tenantId, a.token)).to.equal(null);
        expect(await findSsoSession(t.tenantId, b.token)).to.not.equal(null);
        expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId, userId: u.userId })).to.equal(1);
        expect(ended.map((e) => e.reason)).to.deep.equal(['singleSession']);
      } finally {
        off();
      }
      // With it on (the default), both live.
      await setLoginSettings(t, { multipleLoginAllowed: true });
      await signIn(agentOf(app), t.alias, u.loginId, PASSWORD);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId, userId: u.userId })).to.equal(2);
    });

    it('admins see the session with its client IP, and ending it there kills the cookie', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const agent = agentOf(app);
      const r = await signIn(agent, t.alias, u.loginId, PASSWORD);
      const list = await t.root.call('get', `/api/v1/sso/users/${u.userId}/sessions`).expect(200);
      const body = list.body as { totalElements: number; items: Array<{ sessionId: string; clientIp: string }> };
      expect(body.totalElements).to.equal(1);
      const row = body.items[0];
      expect(row?.clientIp).to.equal('127.0.0.1');
      await t.root
        .call('delete', `/api/v1/sso/users/${u.userId}/sessions/${row!.sessionId}`)
        .expect((res) => expect(res.status).to.be.oneOf([200, 204]));
      expect(await findSsoSession(t.tenantId, r.token)).to.equal(null);
      const again = await agent.get(`/tenants/${t.alias}/login`).expect(303);
      expect(String(again.headers.location)).to.match(/\/login\?interaction=/);
    });
  });

  describe('logout', () => {
    it('asks for confirmation, refuses a post without the token, then ends the session everywhere and clears the cookie', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const agent = agentOf(app);
      const r = await signIn(agent, t.alias, u.loginId, PASSWORD);
      const ended: EndedSsoSession[] = [];
      const off = onSsoSessionEnd(async (e) => {
        if (e.tenantId === t.tenantId) ended.push(e);
      });
      try {
        const page = await agent.get(`/tenants/${t.alias}/logout`).expect(200);
        const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)?.[1];
        expect(csrf).to.be.a('string');
        // Cross-site: no token, a wrong token, or a foreign Origin → 403, still signed in.
        await agent.post(`/tenants/${t.alias}/logout`).type('form').send({}).expect(403);
        await agent
          .post(`/tenants/${t.alias}/logout`)
          .type('form')
          .send({ _csrf: 'x'.repeat(43) })
          .expect(403);
        await agent.post(`/tenants/${t.alias}/logout`).set('Origin', 'https://evil.example').type('form').send({ _csrf: csrf }).expect(403);
        expect(await findSsoSession(t.tenantId, r.token)).to.not.equal(null);
        const res = await agent.post(`/tenants/${t.alias}/logout`).set('Origin', SSO_ORIGIN).type('form').send({ _csrf: csrf }).expect(303);
        expect(res.headers.location).to.equal(`/tenants/${t.tenantId}/logout`);
        expect(cookieNamed(res, `gh_sso_${t.tenantId}`)).to.match(/Expires=Thu, 01 Jan 1970/);
        expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId, userId: u.userId })).to.equal(0);
        expect(ended.map((e) => e.reason)).to.deep.equal(['logout']);
        // The old cookie value presented again (a copy elsewhere) is dead.
        const copy = agentOf(app);
        copy.jar.setCookie(`gh_sso_${t.tenantId}=${r.token}; Path=/`, '127.0.0.1', '/');
        expect(String((await copy.get(`/tenants/${t.alias}/login`).expect(303)).headers.location)).to.match(/\/login\?interaction=/);
        const done = await agent.get(`/tenants/${t.alias}/logout`).expect(200);
        expect(done.text).to.include('signed out');
      } finally {
        off();
      }
    });
  });

  describe('the protocol hand-off', () => {
    const probe = withProtocolProbe(app, testConfig());

    it('beginLogin refuses return paths that leave the tenant: absolute URLs, //evil, /\\evil, dot segments', async () => {
      const t = await makeTenant(app);
      for (const bad of [
        'https://evil.example/',
        '//evil.example/x',
        '/\\evil.example',
        `/tenants/${t.tenantId}/../../evil`,
        `/tenants/${t.tenantId}/%2e%2e/x`,
        `/tenants/${t.tenantId}//evil.example`,
        'javascript:alert(1)',
        `/tenants/${t.tenantId}/x\r\nLocation: https://evil.example`,
      ]) {
        expect(isSafeReturnTo(bad), bad).to.equal(false);
        const res = await agentOf(probe).get(`/probe/${t.tenantId}/start`).query({ returnTo: bad });
        expect(res.status, bad).to.equal(400);
        expect(
          setCookies(res).some((c) => c.includes('gh_login_')),
          bad,
        ).to.equal(false);
      }
      expect(isSafeReturnTo(`/tenants/${t.tenantId}/oauth2/authorize?x=1`)).to.equal(true);
    });

    it('login CSRF: an interaction cannot be finished by a browser without its binding cookie, a token, or from another origin', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const victim = agentOf(probe);
      const start = await victim.get(`/probe/${t.tenantId}/start`).expect(303);
      const f = formFields((await victim.get(String(start.headers.location)).expect(200)).text);
      const fields = { interaction: f.interaction, _csrf: f.csrf, loginId: u.loginId, password: PASSWORD };
      // The attacker knows the interaction id and even the token, but not the browser's binding cookie.
      const attacker = agentOf(probe);
      await postForm(attacker, `/tenants/${t.tenantId}/login`, fields).then((r) => expect(r.status).to.equal(403));
      await attacker.get(String(start.headers.location)).expect(400);
      // The victim's browser, tricked by a cross-site form: foreign Origin, or no token.
      await victim.post(`/tenants/${t.tenantId}/login`).set('Origin', 'https://evil.example').type('form').send(fields).expect(403);
      await victim.post(`/tenants/${t.tenantId}/login`).set('Sec-Fetch-Site', 'cross-site').type('form').send(fields).expect(403);
      await postForm(victim, `/tenants/${t.tenantId}/login`, { ...fields, _csrf: '' }).then((r) => expect(r.status).to.equal(403));
      const it = await LoginInteraction.findOne({ tenantId: t.tenantId, interactionId: f.interaction }).orFail().lean();
      expect(it.state).to.equal('identify');
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId })).to.equal(0);
      // Its own page, from its own browser: fine.
      const ok = await postForm(victim, `/tenants/${t.tenantId}/login`, fields);
      expect(ok.status).to.equal(303);
      expect(ok.headers.location).to.equal(`/tenants/${t.tenantId}/probe-return?login=${f.interaction}`);
      // Another browser cannot take the result either.
      expect((await attacker.get(`/probe/${t.tenantId}/result/${f.interaction}`).expect(200)).body).to.equal(null);
      expect((await victim.get(`/probe/${t.tenantId}/result/${f.interaction}`).expect(200)).body).to.include({ userId: u.userId });
    });

    it('an unknown or expired interaction shows the expired page, never a redirect elsewhere', async () => {
      const t = await makeTenant(app);
      const agent = agentOf(app);
      const form = await openLogin(agent, t);
      await LoginInteraction.updateOne(
        { tenantId: t.tenantId, interactionId: form.interaction },
        { $set: { expiresAt: new Date(Date.now() - 1000) } },
      );
      const res = await agent.get(form.url).expect(400);
      expect(res.text).to.include(`href="/tenants/${t.tenantId}/login"`);
      await agent.get(`/tenants/${t.alias}/login?interaction=AAAAAAAAAAAAAAAAAAAAAA`).expect(400);
    });
  });

  describe('the demo tenant', () => {
    it('its users sign in at the printed address with the printed password', async () => {
      const demo = await seedDemo({ baseUrl: testConfig().baseUrl, stamps: new ChangeStamps(), logger: silentLogger });
      expect(demo.loginUrl).to.equal(`${testConfig().baseUrl}/tenants/demo/login`);
      expect(demo.password).to.be.a('string');
      for (const u of DEMO_USERS) {
        const r = await signIn(agentOf(app), 'demo', u.loginId, demo.password!);
        expect(r.location).to.equal(`/tenants/${demo.tenantId}/portal?login=${r.interactionId}`);
      }
    });
  });

  describe('pages', () => {
    it('speak Korean, English or Japanese from Accept-Language, and the switcher remembers a choice', async () => {
      const t = await makeTenant(app);
      const agent = agentOf(app);
      const ko = await openLogin(agent, t, { 'Accept-Language': 'ko-KR,ko;q=0.9,en;q=0.5' });
      expect(ko.html).to.include('<html lang="ko">').and.include('로그인 ID');
      const ja = await agent.get(`${ko.url}&lang=ja`).expect(200);
      expect(ja.text).to.include('<html lang="ja">').and.include('ログイン ID');
      expect(cookieNamed(ja, 'gh_lang')).to.match(/^gh_lang=ja;/);
      const remembered = await agent.get(ko.url).set('Accept-Language', 'ko').expect(200);
      expect(remembered.text).to.include('<html lang="ja">');
      // Unknown values fall back; nothing of them is echoed.
      const en = await agentOf(app).get(`/tenants/${t.alias}/login?lang=%3Cscript%3E`).expect(303);
      expect(setCookies(en).some((c) => c.startsWith('gh_lang='))).to.equal(false);
    });

    it('labels every field, carry no inline script or style, and load only the tenant stylesheet', async () => {
      const t = await makeTenant(app);
      const form = await openLogin(agentOf(app), t);
      expect(form.html).to.include('<label for="loginId">').and.include('<label for="password">');
      expect(form.html).to.include('autocomplete="username"').and.include('autocomplete="current-password"');
      expect(form.html).not.to.match(/<script|style=|<style|onclick=/i);
      expect(form.html).not.to.include('Admin console');
      await agentOf(app)
        .get(`/tenants/${t.tenantId}/login/assets/auth.css`)
        .expect(200)
        .expect('Content-Type', /text\/css/);
    });
  });
});
