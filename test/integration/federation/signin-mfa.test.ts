/**
 * MFA is the external IdP's (as AWS IAM Identity Center does with an external IdP): a federated
 * session is `acr=mfa` with amr `fed`+`mfa` only when the IdP's AuthnContextClassRef says two
 * factors (REFEDS MFA), and a protocol requiring MFA is then satisfied end to end. Responses come
 * from the test IdP of test/helpers/xsw.ts, so the asserted context is chosen by the test.
 */
import { inflateRawSync } from 'node:zlib';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { ExternalIdp, federationSpUrls } from '../../../src/federation/external-idp.model.js';
import { getTenantSigningKeys } from '../../../src/saml/keys.js';
import { createSelfSigned, type CertificateAndKey } from '../../../src/shared/x509.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { testApp, testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { buildResponse, signResponse } from '../../helpers/xsw.js';
import { agentFor, BASE, nodeSamlSp, pathOf, readAutoPost, seedSamlApp, seedTenant, seedUser, type TestAgent, type TestTenant } from '../saml/sso-fixtures.js';

const IDP_ENTITY = 'https://idp.corp.example/saml';
const REFEDS_MFA = 'https://refeds.org/profile/mfa';

describe('Federated sign-in: MFA asserted by the external IdP', function () {
  this.timeout(120_000);
  useTestDatabase('fedmfa');
  const app = testApp();
  let t: TestTenant;
  let idpKey: CertificateAndKey;
  let userId: string;

  before(async function () {
    t = await seedTenant(3300011);
    idpKey = await createSelfSigned({ commonName: 'external idp', validDays: 30 });
    userId = await seedUser(t, 'dana@corp.example');
    await Tenant.updateOne({ accountId: t.accountId, tenantId: t.tenantId }, { $set: { 'loginSettings.externalIdpEnabled': true } });
    const now = new Date();
    await ExternalIdp.create({
      accountId: t.accountId,
      tenantId: t.tenantId,
      providerId: randomUUID(),
      idpIssuerUrl: IDP_ENTITY,
      idpSigninUrl: 'https://idp.corp.example/saml/sso',
      protocolBinding: 'HTTP_REDIRECT',
      idpCertificates: [{ certificateId: randomUUID(), certificatePem: idpKey.certificatePem, subject: 'CN=external idp', sha256Fingerprint: 'x', notBefore: now, notAfter: new Date(now.getTime() + 30 * 86_400_000), addedAt: now }],
    });
  });

  /** /saml/login → the AuthnRequest's ID and RelayState; the test IdP answers with `classRef`; ACS → complete. */
  async function federate(agent: TestAgent, loginPath: string, classRef: string): Promise<string> {
    const start = await agent.get(loginPath);
    expect(start.status).to.equal(303);
    const loc = new URL(String(start.headers.location));
    const requestId = /ID="([^"]+)"/.exec(inflateRawSync(Buffer.from(loc.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8'))![1]!;
    const urls = federationSpUrls(BASE, t.tenantId);
    const xml = signResponse(
      buildResponse({ idpEntityId: IDP_ENTITY, spEntityId: urls.entityId, acsUrl: urls.acsUrl, inResponseTo: requestId, nameIdXml: 'dana@corp.example', authnContextClassRef: classRef }),
      { privateKeyPem: idpKey.privateKeyPem, what: 'assertion' },
    );
    const acs = await agent.post(`/tenants/${t.tenantId}/saml/acs`).type('form').send({ SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: loc.searchParams.get('RelayState')! });
    expect(acs.status, acs.text.slice(0, 200)).to.equal(303);
    const done = await agent.get(String(acs.headers.location));
    return `${done.status} ${String(done.headers.location ?? '')}`;
  }

  it('REFEDS MFA from the IdP: the session is acr mfa with amr fed+mfa; a password-only context gives acr pwd, amr fed', async function () {
    const mfa = await federate(agentFor(app), `/tenants/${t.tenantId}/saml/login`, REFEDS_MFA);
    expect(mfa).to.match(/^303 \/tenants\/.+\/portal\?login=/);
    let sessions = await SsoUserSession.find({ tenantId: t.tenantId, userId }).sort({ createdAt: 1 }).lean();
    expect(sessions.at(-1)!.amr).to.deep.equal(['fed', 'mfa']);
    expect(sessions.at(-1)!.acr).to.equal('mfa');

    await federate(agentFor(app), `/tenants/${t.tenantId}/saml/login`, 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');
    sessions = await SsoUserSession.find({ tenantId: t.tenantId, userId }).sort({ createdAt: 1 }).lean();
    expect(sessions.at(-1)!.amr).to.deep.equal(['fed']);
    expect(sessions.at(-1)!.acr).to.equal('pwd');
  });

  it('a SAML application requiring MFA gets its assertion (AuthnContextClassRef REFEDS MFA) when the IdP asserted MFA', async function () {
    const sp = await seedSamlApp(t, 'mfaapp');
    const cert = (await getTenantSigningKeys(t.tenantId, t.accountId, testKeyring())).current.certPem;
    const saml = nodeSamlSp(t, sp, cert, { disableRequestedAuthnContext: false, authnContext: [REFEDS_MFA], racComparison: 'exact' });
    const agent = agentFor(app);
    const toLogin = await agent.get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {})));
    const interactionId = /interaction=([A-Za-z0-9_-]{22})$/.exec(String(toLogin.headers.location))![1]!;
    const done = await federate(agent, `/tenants/${t.tenantId}/saml/login?interaction=${interactionId}`, REFEDS_MFA);
    expect(done).to.match(/^303 \/tenants\/.+\/saml\/idp\/resume\//);
    const back = await agent.get(done.slice(4));
    const post = readAutoPost(back);
    const xml = Buffer.from(post.fields.SAMLResponse!, 'base64').toString('utf8');
    expect(xml).to.include(`<saml:AuthnContextClassRef>${REFEDS_MFA}</saml:AuthnContextClassRef>`);
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: post.fields.SAMLResponse! });
    expect(profile!.nameID).to.equal('dana@corp.example');
  });
});
