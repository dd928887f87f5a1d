/**
 * Security-bar cases for the end-user sign-in pages (reference/security-bar.md §6): #33 credential
 * POSTs answer 303, #34 framing and referrer headers, #35 operator injection through the form
 * and the query, #39 limits that rotating X-Forwarded-For or IPv6 addresses inside one /64 do not
 * reset, and the per-tenant ceiling.
 */
import { expect } from 'chai';
import {
  SSO_NETWORK_RULE,
  SSO_TENANT_RULE,
  ssoNetworkThrottleKey,
  ssoTenantThrottleKey,
  ssoUserThrottleKey,
} from '../../src/auth/login-flow.service.js';
import { LoginInteraction } from '../../src/auth/login-interaction.model.js';
import { isThrottled, recordFailure } from '../../src/iam/auth/login-throttle.js';
import { LoginThrottle } from '../../src/iam/auth/login-throttle.model.js';
import { SsoUserSession } from '../../src/sso/users/user-session.model.js';
import { testApp } from '../helpers/app.js';
import { useTestDatabase } from '../helpers/db.js';
import { SSO_ORIGIN, signIn } from '../helpers/sso-login.js';
import {
  PASSWORD,
  agentOf,
  followBlanked,
  giveTotpDevice,
  makeTenant,
  makeUser,
  openLogin,
  postPassword,
} from '../integration/auth/fixtures.js';

