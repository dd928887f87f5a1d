/**
 * Security-bar §6 cases 23-34 and 45 against the OpenID Provider (reference/security-bar.md §3):
 * each a request with its expected outcome, on the real engine. Cases 27 (rotated refresh token
 * reuse) and 32 (logout redirects) have their full scenarios in test/integration/oidc/; they are
 * repeated here in short form so this file is the checklist.
 */
import { createHash, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import * as oidc from 'openid-client';
import { useTestDatabase } from '../helpers/db.js';
import { Browser, seedClient, seedSsoSession, seedTenant, seedUser, startApp, type RunningApp, type SeededClient } from '../integration/oidc/oidc-fixtures.js';

const REDIRECT = 'https://rp.example.com/cb';
const insecure = { execute: [oidc.allowInsecureRequests] };
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('security bar: OpenID Provider (cases 23-34, 45)', function () {
  this.timeout(60_000);
  useTestDatabase('oidcbar');
  let running: RunningApp;
  let tenant: { tenantId: string; accountId: number; alias: string };
  let other: { tenantId: string; accountId: number; alias: string };
  let userId: string;
  let issuer: string;
  let client: SeededClient;
  let config: oidc.Configuration;
  let browser: Browser;

  before(async () => {
    running = await startApp();
    tenant = await seedTenant();
    other = await seedTenant();
    userId = await seedUser(tenant, 'mallory-target');
    issuer = `${running.baseUrl}/tenants/${tenant.tenantId}`;
    client = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT] });
    config = await oidc.discovery(new URL(issuer), client.clientId, client.clientSecret, oidc.ClientSecretBasic(client.clientSecret!), insecure);
    browser = new Browser();
    browser.setCookie((await seedSsoSession(tenant, userId)).cookie);
  });
  after(async () => running.close());

  const challengeOf = (v: string) => createHash('sha256').update(v).digest('base64url');

  function authUrl(params: Record<string, string | undefined>, iss = issuer): string {
    const u = new URL(`${iss}/oauth2/authorize`);
    const all: Record<string, string | undefined> = { client_id: client.clientId, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, state: 's1', ...params };
    for (const [k, v] of Object.entries(all)) if (v !== undefined) u.searchParams.set(k, v);
    return u.href;
  }

  async function codeFor(verifier: string, extra: Record<string, string> = {}): Promise<URL> {
    const res = await browser.follow(authUrl({ code_challenge: challengeOf(verifier), code_challenge_method: 'S256', nonce: 'n-1', ...extra }), REDIRECT);
    expect(res.location?.startsWith(REDIRECT), `${res.status} ${res.body.slice(0, 300)}`).to.equal(true);
    return new URL(res.location!);
  }

  async function tokenRequest(form: Record<string, string>, auth = true): Promise<{ status: number; body: Record<string, unknown> }> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (auth) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret!)}`).toString('base64')}`;
    const res = await fetch(`${issuer}/oauth2/token`, { method: 'POST', headers, body: new URLSearchParams(form).toString() });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('#23 redirect_uri variants (slash, case, query, userinfo, %25@, other port) → error page, no redirect', async () => {
    const variants = [
      'https://rp.example.com/cb/',
      'https://RP.example.com/cb',
      'https://rp.example.com/CB',
      'https://rp.example.com/cb?x=1',
      'https://rp.example.com@evil.example/cb',
      'https://rp.example.com%25@evil.example/cb',
      'https://evil.example/cb#https://rp.example.com/cb',
      'https://rp.example.com:8443/cb',
      'http://rp.example.com/cb',
    ];
    for (const redirect_uri of variants) {
      const res = await browser.get(authUrl({ redirect_uri, code_challenge: challengeOf('x'.repeat(43)), code_challenge_method: 'S256' }));
      expect(res.status, redirect_uri).to.equal(400);
      expect(res.location, redirect_uri).to.equal(undefined);
      expect(res.headers.get('content-type')).to.match(/text\/html/);
      expect(res.body).to.include('invalid_redirect_uri');
    }
  });

  it('#24 /authorize without code_challenge, or with method plain → invalid_request', async () => {
    const missing = await browser.follow(authUrl({}), REDIRECT);
    expect(new URL(missing.location!).searchParams.get('error')).to.equal('invalid_request');
    const plain = await browser.follow(authUrl({ code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }), REDIRECT);
    expect(new URL(plain.location!).searchParams.get('error')).to.equal('invalid_request');
  });

  it('#25 wrong or missing code_verifier → invalid_grant', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const cb = await codeFor(verifier);
    const wrong = await tokenRequest({ grant_type: 'authorization_code', code: cb.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: randomBytes(32).toString('base64url') });
    expect(wrong.status).to.equal(400);
    expect(wrong.body.error).to.equal('invalid_grant');
    const cb2 = await codeFor(verifier);
    const none = await tokenRequest({ grant_type: 'authorization_code', code: cb2.searchParams.get('code')!, redirect_uri: REDIRECT });
    expect(none.body.error).to.be.oneOf(['invalid_grant', 'invalid_request']);
  });

  it('#26 a replayed code → invalid_grant and the first redemption’s tokens revoked; concurrent redemptions give one set at most', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const cb = await codeFor(verifier);
    const form = { grant_type: 'authorization_code', code: cb.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier };
    const first = await tokenRequest(form);
    expect(first.status).to.equal(200);
    const replay = await tokenRequest(form);
    expect(replay.body.error).to.equal('invalid_grant');
    expect((await oidc.tokenIntrospection(config, String(first.body.access_token))).active).to.equal(false);

    const cb2 = await codeFor(verifier);
    const form2 = { ...form, code: cb2.searchParams.get('code')! };
    const both = await Promise.all([tokenRequest(form2), tokenRequest(form2)]);
    const ok = both.filter((r) => r.status === 200);
    expect(ok.length).to.be.at.most(1);
    for (const r of both.filter((x) => x.status !== 200)) expect(r.body.error).to.equal('invalid_grant');
    if (ok[0]) {
      // A concurrent second redemption revoked the grant: the winner's token is dead too.
      expect((await oidc.tokenIntrospection(config, String(ok[0].body.access_token))).active).to.equal(false);
    }
  });

  it('#27 a rotated refresh token reused → invalid_grant, the newer token revoked', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const cb = await codeFor(verifier, { scope: 'openid offline_access', prompt: 'consent' });
    const t1 = await tokenRequest({ grant_type: 'authorization_code', code: cb.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier });
    const t2 = await tokenRequest({ grant_type: 'refresh_token', refresh_token: String(t1.body.refresh_token) });
    expect(t2.status).to.equal(200);
    const reuse = await tokenRequest({ grant_type: 'refresh_token', refresh_token: String(t1.body.refresh_token) });
    expect(reuse.body.error).to.equal('invalid_grant');
    const newer = await tokenRequest({ grant_type: 'refresh_token', refresh_token: String(t2.body.refresh_token) });
    expect(newer.body.error).to.equal('invalid_grant');
  });

  it('#28 authorization responses carry iss; metadata says so', async () => {
    const cb = await codeFor(randomBytes(32).toString('base64url'));
    expect(cb.searchParams.get('iss')).to.equal(issuer);
    const errorResponse = await browser.follow(authUrl({ code_challenge_method: 'plain', code_challenge: 'x'.repeat(43) }), REDIRECT);
    expect(new URL(errorResponse.location!).searchParams.get('iss')).to.equal(issuer);
    const meta = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta.authorization_response_iss_parameter_supported).to.equal(true);
  });

  it('#29 response_type=token, id_token token, code id_token → unsupported_response_type', async () => {
    for (const response_type of ['token', 'id_token token', 'code id_token', 'id_token']) {
      const res = await browser.follow(authUrl({ response_type, nonce: 'n', code_challenge: challengeOf('y'.repeat(43)), code_challenge_method: 'S256' }), REDIRECT);
      const target = res.location ? new URL(res.location) : undefined;
      const error = target?.searchParams.get('error') ?? new URLSearchParams(target?.hash.slice(1)).get('error') ?? (/invalid_request|unsupported_response_type/.exec(res.body)?.[0] ?? null);
      expect(error, response_type).to.equal('unsupported_response_type');
      expect(target?.hash ?? '').not.to.include('access_token');
    }
  });

  it('#30 the ID token echoes nonce; id_token_hint and request objects with alg none or HS256 keyed by our public key are rejected', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const cb = await codeFor(verifier, { nonce: 'nonce-30' });
    const tokens = await oidc.authorizationCodeGrant(config, cb, { pkceCodeVerifier: verifier, expectedNonce: 'nonce-30', expectedState: 's1' });
    expect(tokens.claims()!.nonce).to.equal('nonce-30');

    const jwks = (await (await fetch(`${issuer}/oauth2/jwks`)).json()) as { keys: { kty: string; n?: string }[] };
    const publicPem = JSON.stringify(jwks.keys.find((k) => k.kty === 'RSA'));
    const claims = { iss: issuer, aud: client.clientId, sub: userId, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 };
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
    const hs = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(publicPem));
    for (const hint of [none, hs]) {
      const logout = await browser.get(`${issuer}/oauth2/logout?id_token_hint=${hint}`);
      expect(logout.status).to.equal(400);
      const auth = await browser.follow(authUrl({ id_token_hint: hint, prompt: 'none', code_challenge: challengeOf(verifier), code_challenge_method: 'S256' }), REDIRECT);
      const err = auth.location ? new URL(auth.location).searchParams.get('error') : 'page';
      expect(err).to.be.oneOf(['invalid_request', 'login_required', 'page']);
      expect(auth.location ? new URL(auth.location).searchParams.get('code') : null).to.equal(null);
      // Request objects are not accepted at all.
      const ro = await browser.follow(authUrl({ request: hint, code_challenge: challengeOf(verifier), code_challenge_method: 'S256' }), REDIRECT);
      expect(ro.location ? new URL(ro.location).searchParams.get('error') : 'page').to.be.oneOf(['request_not_supported', 'invalid_request', 'page']);
      expect(ro.location ? new URL(ro.location).searchParams.get('code') : null).to.equal(null);
    }
  });

  describe('private_key_jwt (#30 assertions, #31)', () => {
    let pkClient: SeededClient;
    let privateKey: CryptoKey;
    before(async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      privateKey = pair.privateKey;
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'rp-key-1', alg: 'ES256', use: 'sig' };
      pkClient = await seedClient(tenant, running.stamps, { clientAuthMethod: 'private_key_jwt', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['openid'], jwks: JSON.stringify({ keys: [jwk] }) });
    });

    async function assertion(overrides: Record<string, unknown> = {}, alg: 'ES256' | 'none' | 'HS256' = 'ES256'): Promise<string> {
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: pkClient.clientId, sub: pkClient.clientId, aud: issuer, jti: randomBytes(12).toString('base64url'), iat: now, exp: now + 60, ...overrides };
      if (alg === 'none') return `${b64({ alg: 'none' })}.${b64(claims)}.`;
      if (alg === 'HS256') return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode('public-key-as-secret-public-key-as-secret'));
      return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'rp-key-1' }).sign(privateKey);
    }

    const cc = async (clientAssertion: string) => {
      const res = await fetch(`${issuer}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: pkClient.clientId, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: clientAssertion }).toString(),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    it('a valid assertion works once; the same jti again (sequential or concurrent) → invalid_client', async () => {
      const a = await assertion();
      expect((await cc(a)).status).to.equal(200);
      const again = await cc(a);
      expect(again.status).to.equal(401);
      expect(again.body.error).to.equal('invalid_client');
      const b = await assertion();
      const both = await Promise.all([cc(b), cc(b)]);
      expect(both.filter((r) => r.status === 200).length).to.equal(1);
      expect(both.find((r) => r.status !== 200)?.body.error).to.equal('invalid_client');
    });

    it('an audience other than this issuer (another tenant’s issuer, another URL) → invalid_client', async () => {
      // rfc7523bis: exactly the issuer, one string; not the token endpoint, not a list holding the issuer.
      for (const aud of [`${running.baseUrl}/tenants/${other.tenantId}`, 'https://evil.example/token', [issuer, 'https://evil.example'], `${issuer}/oauth2/token`]) {
        const r = await cc(await assertion({ aud }));
        expect(r.body.error, JSON.stringify(aud)).to.equal('invalid_client');
      }
    });

    it('an assertion next to HTTP Basic credentials gets no token (one authentication method per request)', async () => {
      const res = await fetch(`${issuer}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${pkClient.clientId}:x`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await assertion({ aud: `${issuer}/oauth2/token` }) }).toString(),
      });
      expect(res.status).to.be.oneOf([400, 401]);
      expect(((await res.json()) as { access_token?: string }).access_token).to.equal(undefined);
    });

    it('alg none and HS256 assertions → invalid_client', async () => {
      expect((await cc(await assertion({}, 'none'))).body.error).to.equal('invalid_client');
      expect((await cc(await assertion({}, 'HS256'))).body.error).to.equal('invalid_client');
    });
  });

  it('#33 the consent POST and the interaction results answer 303, never 307', async () => {
    const consenting = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT], consent: true });
    const u = new URL(authUrl({ code_challenge: challengeOf('z'.repeat(43)), code_challenge_method: 'S256' }));
    u.searchParams.set('client_id', consenting.clientId);
    const page = await browser.follow(u, REDIRECT);
    expect(page.status).to.equal(200);
    const action = /<form method="post" action="([^"]+)"/.exec(page.body)![1]!.replaceAll('&amp;', '&');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const forged = await browser.post(new URL(action, running.baseUrl), { csrf: 'forged', decision: 'allow' });
    expect(forged.status).to.equal(403);
    const posted = await browser.post(new URL(action, running.baseUrl), { csrf, decision: 'allow' });
    expect(posted.status).to.equal(303);
  });

  it('#34 interaction and error pages: frame-ancestors none, X-Frame-Options DENY, no referrer; form_post page posts only to the client origin', async () => {
    const consenting = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT], consent: true });
    const u = new URL(authUrl({ code_challenge: challengeOf('z'.repeat(43)), code_challenge_method: 'S256' }));
    u.searchParams.set('client_id', consenting.clientId);
    for (const res of [await browser.follow(u, REDIRECT), await browser.get(authUrl({ redirect_uri: 'https://evil.example/' }))]) {
      expect(res.headers.get('content-security-policy')).to.include("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options')).to.equal('DENY');
      expect(res.headers.get('referrer-policy')).to.equal('no-referrer');
      expect(res.body).not.to.match(/<script>/);
      expect(res.body).not.to.match(/<style>/);
    }
    const fp = await browser.follow(authUrl({ code_challenge: challengeOf('w'.repeat(43)), code_challenge_method: 'S256', response_mode: 'form_post' }), REDIRECT);
    expect(fp.status).to.equal(200);
    const csp = fp.headers.get('content-security-policy')!;
    const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    expect(directives['form-action']).to.deep.equal(['https://rp.example.com']);
    expect(directives['frame-ancestors']).to.deep.equal(["'none'"]);
    const script = /<script>([^<]*)<\/script>/.exec(fp.body)![1]!;
    expect(directives['script-src']).to.include(`'sha256-${createHash('sha256').update(script).digest('base64')}'`);
    expect(directives['script-src']).not.to.include("'unsafe-inline'");
    expect(fp.body).to.include(`action="${REDIRECT}"`).and.include('name="code"').and.include('name="iss"');
  });

  it('#45 a token, code or client of tenant A is invalid at tenant B’s issuer', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const cb = await codeFor(verifier);
    const otherIssuer = `${running.baseUrl}/tenants/${other.tenantId}`;
    // The code at B's token endpoint: the client is unknown there.
    const atB = await fetch(`${otherIssuer}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret!}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: cb.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier }).toString(),
    });
    expect(atB.status).to.equal(401);
    expect(((await atB.json()) as { error: string }).error).to.equal('invalid_client');
    // A's access token at B's userinfo and B's introspection (by B's own client): invalid.
    const tokens = await tokenRequest({ grant_type: 'authorization_code', code: (await codeFor(verifier)).searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier });
    const accessToken = String(tokens.body.access_token);
    const userinfo = await fetch(`${otherIssuer}/oauth2/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(userinfo.status).to.equal(401);
    const bClient = await seedClient(other, running.stamps, { grantTypes: ['client_credentials'], redirectUris: [], scopes: ['openid'] });
    const bConfig = await oidc.discovery(new URL(otherIssuer), bClient.clientId, bClient.clientSecret, oidc.ClientSecretBasic(bClient.clientSecret!), insecure);
    expect((await oidc.tokenIntrospection(bConfig, accessToken)).active).to.equal(false);
    // A's client at B's authorization endpoint: an error page, no redirect.
    const authAtB = await browser.get(authUrl({ code_challenge: challengeOf(verifier), code_challenge_method: 'S256' }, otherIssuer));
    expect(authAtB.status).to.equal(400);
    expect(authAtB.location).to.equal(undefined);
    // And A's ID token does not verify against B's keys.
    const bJwks = (await (await fetch(`${otherIssuer}/oauth2/jwks`)).json()) as { keys: { kid: string }[] };
    const kid = (JSON.parse(Buffer.from(String(tokens.body.id_token).split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
    expect(bJwks.keys.map((k) => k.kid)).not.to.include(kid);
  });
});
