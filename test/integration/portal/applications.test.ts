/**
 * The portal's applications and consents (issue 7 "User portal"): the applications a user may
 * launch (OIDC: initiate_login_uri with `iss`, OIDC Core §4; SAML: a POST
 * to the IdP-initiated endpoint with the SAML module's session-bound token, only for applications
 * that opted in), filtered by the application's access scope; consents listed and withdrawn, only
 * the user's own.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { verifySamlLaunchToken } from '../../../src/saml/idp/portal.js';
import { recordConsent } from '../../../src/sso/consents/consent.service.js';
import { Consent } from '../../../src/sso/consents/consent.model.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { testApp, testConfig, testKeyring } from '../../helpers/app.js';
import { ACCOUNT, rootSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';
import { BASE_URL, ORIGIN, createTenant, createUser, signedIn } from './portal-fixtures.js';

const env = { GATEHOUSE_BASE_URL: BASE_URL };

describe('portal: applications and consents', function () {
  this.timeout(90_000);
  useTestDatabase('portalapps');
  const app = testApp({ env, db: { ping: async () => true } });
  const config = testConfig(env);
  let root: Signer;
  let tenantId: string;

  const createApp = async (body: Record<string, unknown>) => (await root.call('post', `${SSO_API_PREFIX}/applications`, body).expect(201)).body as { applicationId: string };

  before(async () => {
    root = await rootSigner(app);
    tenantId = await createTenant(ACCOUNT, 'appsco');
  });

  it('lists launchable OIDC and SAML applications the user may use, by name; the SAML launch form carries the SAML launch token', async () => {
    const alice = await createUser(ACCOUNT, tenantId);
    const bob = await createUser(ACCOUNT, tenantId);
    const oidcBase = { protocol: 'OAUTH2', oidc: { redirectUris: ['https://rp.example.com/callback'], clientAuthMethod: 'client_secret_basic' } };
    await createApp({ name: 'Bwiki', ...oidcBase, oidc: { ...oidcBase.oidc, initiateLoginUri: 'https://rp.example.com/login' } });
    // An OIDC application without an initiate-login URI has no launch the portal could make.
    await createApp({ name: 'Chat', ...oidcBase, applicationUrl: 'https://chat.example.com/' });
    await createApp({ name: 'NoLaunch', ...oidcBase });
    const assigned = await createApp({ name: 'Payroll', ...oidcBase, oidc: { ...oidcBase.oidc, initiateLoginUri: 'https://payroll.example.com/login' }, accessScope: 'ASSIGNED' });
    await root.call('post', `${SSO_API_PREFIX}/applications/${assigned.applicationId}/principals`, { userIds: [alice.userId] }).expect(200);
    const sp = await createApp({ name: 'Asp', protocol: 'SAML', saml: { entityId: 'https://sp.example.com/saml', acsEndpoints: [{ location: 'https://sp.example.com/acs' }], idpInitiatedAllowed: true } });
    await createApp({ name: 'SpOnly', protocol: 'SAML', saml: { entityId: 'https://sp2.example.com/saml', acsEndpoints: [{ location: 'https://sp2.example.com/acs' }] } });

    const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
    const page = await request(app).get(`/tenants/${tenantId}/portal`).set('Cookie', s.cookie).expect(200);
    const names = [...page.text.matchAll(/<li>\s*(?:<a href="[^"]*">([^<]+)<\/a>|<form[\s\S]*?<button type="submit">([^<]+)<\/button>)/g)].map((m) => m[1] ?? m[2]);
    expect(names).to.deep.equal(['Asp', 'Bwiki', 'Payroll']);
    expect(page.text).to.contain(`href="https://rp.example.com/login?iss=${encodeURIComponent(`${BASE_URL}/tenants/${tenantId}`)}"`);
    expect(page.text).to.contain(`action="/tenants/${tenantId}/saml/idp/init/${sp.applicationId}"`);
    const token = /name="csrf" value="([^"]+)"/.exec(page.text)?.[1];
    const session = await SsoUserSession.findOne({ tenantId, sessionId: s.sessionId }).orFail().lean();
    expect(await verifySamlLaunchToken(tenantId, session, token, testKeyring())).to.equal(true);

    // Bob is not assigned to Payroll.
    const sb = await signedIn(config, ACCOUNT, tenantId, bob.userId);
    const bobPage = await request(app).get(`/tenants/${tenantId}/portal`).set('Cookie', sb.cookie).expect(200);
    expect(bobPage.text).to.contain('Bwiki').and.not.contain('Payroll');
  });

  it('lists the user’s consents and withdraws one of them; another user’s consent is 404 and stays', async () => {
    const alice = await createUser(ACCOUNT, tenantId);
    const bob = await createUser(ACCOUNT, tenantId);
    const applicationId = randomUUID();
    const mine = await recordConsent({ tenantId, accountId: ACCOUNT, applicationId, userId: alice.userId, scopes: ['openid', 'email'], items: [{ label: 'E-mail', value: 'x' }], language: 'en' });
    const theirs = await recordConsent({ tenantId, accountId: ACCOUNT, applicationId, userId: bob.userId, scopes: ['openid'], items: [], language: 'en' });
    const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
    const page = await request(app).get(`/tenants/${tenantId}/portal/profile`).set('Cookie', s.cookie).expect(200);
    expect(page.text).to.contain(`data-consent="${mine.consentId}"`).and.contain('openid, email').and.not.contain(theirs.consentId);

    const post = (consentId: string) =>
      request(app).post(`/tenants/${tenantId}/portal/profile/consents/${consentId}/withdraw`).set('Cookie', s.cookie).set('Origin', ORIGIN).type('form').send({ _csrf: s.csrf });
    await post(theirs.consentId).expect(404);
    expect((await Consent.findOne({ tenantId, consentId: theirs.consentId }).orFail().lean()).withdrawnAt ?? null).to.equal(null);
    const res = await post(mine.consentId).expect(303);
    expect(res.headers.location).to.equal(`/tenants/${tenantId}/portal/profile?done=consentWithdrawn`);
    expect((await Consent.findOne({ tenantId, consentId: mine.consentId }).orFail().lean()).withdrawnAt).to.be.instanceOf(Date);
    const after = await request(app).get(`/tenants/${tenantId}/portal/profile?done=consentWithdrawn`).set('Cookie', s.cookie).expect(200);
    expect(after.text).to.contain('The consent was withdrawn');
    expect(after.text).to.not.contain(`data-consent="${mine.consentId}"`);
  });
});