describe('security: end-user sign-in pages', function () {
  this.timeout(90_000);
  useTestDatabase('secsignin');
  const app = testApp({ db: { ping: async () => true } });

  it('#34: login, MFA and logout pages forbid framing and referrers, and are never cached', async () => {
    const t = await makeTenant(app);
    const u = await makeUser(t);
    await giveTotpDevice(t, u.userId);
    const agent = agentOf(app);
    const form = await openLogin(agent, t);
    const loginPage = await agent.get(form.url);
    const mfa = await postPassword(agent, t, form, u.loginId, PASSWORD);
    const pages = [loginPage, await agent.get(String(mfa.headers.location)), await agentOf(app).get(`/tenants/${t.alias}/logout`)];
    for (const p of pages) {
      expect(p.status).to.equal(200);
      expect(p.headers['content-security-policy'])
        .to.include("frame-ancestors 'none'")
        .and.include("script-src 'self'")
        .and.include("form-action 'self'");
      expect(p.headers['x-frame-options']).to.equal('DENY');
      expect(p.headers['referrer-policy']).to.equal('no-referrer');
      expect(p.headers['cache-control']).to.equal('no-store');
    }
  });

  it('#33: every credential POST (right or wrong password, code, logout) answers 303, never 307', async () => {
    const t = await makeTenant(app);
    const u = await makeUser(t);
    const agent = agentOf(app);
    const form = await openLogin(agent, t);
    const statuses = [(await postPassword(agent, t, form, u.loginId, 'not the password')).status];
    statuses.push((await postPassword(agent, t, form, u.loginId, PASSWORD)).status);
    const logoutPage = await agent.get(`/tenants/${t.alias}/logout`).expect(200);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(logoutPage.text)![1]!;
    statuses.push((await agent.post(`/tenants/${t.alias}/logout`).set('Origin', SSO_ORIGIN).type('form').send({ _csrf: csrf })).status);
    expect(statuses).to.deep.equal([303, 303, 303]);
  });

  describe('#35: operators in the form or the query never reach a filter', () => {
    it('loginId[$ne] / password[$ne] in the form are plain, empty fields: refused, no session', async () => {
      const t = await makeTenant(app);
      await makeUser(t);
      const agent = agentOf(app);
      const form = await openLogin(agent, t);
      const res = await agent
        .post(`/tenants/${t.tenantId}/login`)
        .set('Origin', SSO_ORIGIN)
        .type('form')
        .send(`interaction=${form.interaction}&_csrf=${form.csrf}&loginId[$ne]=x&password[$ne]=x&loginId[$gt]=&password[$regex]=.*`);
      expect(res.status).to.equal(303);
      expect(res.headers.location).to.equal(form.url);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId })).to.equal(0);
    });

    it('a JSON body {"loginId":{"$ne":null},"password":{"$ne":null}} is not read at all: 403, interaction untouched', async () => {
      const t = await makeTenant(app);
      await makeUser(t);
      const agent = agentOf(app);
      const form = await openLogin(agent, t);
      const res = await agent
        .post(`/tenants/${t.tenantId}/login`)
        .set('Origin', SSO_ORIGIN)
        .send({ interaction: form.interaction, _csrf: form.csrf, loginId: { $ne: null }, password: { $ne: null } });
      expect(res.status).to.equal(403);
      const it = await LoginInteraction.findOne({ tenantId: t.tenantId, interactionId: form.interaction }).orFail().lean();
      expect(it).to.include({ state: 'identify', userId: null, notice: null });
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId })).to.equal(0);
    });

    it('?user[$ne]=x and ?interaction[$ne]=x select nothing: a fresh interaction, or the expired page', async () => {
      const t = await makeTenant(app);
      const agent = agentOf(app);
      const fresh = await agent.get(`/tenants/${t.alias}/login?user[$ne]=x&interaction[$ne]=x`).expect(303);
      expect(String(fresh.headers.location)).to.match(/\/login\?interaction=[A-Za-z0-9_-]{22}$/);
      await agent.get(`/tenants/${t.alias}/login/mfa?interaction[$ne]=x`).expect(400);
      await agent.get(`/tenants/${t.alias}/login?interaction=${encodeURIComponent('{"$ne":null}')}`).expect(400);
      const form = await openLogin(agent, t);
      const res = await agent
        .post(`/tenants/${t.tenantId}/login`)
        .set('Origin', SSO_ORIGIN)
        .type('form')
        .send(`interaction[$ne]=x&_csrf=${form.csrf}&loginId=a&password=b`);
      expect(res.status).to.equal(403);
    });
  });

  describe('#39: limits that rotating addresses do not reset', () => {
    const proxied = testApp({ db: { ping: async () => true }, env: { TRUST_PROXY: '1' } });

    it('IPv6 addresses inside one /64, and client-written X-Forwarded-For entries, share one network counter', async () => {
      const t = await makeTenant(proxied);
      const u = await makeUser(t);
      const net = ssoNetworkThrottleKey('2001:db8:abcd:12::1');
      expect(ssoNetworkThrottleKey('2001:db8:abcd:12:ffff:ffff:ffff:fffe')).to.equal(net);
      for (let i = 0; i < SSO_NETWORK_RULE.limit - 1; i++) await recordFailure(net, SSO_NETWORK_RULE);
      // The 100th failure, from yet another address of the /64 (what the trusted proxy saw).
      const hundredth = { 'X-Forwarded-For': '2001:db8:abcd:12:1::5' };
      const a = agentOf(proxied);
      const f = await openLogin(a, t, hundredth);
      await postPassword(a, t, f, u.loginId, 'wrong', hundredth);
      expect(await isThrottled(net)).to.equal(true);

      // Now even the right password from that /64 is throttled, whatever the client prepends.
      const throttledPage = async (xff: string) => {
        const agent = agentOf(proxied);
        const form = await openLogin(agent, t, { 'X-Forwarded-For': xff });
        const res = await postPassword(agent, t, form, u.loginId, PASSWORD, { 'X-Forwarded-For': xff });
        expect(res.headers.location).to.equal(form.url);
        return followBlanked(agent, res, { 'X-Forwarded-For': xff });
      };
      const p1 = await throttledPage('2001:db8:abcd:12:ffff:ffff:ffff:fffe');
      const p2 = await throttledPage('198.51.100.1, 2001:db8:abcd:12::abcd');
      expect(p1.body).to.include('Too many');
      expect(p2).to.deep.equal(p1);
      expect(await SsoUserSession.countDocuments({ tenantId: t.tenantId })).to.equal(0);
      // Another /64 is not affected.
      await signIn(agentOf(proxied), t.alias, u.loginId, PASSWORD, { headers: { 'X-Forwarded-For': '2001:db8:abcd:13::1' } });
    });

    it('failures from many addresses still lock the one user', async () => {
      const t = await makeTenant(proxied, { lockoutThreshold: 3 });
      const u = await makeUser(t);
      for (const ip of ['192.0.2.1', '192.0.2.2', '2001:db8:9::1']) {
        const agent = agentOf(proxied);
        const form = await openLogin(agent, t, { 'X-Forwarded-For': ip });
        await postPassword(agent, t, form, u.loginId, 'wrong', { 'X-Forwarded-For': ip });
      }
      expect(await isThrottled(ssoUserThrottleKey(t.tenantId, u.loginId))).to.equal(true);
      const agent = agentOf(proxied);
      const form = await openLogin(agent, t, { 'X-Forwarded-For': '192.0.2.99' });
      expect((await postPassword(agent, t, form, u.loginId, PASSWORD, { 'X-Forwarded-For': '192.0.2.99' })).headers.location).to.equal(
        form.url,
      );
    });

    it('the per-tenant ceiling pauses that tenant only', async () => {
      const t = await makeTenant(app);
      const other = await makeTenant(app);
      const u = await makeUser(t);
      const v = await makeUser(other);
      const now = Date.now();
      await LoginThrottle.create({
        _id: ssoTenantThrottleKey(t.tenantId),
        failures: SSO_TENANT_RULE.limit,
        windowStart: new Date(now),
        lockedUntil: new Date(now + SSO_TENANT_RULE.lockMs),
        expiresAt: new Date(now + SSO_TENANT_RULE.lockMs),
      });
      const agent = agentOf(app);
      const form = await openLogin(agent, t);
      const res = await postPassword(agent, t, form, u.loginId, PASSWORD);
      expect(res.headers.location).to.equal(form.url);
      expect((await agent.get(form.url).expect(200)).text).to.include('Too many');
      await signIn(agentOf(app), other.alias, v.loginId, PASSWORD);
    });
  });
});
