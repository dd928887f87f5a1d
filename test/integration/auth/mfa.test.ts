/**
 * The second factor of end-user sign-in (issue 7 "Done when"; security-bar §4 "TOTP", "MFA
 * enrollment"; §6 #41, #42): password → TOTP → session, codes accepted once (sequentially and
 * in parallel), ±1 step, five wrong codes end the interaction, enrollment forced by the login
 * settings with the device inactive until its first code, e-mail and SMS one-time codes read from
 * the outbox, and a protocol's `requireMfa`.
 */
import { expect } from 'chai';
import { ssoUserThrottleKey } from '../../../src/auth/login-flow.service.js';
import { LoginInteraction } from '../../../src/auth/login-interaction.model.js';
import { findSsoSession } from '../../../src/auth/sso-session.js';
import { isThrottled } from '../../../src/iam/auth/login-throttle.js';
import { totpCode } from '../../../src/iam/mfa/totp.js';
import { createApp } from '../../../src/app.js';
import { readOutbox } from '../../../src/notifications/notifier.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { testConfig, testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { formFields, postForm, signIn, type SsoBrowser } from '../../helpers/sso-login.js';
import {
  PASSWORD,
  agentOf,
  capturingLogger,
  giveTotpDevice,
  makeTenant,
  makeUser,
  openLogin,
  postPassword,
  storedUser,
  withProtocolProbe,
  type TestTenant,
} from './fixtures.js';

