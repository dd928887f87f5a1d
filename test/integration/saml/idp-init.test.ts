/**
 * IdP-initiated SAML SSO (issue 9; security-bar §2 "IdP-initiated login CSRF", case 11): launched
 * only by POST from the portal with the session's launch token, only for applications that opted
 * in, with the application's default RelayState only; an unsolicited Response (no InResponseTo)
 * that node-saml accepts when it allows unsolicited responses. Every other way in sends nothing
 * anywhere.
 */
import { expect } from 'chai';
import { ValidateInResponseTo } from '@node-saml/node-saml';
import { samlLaunchToken, listSamlPortalApplications } from '../../../src/saml/idp/portal.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { testApp, testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { agentFor, decodeResponse, expectXmlsecVerified, nodeSamlSp, readAutoPost, seedSamlApp, seedTenant, seedUser, sessionCookie, tenantCertificate, type TestTenant } from './sso-fixtures.js';

describe('SAML IdP: IdP-initiated SSO', function () {
  this.timeout(120_000);
  useTestDatabase('samlinit');
  const app = testApp();
  let t: TestTenant;
  let idpCert: string;
  let userId: string;

  before(async function () {
    t = await seedTenant(3300001);
    idpCert = await tenantCertificate(t);
    userId = await seedUser(t, 'carol@corp.example');
  });

  async function launchToken(sessionId: string): Promise<string> {
    const s = await SsoUserSession.findOne({ tenantId: t.tenantId, sessionId }).lean();
    return samlLaunchToken(t.tenantId, { sessionId, tokenHash: s!.tokenHash }, testKeyring());
  }

  it('POST with the launch token: an unsolicited signed Response to the default ACS with the default RelayState', async function () {
    const sp = await seedSamlApp(t, 'launch', { idpInitiatedAllowed: true, defaultRelayState: '/home' });
    const { cookie, sessionId } = await sessionCookie(t, userId);
    const csrf = await launchToken(sessionId);
    const res = await agentFor(app)
      .post(`/tenants/${t.alias}/saml/idp/init/${sp.applicationId}`)
      .set('Cookie', cookie)
      .set('Origin', 'http://localhost:3000')
      .type('form')
      .send({ csrf, RelayState: 'https://evil.example/steal' });
    const post = readAutoPost(res);
    expect(post.action).to.equal(sp.acs);
    expect(post.fields.RelayState).to.equal('/home');
    const xml = decodeResponse(post.fields.SAMLResponse!);
    expect(xml).not.to.include('InResponseTo');
    await expectXmlsecVerified(post.fields.SAMLResponse!, idpCert);
    const saml = nodeSamlSp(t, sp, idpCert, { validateInResponseTo: ValidateInResponseTo.never });
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: post.fields.SAMLResponse!, RelayState: post.fields.RelayState! });
    expect(profile!.nameID).to.equal('carol@corp.example');
    // An SP that insists on solicited responses refuses it (it carries no InResponseTo).
    const strict = nodeSamlSp(t, sp, idpCert, { validateInResponseTo: ValidateInResponseTo.always });
    let refused = false;
    await strict.validatePostResponseAsync({ SAMLResponse: post.fields.SAMLResponse! }).catch(() => (refused = true));
    expect(refused).to.equal(true);
  });

  it('case 11: GET with attacker RelayState, POST without or with a wrong token, a foreign Origin, or an app that did not opt in: no response sent anywhere', async function () {
    const sp = await seedSamlApp(t, 'guarded', { idpInitiatedAllowed: true });
    const off = await seedSamlApp(t, 'optout');
    const { cookie, sessionId } = await sessionCookie(t, userId);
    const other = await sessionCookie(t, userId);
    const csrf = await launchToken(sessionId);
    const foreignToken = await launchToken(other.sessionId);
    const attempts = [
      agentFor(app).get(`/tenants/${t.tenantId}/saml/idp/init/${sp.applicationId}?RelayState=https://evil.example&target=https://evil.example`).set('Cookie', cookie),
      agentFor(app).post(`/tenants/${t.tenantId}/saml/idp/init/${sp.applicationId}`).set('Cookie', cookie).type('form').send({}),
      agentFor(app).post(`/tenants/${t.tenantId}/saml/idp/init/${sp.applicationId}`).set('Cookie', cookie).type('form').send({ csrf: foreignToken }),
      agentFor(app).post(`/tenants/${t.tenantId}/saml/idp/init/${sp.applicationId}`).set('Cookie', cookie).set('Origin', 'https://evil.example').type('form').send({ csrf }),
      agentFor(app).post(`/tenants/${t.tenantId}/saml/idp/init/${off.applicationId}`).set('Cookie', cookie).type('form').send({ csrf }),
      agentFor(app).post(`/tenants/${t.tenantId}/saml/idp/init/${sp.applicationId}`).type('form').send({ csrf }),
    ];
    for (const attempt of attempts) {
      const res = await attempt;
      expect(res.status).to.equal(400);
      expect(res.headers.location).to.equal(undefined);
      expect(res.text).to.include('Sign-in could not continue');
      expect(res.text).not.to.include('SAMLResponse');
      expect(res.text).not.to.include('evil.example');
    }
  });

  it('the portal lists the SAML applications that allow IdP-initiated sign-in and that the user may use', async function () {
    const listed = await listSamlPortalApplications(t.tenantId, userId);
    const names = listed.map((a) => a.name);
    expect(names).to.include('launch');
    expect(names).to.include('guarded');
    expect(names).not.to.include('optout');
    for (const a of listed) expect(a.launchPath).to.equal(`/tenants/${t.tenantId}/saml/idp/init/${a.applicationId}`);
  });
});
