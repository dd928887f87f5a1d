/**
 * Code + PKCE through the real sign-in pages (issue 8 "Done when": code + PKCE with login and
 * TOTP): the authorization request sends the browser to the tenant's login page, the user gives
 * password and TOTP, the pipeline returns to the interaction, and openid-client receives an ID
 * token whose amr/acr say how the user signed in.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import * as oidc from 'openid-client';
import supertest from 'supertest';
import { createApp } from '../../../src/app.js';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { silentLogger, testConfig, testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { signIn, SSO_ORIGIN } from '../../helpers/sso-login.js';
import { giveTotpDevice, makeTenant, makeUser, PASSWORD } from '../auth/fixtures.js';
import { seedClient } from './oidc-fixtures.js';

const REDIRECT = 'https://rp.example.com/cb';

describe('OIDC provider: sign-in through the login pages with TOTP', function () {
  this.timeout(60_000);
  useTestDatabase('oidcpages');
  const stamps = new ChangeStamps();
  // The app's public URL is testConfig()'s (the sign-in helper posts from that origin); the RP's
  // HTTP calls to it are routed to this listening server.
  const app = createApp({ config: testConfig(), logger: silentLogger, db: { ping: async () => true }, keyring: testKeyring(), stamps });
  let server: Server;
  let port: number;
  const routed: oidc.CustomFetch = (url, options) => fetch(url.replace(SSO_ORIGIN, `http://127.0.0.1:${port}`), options as RequestInit);

  before(async () => {
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Follows same-app redirects with the agent; stops at the login page or the client. */
  async function walk(agent: ReturnType<typeof supertest.agent>, start: string): Promise<string> {
    let location = start;
    for (let i = 0; i < 10; i++) {
      if (location.startsWith(REDIRECT) || location.includes('/login?interaction=')) return location;
      const res = await agent.get(location.replace(SSO_ORIGIN, ''));
      expect(res.status, `${location}: ${res.text.slice(0, 300)}`).to.equal(303);
      location = String(res.headers.location);
    }
    throw new Error('too many redirects');
  }

  it('password + TOTP on the real pages, then tokens with amr pwd+otp and acr mfa', async () => {
    const t = await makeTenant(app);
    const { userId, loginId } = await makeUser(t);
    const totpSecret = await giveTotpDevice(t, userId);
    const client = await seedClient(t, stamps, { redirectUris: [REDIRECT] });
    const config = await oidc.discovery(new URL(`${SSO_ORIGIN}/tenants/${t.tenantId}`), client.clientId, client.clientSecret, oidc.ClientSecretBasic(client.clientSecret!), {
      execute: [oidc.allowInsecureRequests],
      [oidc.customFetch]: routed,
    });
    config[oidc.customFetch] = routed;

    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      state,
    });
    const agent = supertest.agent(app);
    const loginUrl = await walk(agent, url.href);
    expect(loginUrl).to.match(new RegExp(`^/tenants/${t.tenantId}/login\\?interaction=`));
    const signedIn = await signIn(agent, t.tenantId, loginId, PASSWORD, { totpSecret, loginUrl });
    expect(signedIn.location).to.match(new RegExp(`^/tenants/${t.tenantId}/interaction/[^/?]+\\?login=`));
    const callback = await walk(agent, signedIn.location);
    expect(callback.startsWith(REDIRECT)).to.equal(true);

    const tokens = await oidc.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: verifier, expectedNonce: nonce, expectedState: state });
    const claims = tokens.claims()!;
    expect(claims.sub).to.equal(userId);
    expect(claims.amr).to.include.members(['pwd', 'otp']);
    expect(claims.acr).to.equal('mfa');
    expect(claims.preferred_username ?? (await oidc.fetchUserInfo(config, tokens.access_token, userId)).preferred_username).to.equal(loginId);

    // The same browser is now signed in: a second authorization needs no page at all.
    const again = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state });
    expect((await walk(agent, again.href)).startsWith(REDIRECT)).to.equal(true);
  });
});
