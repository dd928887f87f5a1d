/**
 * Interop with Apache mod_auth_openidc (Debian libapache2-mod-auth-openidc) as a real relying
 * party (issue 8 "Done when"): Apache runs unprivileged from a temporary directory on a loopback
 * port, discovers Gatehouse's tenant issuer, sends the browser to the authorization endpoint with
 * PKCE S256, the user signs in through the real login page, mod_auth_openidc redeems the code
 * (client_secret_basic), validates the ID token against the JWKS, and the protected CGI page shows
 * the claims it accepted (OIDC_CLAIM_*): sub, email, groups and the SSO roles.
 *
 * Needs apache2 + libapache2-mod-auth-openidc (`.ci/run` installs them); fails when they are
 * missing unless GATEHOUSE_SKIP_INTEROP=1 says, visibly, that this machine does not run them.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { APACHE_BIN, APACHE_MODULES, removePeerDir, startApache, type RunningApache } from '../../helpers/apache.js';
import { useTestDatabase } from '../../helpers/db.js';
import { freePort } from '../../helpers/process.js';
import { seedClient, type SeededClient } from '../../integration/oidc/oidc-fixtures.js';
import { Browser, parseEnvPage, parseForm } from '../saml/browser.js';
import { makeInteropTenant, PASSWORD, startGatehouse, type InteropTenant, type RunningGatehouse } from '../saml/fixtures.js';

const MODULE = path.join(APACHE_MODULES, 'mod_auth_openidc.so');

describe('interop: Apache mod_auth_openidc signs a user in through Gatehouse', function () {
  this.timeout(120_000);
  useTestDatabase('oidcinterop');
  let gh: RunningGatehouse;
  let t: InteropTenant;
  let client: SeededClient;
  let rp: RunningApache | undefined;
  let failed = false;

  before(async function () {
    const missing = [APACHE_BIN, MODULE].filter((f) => !existsSync(f));
    if (missing.length) {
      if (process.env.GATEHOUSE_SKIP_INTEROP === '1') {
        console.warn(`    mod_auth_openidc interop skipped (GATEHOUSE_SKIP_INTEROP=1): missing ${missing.join(', ')}`);
        this.skip();
      }
      throw new Error(
        `mod_auth_openidc interop needs ${missing.join(', ')}: apt-get install -y apache2 libapache2-mod-auth-openidc (.ci/run does), or set GATEHOUSE_SKIP_INTEROP=1 to skip on purpose`,
      );
    }
    gh = await startGatehouse();
    t = await makeInteropTenant(gh);
    const port = await freePort();
    const rpBase = `http://127.0.0.1:${port}`;
    client = await seedClient(t, new ChangeStamps(), {
      name: 'ApacheOidc',
      redirectUris: [`${rpBase}/protected/redirect_uri`],
      scopes: ['openid', 'profile', 'email', 'groups', 'roles'],
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-openidc-'));
    chmodSync(dir, 0o755);
    const issuer = `${gh.baseUrl}/tenants/${t.tenantId}`;
    rp = await startApache(dir, {
      port,
      modules: { auth_openidc_module: 'mod_auth_openidc.so' },
      siteConfig: (_dir, baseUrl) =>
        [
          `OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration`,
          `OIDCClientID ${client.clientId}`,
          `OIDCClientSecret ${client.clientSecret!}`,
          `OIDCRedirectURI ${baseUrl}/protected/redirect_uri`,
          `OIDCCryptoPassphrase ${randomBytes(24).toString('hex')}`,
          'LogLevel info auth_openidc:debug',
          'OIDCScope "openid profile email groups roles"',
          'OIDCPKCEMethod S256',
          'OIDCProviderTokenEndpointAuth client_secret_basic',
          'OIDCPassClaimsAs environment',
          'OIDCPassUserInfoAs claims',
          'OIDCRemoteUserClaim preferred_username',
          '<Location /protected>',
          '  AuthType openid-connect',
          // Always redirect: Node's fetch sends Sec-Fetch-Mode: cors, which mod_auth_openidc otherwise answers with 401 (XHR).
          '  OIDCUnAuthAction auth true',
          '  Require valid-user',
          '</Location>',
        ].join('\n'),
    });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') failed = true;
  });

  after(async () => {
    if (rp) {
      if (failed) console.log(rp.logs());
      await rp.stop();
      removePeerDir(rp.dir, failed);
    }
    if (gh) await gh.close();
  });

  it('protected page → Gatehouse login page → code + PKCE → the claims in the page', async () => {
    const browser = new Browser();
    const start = await browser.get(rp!.protectedUrl);
    expect(start.status, rp!.logs()).to.be.oneOf([302, 303]);
    const authorize = new URL(start.location!);
    expect(authorize.href.startsWith(`${gh.baseUrl}/tenants/${t.tenantId}/oauth2/authorize`), authorize.href).to.equal(true);
    expect(authorize.searchParams.get('code_challenge_method')).to.equal('S256');

    const atLogin = await browser.follow(start, { until: (u) => u.includes('/login?interaction=') });
    const loginPage = await browser.get(atLogin.location!);
    expect(loginPage.status, loginPage.text.slice(0, 500)).to.equal(200);
    const form = parseForm(loginPage.text, loginPage.url);
    const afterPassword = await browser.submit(form, loginPage.url, { loginId: t.user.loginId, password: PASSWORD });
    expect(afterPassword.status, afterPassword.text.slice(0, 300)).to.equal(303);
    const page = await browser.follow(afterPassword);
    expect(page.status, `${page.url}\n${page.text.slice(0, 800)}\n${rp!.logs()}`).to.equal(200);
    expect(page.url).to.equal(rp!.protectedUrl);

    const env = parseEnvPage(page.text);
    if (process.env.TEST_SHOW_ENV) console.log(page.text);
    expect(env.get('OIDC_CLAIM_sub')).to.equal(t.user.userId);
    expect(env.get('OIDC_CLAIM_iss')).to.equal(`${gh.baseUrl}/tenants/${t.tenantId}`);
    expect(env.get('OIDC_CLAIM_aud')).to.equal(client.clientId);
    expect(env.get('REMOTE_USER')).to.equal(t.user.loginId);
    expect(env.get('OIDC_CLAIM_email')).to.equal(t.user.loginId);
    expect(env.get('OIDC_CLAIM_groups')).to.include(t.groupName);
    expect(env.get('OIDC_CLAIM_roles') ?? '').to.include(t.roleNrn);
    expect(env.get('OIDC_CLAIM_amr')).to.include('pwd');
  });
});