describe('SSO sign-in: second factor', function () {
  this.timeout(90_000);
  useTestDatabase('ssomfa');
  const { logger, lines } = capturingLogger();
  const app = createApp({ config: testConfig(), logger, keyring: testKeyring(), db: { ping: async () => true } });

  /** Password step done; returns the MFA page's form. */
  async function toMfa(
    agent: SsoBrowser,
    t: TestTenant,
    loginId: string,
  ): Promise<{ interaction: string; csrf: string; html: string; url: string }> {
    const form = await openLogin(agent, t);
    const res = await postPassword(agent, t, form, loginId, PASSWORD);
    expect(res.status).to.equal(303);
    const url = String(res.headers.location);
    expect(url).to.equal(`/tenants/${t.tenantId}/login/mfa?interaction=${form.interaction}`);
    const page = await agent.get(url).expect(200);
    return { ...formFields(page.text), html: page.text, url };
  }
  const postCode = (agent: SsoBrowser, t: TestTenant, f: { interaction: string; csrf: string }, code: string) =>
    postForm(agent, `/tenants/${t.tenantId}/login/mfa`, { interaction: f.interaction, _csrf: f.csrf, code });

  describe('TOTP', () => {
    it('password → TOTP → a session with amr pwd+otp+mfa and acr mfa', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const secret = await giveTotpDevice(t, u.userId);
      const agent = agentOf(app);
      const f = await toMfa(agent, t, u.loginId);
      // No session yet: the password alone is not enough.
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId })).to.equal(0);
      expect(f.html).to.include('autocomplete="one-time-code"').and.include('<label for="code">');
      const res = await postCode(agent, t, f, await totpCode(secret));
      expect(res.status).to.equal(303);
      expect(String(res.headers.location)).to.equal(`/tenants/${t.tenantId}/portal?login=${f.interaction}`);
      const s = await SsoUserSession.findOne({ tenantId: t.tenantId, userId: u.userId }).orFail().lean();
      expect(s.amr).to.deep.equal(['pwd', 'otp', 'mfa']);
      expect(s.acr).to.equal('mfa');
      // The helper does the same.
      const r = await signIn(agentOf(app), t.alias, u.loginId, PASSWORD, { totpSecret: secret });
      expect(await findSsoSession(t.tenantId, r.token)).to.not.equal(null);
    });

    it('accepts the previous and next 30 s step, refuses a code two steps old', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const secret = await giveTotpDevice(t, u.userId);
      const now = Math.floor(Date.now() / 1000);
      const agent = agentOf(app);
      const f = await toMfa(agent, t, u.loginId);
      const old = await postCode(agent, t, f, await totpCode(secret, now - 60));
      expect(old.headers.location).to.equal(f.url);
      expect((await agent.get(f.url).expect(200)).text).to.include('role="alert"');
      const prev = await postCode(agent, t, f, await totpCode(secret, now - 30));
      expect(String(prev.headers.location)).to.match(/\/portal\?login=/);
      const a2 = agentOf(app);
      const f2 = await toMfa(a2, t, u.loginId);
      const next = await postCode(a2, t, f2, await totpCode(secret, now + 30));
      expect(String(next.headers.location)).to.match(/\/portal\?login=/);
    });

    it('a code is accepted once: replayed in a later sign-in it is refused and logged (RFC 6238 §5.2)', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const secret = await giveTotpDevice(t, u.userId);
      const code = await totpCode(secret);
      const a1 = agentOf(app);
      const f1 = await toMfa(a1, t, u.loginId);
      expect(String((await postCode(a1, t, f1, code)).headers.location)).to.match(/\/portal\?login=/);
      const a2 = agentOf(app);
      const f2 = await toMfa(a2, t, u.loginId);
      const replay = await postCode(a2, t, f2, code);
      expect(replay.status).to.equal(303);
      expect(replay.headers.location).to.equal(f2.url);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId, userId: u.userId })).to.equal(1);
      expect(lines.some((l) => l.userId === u.userId && String(l.msg).includes('reused'))).to.equal(true);
    });

    it('two parallel requests with the same code: exactly one session', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      const secret = await giveTotpDevice(t, u.userId);
      const a1 = agentOf(app);
      const a2 = agentOf(app);
      const [f1, f2] = await Promise.all([toMfa(a1, t, u.loginId), toMfa(a2, t, u.loginId)]);
      const code = await totpCode(secret);
      // Two browsers, and twice within one interaction.
      const results = await Promise.all([postCode(a1, t, f1, code), postCode(a2, t, f2, code), postCode(a1, t, f1, code)]);
      const completed = results.filter((r) => /\/portal\?login=/.test(String(r.headers.location)));
      expect(results.map((r) => r.status)).to.deep.equal([303, 303, 303]);
      expect(completed).to.have.length(1);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId, userId: u.userId })).to.equal(1);
    });

    it('five wrong codes end the interaction (even a right sixth is refused) and count toward the user lockout', async () => {
      const t = await makeTenant(app, { lockoutThreshold: 5 });
      const u = await makeUser(t);
      const secret = await giveTotpDevice(t, u.userId);
      const agent = agentOf(app);
      const f = await toMfa(agent, t, u.loginId);
      const right = await totpCode(secret);
      const wrong = right === '000000' ? '111111' : '000000';
      for (let i = 0; i < 4; i++) expect((await postCode(agent, t, f, wrong)).headers.location).to.equal(f.url);
      const fifth = await postCode(agent, t, f, wrong);
      expect(fifth.headers.location).to.equal(`/tenants/${t.tenantId}/login?interaction=${f.interaction}`);
      const sixth = await postCode(agent, t, f, right);
      expect(sixth.headers.location).to.equal(`/tenants/${t.tenantId}/login?interaction=${f.interaction}`);
      const it = await LoginInteraction.findOne({ tenantId: t.tenantId, interactionId: f.interaction }).orFail().lean();
      expect(it).to.include({ state: 'identify', userId: null });
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId })).to.equal(0);
      expect(await isThrottled(ssoUserThrottleKey(t.tenantId, u.loginId))).to.equal(true);
      // Locked: the right password now gets the common refusal.
      const form = await openLogin(agent, t);
      expect((await postPassword(agent, t, form, u.loginId, PASSWORD)).headers.location).to.equal(form.url);
    });

    it('a protocol requiring MFA makes a user without a device enroll one, and the user is told by e-mail', async () => {
      const t = await makeTenant(app);
      const email = `enrolled-${Date.now()}@mail.example`;
      const u = await makeUser(t, { userProfile: { email } });
      const probe = withProtocolProbe(app, testConfig());
      const agent = agentOf(probe);
      const start = await agent.get(`/probe/${t.tenantId}/start?mfa=1`).expect(303);
      const page = await agent.get(String(start.headers.location)).expect(200);
      const form = formFields(page.text);
      const res = await postForm(agent, `/tenants/${t.tenantId}/login`, {
        interaction: form.interaction,
        _csrf: form.csrf,
        loginId: u.loginId,
        password: PASSWORD,
      });
      expect(res.headers.location).to.equal(`/tenants/${t.tenantId}/login/mfa?interaction=${form.interaction}`);
      const enroll = await agent.get(String(res.headers.location)).expect(200);
      const secret = /<code class="secret">([A-Z2-7]+)<\/code>/.exec(enroll.text)?.[1];
      expect(secret).to.be.a('string');
      const done = await postForm(agent, `/tenants/${t.tenantId}/login/mfa`, {
        interaction: form.interaction,
        _csrf: form.csrf,
        code: await totpCode(secret!),
      });
      expect(done.headers.location).to.equal(`/tenants/${t.tenantId}/probe-return?login=${form.interaction}`);
      expect((await agent.get(`/probe/${t.tenantId}/result/${form.interaction}`).expect(200)).body).to.include({
        acr: 'mfa',
        userId: u.userId,
      });
      const [notice] = await readOutbox(email, 'mfaEnrolled');
      expect(notice?.text).to.include('authenticator app').and.not.include(secret!);
    });

    it('a user deleted between the password and the code is sent back to the login form, once', async () => {
      const t = await makeTenant(app);
      const u = await makeUser(t);
      await giveTotpDevice(t, u.userId);
      const agent = agentOf(app);
      const f = await toMfa(agent, t, u.loginId);
      await t.root.call('delete', `/api/v1/sso/users/${u.userId}`).expect((r) => expect(r.status).to.be.oneOf([200, 204]));
      const res = await agent.get(f.url).expect(303);
      expect(res.headers.location).to.equal(`/tenants/${t.tenantId}/login?interaction=${f.interaction}`);
      const page = await agent.get(String(res.headers.location)).expect(200);
      expect(page.text).to.include('name="password"');
    });
  });

  describe('enrollment forced by the login settings', () => {
    it('shows a QR code and the key; the device stays inactive until its first code, which signs the user in', async () => {
      // MFA needs possession authentication on (reference §1); this user has no e-mail to use.
      const t = await makeTenant(app, {
        possessionAuthenticationEnabled: true,
        possessionAuthenticationTypes: ['Email'],
        multiFactorAuthenticationEnabled: true,
      });
      const u = await makeUser(t);
      const agent = agentOf(app);
      const f = await toMfa(agent, t, u.loginId);
      expect(f.html).to.match(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+" alt="[^"]+"/);
      const secret = /<code class="secret">([A-Z2-7]+)<\/code>/.exec(f.html)?.[1];
      expect(secret).to.be.a('string');
      // Shown, not yet stored on the user; the interaction keeps it encrypted only.
      let stored = await storedUser(t, u.userId);
      expect(stored.mfaEnabled).to.equal(false);
      expect(stored.mfaSecretEncrypted).to.equal(null);
      const it = await LoginInteraction.findOne({ tenantId: t.tenantId, interactionId: f.interaction })
        .select('+enrollSecretEncrypted')
        .orFail()
        .lean();
      expect(it.enrollSecretEncrypted).to.be.a('string').and.not.include(secret!);
      // A wrong code activates nothing.
      const right = await totpCode(secret!);
      await postCode(agent, t, f, right === '000000' ? '111111' : '000000');
      expect((await storedUser(t, u.userId)).mfaEnabled).to.equal(false);
      const res = await postCode(agent, t, f, right);
      expect(String(res.headers.location)).to.match(/\/portal\?login=/);
      stored = await storedUser(t, u.userId);
      expect(stored.mfaEnabled).to.equal(true);
      expect(stored.mfaSecretEncrypted).to.be.a('string').and.not.include(secret!);
      expect(stored.mfaLastStep).to.be.greaterThan(0);
      const s = await SsoUserSession.findOne({ tenantId: t.tenantId, userId: u.userId }).orFail().lean();
      expect(s.acr).to.equal('mfa');
      // From now on the device is asked for; its first code cannot be replayed.
      const a2 = agentOf(app);
      const f2 = await toMfa(a2, t, u.loginId);
      expect(f2.html).not.to.include('class="secret"');
      expect((await postCode(a2, t, f2, right)).headers.location).to.equal(f2.url);
    });
  });

  describe('possession authentication: e-mail and SMS one-time codes', () => {
    async function codeFromOutbox(to: string, kind: string): Promise<string> {
      const [m] = await readOutbox(to, kind);
      const code = /\b(\d{6})\b/.exec(m?.text ?? '')?.[1];
      if (!code) throw new Error(`no ${kind} code for ${to}`);
      return code;
    }

    it('e-mails a 6-digit code (read from the outbox) that signs in once, within 5 minutes', async () => {
      const t = await makeTenant(app, { possessionAuthenticationEnabled: true, possessionAuthenticationTypes: ['Email'] });
      const email = `otp-${Date.now()}@mail.example`;
      const u = await makeUser(t, { userProfile: { email } });
      const agent = agentOf(app);
      const f = await toMfa(agent, t, u.loginId);
      expect(f.html).to.include('o•••@mail.example').and.not.include(email);
      const code = await codeFromOutbox(email, 'otp');
      const it = await LoginInteraction.findOne({ tenantId: t.tenantId, interactionId: f.interaction }).select('+otpHash').orFail().lean();
      expect(it.otpHash).to.be.a('string').and.not.equal(code);
      expect(it.otpExpiresAt!.getTime() - Date.now()).to.be.within(4 * 60_000, 5 * 60_000);
      const res = await postCode(agent, t, f, code);
      expect(String(res.headers.location)).to.match(/\/portal\?login=/);
      const s = await SsoUserSession.findOne({ tenantId: t.tenantId, userId: u.userId }).orFail().lean();
      expect(s.amr).to.deep.equal(['pwd', 'otp', 'mfa']);
      expect(s.acr).to.equal('mfa');

      // Another sign-in gets a new code; the old one does not work there, and an expired one neither.
      const a2 = agentOf(app);
      const f2 = await toMfa(a2, t, u.loginId);
      const code2 = await codeFromOutbox(email, 'otp');
      if (code2 !== code) expect((await postCode(a2, t, f2, code)).headers.location).to.equal(f2.url);
      await LoginInteraction.updateOne(
        { tenantId: t.tenantId, interactionId: f2.interaction },
        { $set: { otpExpiresAt: new Date(Date.now() - 1000) } },
      );
      expect((await postCode(a2, t, f2, code2)).headers.location).to.equal(f2.url);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId, userId: u.userId })).to.equal(1);
    });

    it('texts the code through the notifier (kind sms, to the phone number): amr pwd+sms+mfa', async () => {
      const t = await makeTenant(app, { possessionAuthenticationEnabled: true, possessionAuthenticationTypes: ['SMS'] });
      const phoneNo = `010${String(Date.now()).slice(-8)}`;
      const u = await makeUser(t, { userProfile: { phoneCountryCode: '+82', phoneNo } });
      const agent = agentOf(app);
      const f = await toMfa(agent, t, u.loginId);
      const code = await codeFromOutbox(`+82${phoneNo}`, 'sms');
      const res = await postCode(agent, t, f, code);
      expect(String(res.headers.location)).to.match(/\/portal\?login=/);
      const s = await SsoUserSession.findOne({ tenantId: t.tenantId, userId: u.userId }).orFail().lean();
      expect(s.amr).to.deep.equal(['pwd', 'sms', 'mfa']);
    });

    it('a user with a TOTP device may choose an e-mailed code instead, and the sends are bounded', async () => {
      const t = await makeTenant(app, { possessionAuthenticationEnabled: true, possessionAuthenticationTypes: ['Email'] });
      const email = `choose-${Date.now()}@mail.example`;
      const u = await makeUser(t, { userProfile: { email } });
      await giveTotpDevice(t, u.userId);
      const agent = agentOf(app);
      const f = await toMfa(agent, t, u.loginId);
      expect(f.html).to.include('name="send" value="email"');
      const send = () => postForm(agent, `/tenants/${t.tenantId}/login/mfa`, { interaction: f.interaction, _csrf: f.csrf, send: 'email' });
      expect((await send()).headers.location).to.equal(f.url);
      const code = await codeFromOutbox(email, 'otp');
      await send();
      await send();
      await send();
      expect(await readOutbox(email, 'otp')).to.have.length(3);
      expect((await agent.get(f.url).expect(200)).text).to.include('role="alert"');
      const latest = await codeFromOutbox(email, 'otp');
      if (latest !== code) expect((await postCode(agent, t, f, code)).headers.location).to.equal(f.url);
      expect(String((await postCode(agent, t, f, latest)).headers.location)).to.match(/\/portal\?login=/);
      const s = await SsoUserSession.findOne({ tenantId: t.tenantId, userId: u.userId }).orFail().lean();
      expect(s.amr).to.deep.equal(['pwd', 'otp', 'mfa']);
    });
  });
});
