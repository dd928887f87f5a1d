/**
 * The OpenID Provider driven by openid-client (npm) as a relying party, against the real engine
 * (issue 8 "Done when"): discovery, code + PKCE through the Gatehouse session and the consent
 * page, ID token validation (signature via JWKS, nonce, iss, aud), userinfo and the claims,
 * refresh with rotation and reuse → grant revoked, client credentials, introspection, revocation,
 * alias URLs, key rotation without failing a token issued before it, and an ended or idle
 * Gatehouse session making the provider ask for login again.
 */
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { endSsoSession } from '../../../src/auth/sso-session.js';
import { rotateSigningKeys } from '../../../src/oidc/keys/signing-keys.js';
import { OidcArtifact } from '../../../src/oidc/artifact.model.js';
import { Consent } from '../../../src/sso/consents/consent.model.js';
import { withdrawConsent } from '../../../src/sso/consents/consent.service.js';
import { SsoGroup } from '../../../src/sso/groups/group.model.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { Application } from '../../../src/sso/applications/application.model.js';
import { tenantScope } from '../../../src/sso/tenant/tenant-context.js';
import { testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { Browser, consentForm, seedClient, seedSsoSession, seedTenant, seedUser, startApp, type RunningApp, type SeededClient } from './oidc-fixtures.js';

const REDIRECT = 'https://rp.example.com/cb';
const insecure = { execute: [oidc.allowInsecureRequests] };

describe('OIDC provider: code flow with openid-client', function () {
  this.timeout(60_000);
  useTestDatabase('oidcflow');
  let running: RunningApp;
  let tenant: { tenantId: string; accountId: number; alias: string };
  let userId: string;
  let issuer: string;

  before(async () => {
    running = await startApp();
    tenant = await seedTenant();
    userId = await seedUser(tenant, 'Ada.L', { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', emailVerified: true });
    const groupId = 'g-1';
    await SsoGroup.create({ accountId: tenant.accountId, tenantId: tenant.tenantId, groupId, groupName: 'engineers', nameKey: 'engineers' });
    await SsoUser.updateOne({ tenantId: tenant.tenantId, userId }, { $set: { groupIds: [groupId] } });
    issuer = `${running.baseUrl}/tenants/${tenant.tenantId}`;
  });
  after(async () => running.close());

  async function rp(client: SeededClient): Promise<oidc.Configuration> {
    return oidc.discovery(new URL(issuer), client.clientId, client.clientSecret ?? { token_endpoint_auth_method: 'none' }, client.clientSecret ? oidc.ClientSecretBasic(client.clientSecret) : oidc.None(), insecure);
  }

  /** Runs the browser part of an authorization request; returns the callback URL (or the last response). */
  async function authorize(browser: Browser, config: oidc.Configuration, extra: Record<string, string> = {}, consent: 'allow' | 'deny' | 'none' = 'none') {
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile email groups roles',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
      ...extra,
    });
    let res = await browser.follow(url, REDIRECT, `${issuer}/login`);
    if (consent !== 'none' && res.status === 200 && res.body.includes('name="csrf"')) {
      const form = consentForm(res.body);
      const posted = await browser.post(new URL(form.action.replaceAll('&amp;', '&'), running.baseUrl), { csrf: form.csrf, decision: consent });
      expect(posted.status).to.equal(303);
      res = await browser.follow(posted.location!, REDIRECT, `${issuer}/login`);
    }
    return { res, verifier, nonce, state, callback: res.location?.startsWith(REDIRECT) ? new URL(res.location) : undefined };
  }

  it('publishes discovery with code only, S256, iss in responses, and the tenant endpoints', async () => {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`);
    expect(res.status).to.equal(200);
    const d = (await res.json()) as Record<string, unknown>;
    expect(d.issuer).to.equal(issuer);
    expect(d.authorization_endpoint).to.equal(`${issuer}/oauth2/authorize`);
    expect(d.token_endpoint).to.equal(`${issuer}/oauth2/token`);
    expect(d.jwks_uri).to.equal(`${issuer}/oauth2/jwks`);
    expect(d.userinfo_endpoint).to.equal(`${issuer}/oauth2/userinfo`);
    expect(d.revocation_endpoint).to.equal(`${issuer}/oauth2/revoke`);
    expect(d.introspection_endpoint).to.equal(`${issuer}/oauth2/introspect`);
    expect(d.end_session_endpoint).to.equal(`${issuer}/oauth2/logout`);
    expect(d.response_types_supported).to.deep.equal(['code']);
    expect(d.code_challenge_methods_supported).to.deep.equal(['S256']);
    expect(d.authorization_response_iss_parameter_supported).to.equal(true);
    expect(d.backchannel_logout_supported).to.equal(true);
    expect(d.scopes_supported).to.include.members(['openid', 'profile', 'email', 'groups', 'roles', 'offline_access']);
    expect(d.token_endpoint_auth_signing_alg_values_supported).not.to.include('HS256');
    expect(d.id_token_signing_alg_values_supported).to.include.members(['RS256', 'ES256']);
    const jwks = (await (await fetch(`${issuer}/oauth2/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).to.have.length(4); // current + next, RS256 + ES256
    for (const k of jwks.keys) expect(k).not.to.have.property('d');
  });

  it('the alias URL reaches the same provider and advertises the tenant-id issuer', async () => {
    const res = await fetch(`${running.baseUrl}/tenants/${tenant.alias}/.well-known/openid-configuration`);
    expect(res.status).to.equal(200);
    const d = (await res.json()) as Record<string, unknown>;
    expect(d.issuer).to.equal(issuer);
    expect(d.token_endpoint).to.equal(`${issuer}/oauth2/token`);
  });

  it('signs a user in with code + PKCE over the Gatehouse session; openid-client validates the ID token; userinfo has the claims', async () => {
    const client = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT] });
    const config = await rp(client);
    const browser = new Browser();
    browser.setCookie((await seedSsoSession(tenant, userId, { amr: ['pwd', 'otp'], acr: 'mfa' })).cookie);
    const { callback, verifier, nonce, state } = await authorize(browser, config);
    expect(callback, 'redirected to the client').to.not.equal(undefined);
    expect(callback!.searchParams.get('iss')).to.equal(issuer);
    const tokens = await oidc.authorizationCodeGrant(config, callback!, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true });
    const claims = tokens.claims()!;
    expect(claims.iss).to.equal(issuer);
    expect(claims.aud).to.equal(client.clientId);
    expect(claims.sub).to.equal(userId);
    expect(claims.nonce).to.equal(nonce);
    expect(claims.amr).to.deep.equal(['pwd', 'otp']);
    expect(claims.acr).to.equal('mfa');
    expect(claims.auth_time).to.be.a('number');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, userId);
    expect(info).to.include({ sub: userId, preferred_username: 'Ada.L', login_id: 'Ada.L', name: 'Ada Lovelace', email: 'ada@example.com', email_verified: true, account_type: 'SSO_USER' });
    expect(info.groups).to.deep.equal(['engineers']);
    expect(info.roles).to.deep.equal([]);
  });

  it('shows the consent page from the application settings, records the consent, and a denial returns access_denied', async () => {
    const client = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT], consent: true });
    const config = await rp(client);
    const denier = new Browser();
    denier.setCookie((await seedSsoSession(tenant, userId)).cookie);
    const denied = await authorize(denier, config, {}, 'deny');
    expect(denied.callback?.searchParams.get('error')).to.equal('access_denied');

    const browser = new Browser();
    browser.setCookie((await seedSsoSession(tenant, userId)).cookie);
    const { verifier, nonce, state } = await authorize(browser, config, {}, 'none').then(async (first) => {
      expect(first.res.status).to.equal(200);
      expect(first.res.body).to.include('Wiki').and.include('To show your name');
      expect(first.res.headers.get('content-security-policy')).to.include("frame-ancestors 'none'");
      expect(first.res.headers.get('x-frame-options')).to.equal('DENY');
      return first;
    });
    // Korean page on request.
    const page = await browser.get(`${running.baseUrl}/tenants/${tenant.tenantId}/interaction/${/interaction\/([^/]+)\/consent/.exec((await browser.follow(oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', nonce, state }), REDIRECT)).body)![1]}?lang=ko`);
    expect(page.body).to.include('위키').and.include('동의');
    const form = consentForm(page.body);
    const posted = await browser.post(new URL(form.action.replaceAll('&amp;', '&'), running.baseUrl), { csrf: form.csrf, decision: 'allow' });
    expect(posted.status).to.equal(303);
    const done = await browser.follow(posted.location!, REDIRECT);
    const callback = new URL(done.location!);
    const tokens = await oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
    expect(tokens.claims()!.sub).to.equal(userId);
    const stored = await Consent.findOne({ tenantId: tenant.tenantId, userId, applicationId: client.applicationId, withdrawnAt: null }).lean();
    expect(stored?.scopes).to.deep.equal(['openid']);
    expect(stored?.language).to.equal('ko');

    // Withdrawing the consent revokes the application's grants and tokens for this user.
    await withdrawConsent(tenant.tenantId, userId, stored!.consentId);
    const introspected = await oidc.tokenIntrospection(config, tokens.access_token);
    expect(introspected.active).to.equal(false);
  });

  it('refresh tokens rotate; reusing a rotated one revokes the grant (security-bar #27)', async () => {
    const client = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT] });
    const config = await rp(client);
    const browser = new Browser();
    browser.setCookie((await seedSsoSession(tenant, userId)).cookie);
    const { callback, verifier, nonce, state } = await authorize(browser, config, { scope: 'openid offline_access', prompt: 'consent' });
    const first = await oidc.authorizationCodeGrant(config, callback!, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
    expect(first.refresh_token).to.be.a('string');
    const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
    expect(second.refresh_token).to.be.a('string').and.not.equal(first.refresh_token);
    const third = await oidc.refreshTokenGrant(config, second.refresh_token!);
    // Reuse of the first (rotated) token: invalid_grant, and everything of the grant is revoked.
    const reuse = await oidc.refreshTokenGrant(config, first.refresh_token!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(reuse).to.be.instanceOf(oidc.ResponseBodyError);
    expect((reuse as oidc.ResponseBodyError).error).to.equal('invalid_grant');
    const newest = await oidc.refreshTokenGrant(config, third.refresh_token!).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((newest as oidc.ResponseBodyError).error).to.equal('invalid_grant');
    expect((await oidc.tokenIntrospection(config, third.access_token)).active).to.equal(false);
  });

  it('two concurrent redemptions of one refresh token: one wins, the grant is revoked', async () => {
    const client = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT] });
    const config = await rp(client);
    const browser = new Browser();
    browser.setCookie((await seedSsoSession(tenant, userId)).cookie);
    const { callback, verifier, nonce, state } = await authorize(browser, config, { scope: 'openid offline_access', prompt: 'consent' });
    const first = await oidc.authorizationCodeGrant(config, callback!, { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
    const results = await Promise.allSettled([oidc.refreshTokenGrant(config, first.refresh_token!), oidc.refreshTokenGrant(config, first.refresh_token!)]);
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won.length).to.be.at.most(1);
    for (const r of results) if (r.status === 'rejected') expect((r.reason as oidc.ResponseBodyError).error).to.equal('invalid_grant');
    if (won[0]?.status === 'fulfilled') {
      // The winner's tokens died with the grant when the loser was detected.
      const again = await oidc.refreshTokenGrant(config, won[0].value.refresh_token!).then(
        () => 'ok',
        (e: unknown) => (e as oidc.ResponseBodyError).error,
      );
      expect(again).to.equal('invalid_grant');
    }
  });

  it('client credentials for a confidential client; introspection; revocation', async () => {
    const client = await seedClient(tenant, running.stamps, { grantTypes: ['client_credentials'], redirectUris: [], scopes: ['openid'] });
    const config = await rp(client);
    const t = await oidc.clientCredentialsGrant(config, {});
    expect(t.access_token).to.be.a('string');
    expect(t.expires_in).to.be.at.most(600);
    const info = await oidc.tokenIntrospection(config, t.access_token);
    expect(info.active).to.equal(true);
    expect(info.client_id).to.equal(client.clientId);
    await oidc.tokenRevocation(config, t.access_token);
    expect((await oidc.tokenIntrospection(config, t.access_token)).active).to.equal(false);
    // A public client may not use client credentials.
    const pub = await seedClient(tenant, running.stamps, { accessType: 'public', grantTypes: ['authorization_code', 'client_credentials'] });
    const pubConfig = await rp(pub);
    const refused = await oidc.clientCredentialsGrant(pubConfig, {}).then(
      () => undefined,
      (e: unknown) => e as oidc.ResponseBodyError,
    );
    expect(refused).to.be.instanceOf(oidc.ResponseBodyError);
    expect(refused?.error).to.be.oneOf(['unauthorized_client', 'invalid_client', 'invalid_request']);
  });

  it('a token issued before a key rotation still verifies; new ID tokens are signed by the new key', async () => {
    const client = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT] });
    const config = await rp(client);
    const browser = new Browser();
    browser.setCookie((await seedSsoSession(tenant, userId)).cookie);
    const a = await authorize(browser, config);
    const before = await oidc.authorizationCodeGrant(config, a.callback!, { pkceCodeVerifier: a.verifier, expectedNonce: a.nonce, expectedState: a.state });
    const kidBefore = JSON.parse(Buffer.from(before.id_token!.split('.')[0]!, 'base64url').toString()) as { kid: string };
    const report = await rotateSigningKeys(tenant, { keyring: testKeyring(), stamps: running.stamps });
    expect(report.retired).to.include(kidBefore.kid);
    // The old ID token's key is still in the JWKS; the RP's cached configuration keeps working.
    const jwks = (await (await fetch(`${issuer}/oauth2/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).to.include(kidBefore.kid);
    expect(jwks.keys).to.have.length(6);
    expect((await oidc.fetchUserInfo(config, before.access_token, userId)).sub).to.equal(userId);
    const b = await authorize(browser, config);
    const after = await oidc.authorizationCodeGrant(config, b.callback!, { pkceCodeVerifier: b.verifier, expectedNonce: b.nonce, expectedState: b.state });
    const kidAfter = JSON.parse(Buffer.from(after.id_token!.split('.')[0]!, 'base64url').toString()) as { kid: string };
    expect(report.activated).to.include(kidAfter.kid);
  });

  it('an ended or idle Gatehouse session makes the provider ask for login again', async () => {
    const client = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT] });
    const config = await rp(client);
    const browser = new Browser();
    const s = await seedSsoSession(tenant, userId);
    browser.setCookie(s.cookie);
    const ok = await authorize(browser, config);
    expect(ok.callback).to.not.equal(undefined);
    await endSsoSession(tenant.tenantId, s.sessionId, 'logout');
    const again = await authorize(browser, config);
    expect(again.callback).to.equal(undefined);
    expect(again.res.location ?? '').to.match(new RegExp(`/tenants/${tenant.tenantId}/login\\?interaction=`));
    // prompt=none now fails with login_required instead of silently signing in.
    const silent = await authorize(browser, config, { prompt: 'none' });
    expect(silent.callback?.searchParams.get('error')).to.equal('login_required');

    const idle = new Browser();
    const t = await seedSsoSession(tenant, userId);
    idle.setCookie(t.cookie);
    expect((await authorize(idle, config)).callback).to.not.equal(undefined);
    await SsoUserSession.updateOne({ tenantId: tenant.tenantId, sessionId: t.sessionId }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    const afterIdle = await authorize(idle, config, { prompt: 'none' });
    expect(afterIdle.callback?.searchParams.get('error')).to.equal('login_required');
  });

  it('prompt=login, max_age and acr_values=mfa send a satisfied session back to the login pipeline', async () => {
    const client = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT] });
    const config = await rp(client);
    const browser = new Browser();
    browser.setCookie((await seedSsoSession(tenant, userId, { acr: 'pwd' })).cookie);
    expect((await authorize(browser, config)).callback).to.not.equal(undefined);
    for (const extra of [{ prompt: 'login' }, { acr_values: 'mfa' }, { max_age: '0' }] as Record<string, string>[]) {
      const r = await authorize(browser, config, extra);
      expect(r.callback, JSON.stringify(extra)).to.equal(undefined);
      expect(r.res.location ?? '').to.match(/\/login\?interaction=/);
    }
    const mfa = new Browser();
    mfa.setCookie((await seedSsoSession(tenant, userId, { acr: 'mfa', amr: ['pwd', 'otp'] })).cookie);
    expect((await authorize(mfa, config, { acr_values: 'mfa' })).callback).to.not.equal(undefined);
  });

  it('an application change takes effect at the next request (the cached provider is dropped when the tenant stamp moves)', async () => {
    const client = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT] });
    const config = await rp(client);
    const browser = new Browser();
    browser.setCookie((await seedSsoSession(tenant, userId)).cookie);
    expect((await authorize(browser, config)).callback).to.not.equal(undefined);
    // The redirect URI is replaced, as the applications API does (configRevision + tenant stamp).
    await Application.updateOne({ tenantId: tenant.tenantId, applicationId: client.applicationId }, { $set: { 'oidc.redirectUris': ['https://rp.example.com/other'] }, $inc: { configRevision: 1 } });
    await running.stamps.bump(tenantScope(tenant.tenantId));
    const old = await authorize(browser, config);
    expect(old.callback).to.equal(undefined);
    expect(old.res.status).to.equal(400);
    expect(old.res.body).to.include('invalid_redirect_uri');
  });

  it('stores artifacts in oidc_artifacts with top-level lookup fields and no artifact of another tenant', async () => {
    const n = await OidcArtifact.countDocuments({ tenantId: tenant.tenantId, model: 'Session' });
    expect(n).to.be.greaterThan(0);
    const grant = await OidcArtifact.findOne({ tenantId: tenant.tenantId, model: 'Grant' }).lean();
    expect(grant?.grantId).to.equal(String(grant?._id).slice('Grant:'.length));
    expect(grant?.accountId).to.equal(userId);
  });
});
