/**
 * Logout tied to the Gatehouse session (issue 8): RP-initiated logout with a registered
 * post_logout_redirect_uri and id_token_hint ends the Gatehouse session too, and back-channel
 * logout tokens reach the clients that took part, signed by the tenant's key (verified with jose
 * against the JWKS), when the Gatehouse session ends anywhere (logout, admin expiry, ...).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { endSsoSession } from '../../../src/auth/sso-session.js';
import { OidcArtifact } from '../../../src/oidc/artifact.model.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { useTestDatabase } from '../../helpers/db.js';
import { Browser, seedClient, seedSsoSession, seedTenant, seedUser, startApp, type RunningApp, type SeededClient } from './oidc-fixtures.js';

const REDIRECT = 'https://rp.example.com/cb';
const BYE = 'https://rp.example.com/bye';
const insecure = { execute: [oidc.allowInsecureRequests] };

interface Received {
  path: string;
  logoutToken: string;
}

describe('OIDC provider: RP-initiated and back-channel logout', function () {
  this.timeout(60_000);
  useTestDatabase('oidclogout');
  let running: RunningApp;
  let rpServer: Server;
  let rpBase: string;
  const received: Received[] = [];
  let tenant: { tenantId: string; accountId: number; alias: string };
  let userId: string;
  let issuer: string;
  const realFetch = globalThis.fetch;

  before(async () => {
    running = await startApp();
    rpServer = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        received.push({ path: req.url ?? '', logoutToken: new URLSearchParams(body).get('logout_token') ?? '' });
        res.statusCode = 200;
        res.end();
      });
    });
    await new Promise<void>((resolve) => rpServer.listen(0, '127.0.0.1', resolve));
    rpBase = `http://127.0.0.1:${(rpServer.address() as AddressInfo).port}`;
    // oidc-provider refuses outgoing requests to special-use addresses (SSRF protection, kept in
    // production); this test's back-channel endpoint is on loopback, so only requests to it go
    // without that dispatcher.
    globalThis.fetch = (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url.startsWith(rpBase) && init) delete (init as { dispatcher?: unknown }).dispatcher;
      return realFetch(input, init);
    };
    tenant = await seedTenant();
    userId = await seedUser(tenant, 'grace');
    issuer = `${running.baseUrl}/tenants/${tenant.tenantId}`;
  });
  after(async () => {
    globalThis.fetch = realFetch;
    await running.close();
    await new Promise<void>((resolve) => rpServer.close(() => resolve()));
  });

  const rp = (client: SeededClient) => oidc.discovery(new URL(issuer), client.clientId, client.clientSecret, oidc.ClientSecretBasic(client.clientSecret!), insecure);

  async function signInTo(browser: Browser, config: oidc.Configuration) {
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce });
    const res = await browser.follow(url, REDIRECT);
    expect(res.location?.startsWith(REDIRECT), res.body.slice(0, 300)).to.equal(true);
    return oidc.authorizationCodeGrant(config, new URL(res.location!), { pkceCodeVerifier: verifier, expectedNonce: nonce });
  }

  async function waitFor(n: number, path: string): Promise<Received[]> {
    for (let i = 0; i < 50; i++) {
      const got = received.filter((r) => r.path === path);
      if (got.length >= n) return got;
      await new Promise((r) => setTimeout(r, 100));
    }
    return received.filter((r) => r.path === path);
  }

  async function verifyLogoutToken(token: string, clientId: string) {
    const jwks = createRemoteJWKSet(new URL(`${issuer}/oauth2/jwks`));
    const { payload, protectedHeader } = await jwtVerify(token, jwks, { issuer, audience: clientId, algorithms: ['RS256', 'ES256'] });
    expect(protectedHeader.typ).to.equal('logout+jwt');
    expect(payload.sub).to.equal(userId);
    expect(payload.events).to.deep.equal({ 'http://schemas.openid.net/event/backchannel-logout': {} });
    expect(payload.sid).to.be.a('string');
    expect(payload).not.to.have.property('nonce');
    return payload;
  }

  it('RP-initiated logout: registered post_logout_redirect_uri with id_token_hint → redirect with state, Gatehouse session ended, back-channel to the other client', async () => {
    const a = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT], postLogoutRedirectUris: [BYE], backchannelLogoutUri: `${rpBase}/a` });
    const b = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT], backchannelLogoutUri: `${rpBase}/b` });
    const browser = new Browser();
    const sso = await seedSsoSession(tenant, userId);
    browser.setCookie(sso.cookie);
    const configA = await rp(a);
    const tokensA = await signInTo(browser, configA);
    const tokensB = await signInTo(browser, await rp(b));
    const sidA = tokensA.claims()!.sid;

    const logoutUrl = oidc.buildEndSessionUrl(configA, { id_token_hint: tokensA.id_token!, post_logout_redirect_uri: BYE, state: 'st-1' });
    const page = await browser.get(logoutUrl);
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-security-policy')).to.include("frame-ancestors 'none'");
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)?.[1];
    const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(page.body)?.[1];
    expect(xsrf && action).to.be.a('string');
    const done = await browser.post(action!, { xsrf: xsrf!, logout: 'yes' });
    expect(done.status).to.equal(303);
    expect(done.location).to.equal(`${BYE}?state=st-1`);

    // The Gatehouse session is over, and its cookie cleared.
    expect(await SsoUserSession.countDocuments({ tenantId: tenant.tenantId, sessionId: sso.sessionId })).to.equal(0);
    expect([...browser.cookies.keys()].some((k) => k === `gh_sso_${tenant.tenantId}`)).to.equal(false);

    const [toA] = await waitFor(1, '/a');
    const [toB] = await waitFor(1, '/b');
    expect(toA && toB, 'both clients heard of the logout').to.not.equal(undefined);
    const pa = await verifyLogoutToken(toA!.logoutToken, a.clientId);
    expect(pa.sid).to.equal(sidA);
    await verifyLogoutToken(toB!.logoutToken, b.clientId);
    // Their tokens died with the session's grants.
    expect((await oidc.tokenIntrospection(await rp(b), tokensB.access_token)).active).to.equal(false);
  });

  it('ending the Gatehouse session elsewhere (admin expiry) sends back-channel logout and ends the provider session', async () => {
    const c = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT], backchannelLogoutUri: `${rpBase}/c` });
    const browser = new Browser();
    const sso = await seedSsoSession(tenant, userId);
    browser.setCookie(sso.cookie);
    const config = await rp(c);
    const tokens = await signInTo(browser, config);
    expect(await OidcArtifact.countDocuments({ tenantId: tenant.tenantId, model: 'Session', ssoSessionId: sso.sessionId })).to.equal(1);

    await endSsoSession(tenant.tenantId, sso.sessionId, 'adminExpired');
    const [toC] = await waitFor(1, '/c');
    expect(toC).to.not.equal(undefined);
    const payload = await verifyLogoutToken(toC!.logoutToken, c.clientId);
    expect(payload.sid).to.equal(tokens.claims()!.sid);
    expect(await OidcArtifact.countDocuments({ tenantId: tenant.tenantId, model: 'Session', ssoSessionId: sso.sessionId })).to.equal(0);
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).to.equal(false);
  });

  it('logout with an unregistered post_logout_redirect_uri, or without a valid id_token_hint, redirects nowhere (security-bar #32)', async () => {
    const d = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT], postLogoutRedirectUris: [BYE] });
    const browser = new Browser();
    browser.setCookie((await seedSsoSession(tenant, userId)).cookie);
    const config = await rp(d);
    const tokens = await signInTo(browser, config);
    const unregistered = await browser.get(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.example.com/' }));
    expect(unregistered.status).to.equal(400);
    expect(unregistered.location).to.equal(undefined);
    expect(unregistered.body).to.include('post_logout_redirect_uri not registered');
    // Without id_token_hint the redirect URI is dropped, even with the client named: the user ends on Gatehouse's own page.
    const noHint = await browser.get(`${issuer}/oauth2/logout?client_id=${d.clientId}&state=x&post_logout_redirect_uri=${encodeURIComponent(BYE)}`);
    expect(noHint.status).to.equal(200);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(noHint.body)![1]!;
    const done = await browser.post(`${issuer}/oauth2/logout/confirm`, { xsrf, logout: 'yes' });
    expect(done.status).to.equal(303);
    expect(done.location?.startsWith(BYE)).to.equal(false);
    expect(done.location).to.equal(`${issuer}/oauth2/logout/success`);
    // A forged id_token_hint (signed by a stranger's key) is refused.
    const forged = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ iss: issuer, aud: d.clientId, sub: userId })).toString('base64url')}.`;
    const bad = await browser.get(`${issuer}/oauth2/logout?id_token_hint=${forged}&post_logout_redirect_uri=${encodeURIComponent(BYE)}`);
    expect(bad.status).to.equal(400);
    expect(bad.location).to.equal(undefined);
  });
});
