/**
 * Who may sign in to an OIDC application (issue 8): ASSIGNED applications admit only assigned
 * users and users of assigned groups, checked at every authorization (an assignment removed after
 * the session began stops the next one) and answered with access_denied to the client; suspended
 * users get no tokens; and the portal list of launchable applications (`listOidcPortalApplications`).
 */
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { listOidcPortalApplications } from '../../../src/oidc/portal.js';
import { ApplicationPrincipal } from '../../../src/sso/applications/application-principal.model.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { useTestDatabase } from '../../helpers/db.js';
import { Browser, seedClient, seedSsoSession, seedTenant, seedUser, startApp, type RunningApp, type SeededClient } from './oidc-fixtures.js';

const REDIRECT = 'https://rp.example.com/cb';

describe('OIDC provider: who may sign in, and the portal list', function () {
  this.timeout(60_000);
  useTestDatabase('oidcaccess');
  let running: RunningApp;
  let tenant: { tenantId: string; accountId: number; alias: string };
  let issuer: string;

  before(async () => {
    running = await startApp();
    tenant = await seedTenant();
    issuer = `${running.baseUrl}/tenants/${tenant.tenantId}`;
  });
  after(async () => running.close());

  const rp = (c: SeededClient) => oidc.discovery(new URL(issuer), c.clientId, c.clientSecret, oidc.ClientSecretBasic(c.clientSecret!), { execute: [oidc.allowInsecureRequests] });

  async function tryAuthorize(browser: Browser, config: oidc.Configuration): Promise<URL | undefined> {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const res = await browser.follow(url, REDIRECT);
    return res.location?.startsWith(REDIRECT) ? new URL(res.location) : undefined;
  }

  const assign = (applicationId: string, principalType: 'user' | 'group', principalId: string) =>
    ApplicationPrincipal.create({ tenantId: tenant.tenantId, accountId: tenant.accountId, applicationId, principalType, principalId });

  it('ASSIGNED: a user neither assigned nor in an assigned group gets access_denied; assigned users and group members get a code', async () => {
    const app = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT], accessScope: 'ASSIGNED' });
    const config = await rp(app);
    const outsider = await seedUser(tenant, 'outsider');
    const direct = await seedUser(tenant, 'direct');
    const member = await seedUser(tenant, 'member', {}, { groupIds: ['grp-ops'] });
    await assign(app.applicationId, 'user', direct);
    await assign(app.applicationId, 'group', 'grp-ops');

    const denied = new Browser();
    denied.setCookie((await seedSsoSession(tenant, outsider)).cookie);
    const cb = await tryAuthorize(denied, config);
    expect(cb?.searchParams.get('error')).to.equal('access_denied');
    expect(cb?.searchParams.get('code')).to.equal(null);

    for (const userId of [direct, member]) {
      const b = new Browser();
      b.setCookie((await seedSsoSession(tenant, userId)).cookie);
      expect((await tryAuthorize(b, config))?.searchParams.get('code')).to.be.a('string');
    }
  });

  it('removing the assignment stops the next authorization in the same session', async () => {
    const app = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT], accessScope: 'ASSIGNED' });
    const config = await rp(app);
    const userId = await seedUser(tenant, 'removed-later');
    await assign(app.applicationId, 'user', userId);
    const b = new Browser();
    b.setCookie((await seedSsoSession(tenant, userId)).cookie);
    expect((await tryAuthorize(b, config))?.searchParams.get('code')).to.be.a('string');
    await ApplicationPrincipal.deleteMany({ tenantId: tenant.tenantId, applicationId: app.applicationId });
    expect((await tryAuthorize(b, config))?.searchParams.get('error')).to.equal('access_denied');
  });

  it('a suspended user can no longer refresh or read userinfo', async () => {
    const app = await seedClient(tenant, running.stamps, { redirectUris: [REDIRECT] });
    const config = await rp(app);
    const userId = await seedUser(tenant, 'to-suspend');
    const b = new Browser();
    b.setCookie((await seedSsoSession(tenant, userId)).cookie);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid offline_access', prompt: 'consent', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const res = await b.follow(url, REDIRECT);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(res.location!), { pkceCodeVerifier: verifier });
    await SsoUser.updateOne({ tenantId: tenant.tenantId, userId }, { $set: { status: 'SUSPENDED' } });
    const refresh = await oidc.refreshTokenGrant(config, tokens.refresh_token!).then(
      () => 'issued',
      (e: unknown) => (e as oidc.ResponseBodyError).error,
    );
    expect(refresh).to.equal('invalid_grant');
    const info = await oidc.fetchUserInfo(config, tokens.access_token, userId).then(
      () => 'ok',
      () => 'refused',
    );
    expect(info).to.equal('refused');
  });

  it('the portal lists the launchable applications the user may use, with iss in the initiate-login URL', async () => {
    const t = await seedTenant();
    const userId = await seedUser(t, 'portal-user', {}, { groupIds: ['grp-portal'] });
    const open = await seedClient(t, running.stamps, { name: 'Bravo', initiateLoginUri: 'https://bravo.example.com/login?x=1' });
    await seedClient(t, running.stamps, { name: 'NoLaunch' });
    const assigned = await seedClient(t, running.stamps, { name: 'Alpha', accessScope: 'ASSIGNED', initiateLoginUri: 'https://alpha.example.com/oidc/initiate' });
    await seedClient(t, running.stamps, { name: 'Hidden', accessScope: 'ASSIGNED', initiateLoginUri: 'https://hidden.example.com/initiate' });
    await ApplicationPrincipal.create({ tenantId: t.tenantId, accountId: t.accountId, applicationId: assigned.applicationId, principalType: 'group', principalId: 'grp-portal' });

    const list = await listOidcPortalApplications(t.tenantId, userId, running.baseUrl);
    expect(list.map((a) => a.name)).to.deep.equal(['Alpha', 'Bravo']);
    const bravo = list.find((a) => a.applicationId === open.applicationId)!;
    expect(bravo.protocol).to.equal('OAUTH2');
    expect(bravo.launch.method).to.equal('GET');
    const launch = new URL((bravo.launch as { url: string }).url);
    expect(launch.searchParams.get('x')).to.equal('1');
    expect(launch.searchParams.get('iss')).to.equal(`${running.baseUrl}/tenants/${t.tenantId}`);
    expect(await listOidcPortalApplications(t.tenantId, 'no-such-user')).to.deep.equal([]);
  });
});
