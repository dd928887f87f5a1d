/**
 * SAML single logout both ways with `@node-saml/node-saml` as the SPs (issue 9 "single logout
 * over both bindings that ends the Gatehouse session and propagates to the other SAML
 * participants"): an SP's LogoutRequest (Redirect, signed; POST, unsigned) ends the session, the
 * other SP of the session receives a signed LogoutRequest it verifies (Redirect and POST), its
 * LogoutResponse moves the run on, and the first SP gets a LogoutResponse it accepts. A logout
 * elsewhere is recorded on the participants; an unsigned LogoutRequest from an SP with
 * certificates is refused and changes nothing.
 */
import { inflateRawSync } from 'node:zlib';
import { expect } from 'chai';
import { ValidateInResponseTo, type SAML } from '@node-saml/node-saml';
import { endSsoSession } from '../../../src/auth/sso-session.js';
import { SamlSessionParticipant } from '../../../src/saml/idp/idp.models.js';
import { Application } from '../../../src/sso/applications/application.model.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { testApp } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { agentFor, expectXmlsecVerified, nodeSamlSp, pathOf, readAutoPost, seedSamlApp, seedTenant, seedUser, sessionCookie, tenantCertificate, type TestSp, type TestTenant } from './sso-fixtures.js';

type Profile = NonNullable<Awaited<ReturnType<SAML['validatePostResponseAsync']>>['profile']>;

function queryOf(location: string): { query: Record<string, string>; original: string } {
  const u = new URL(location);
  return { query: Object.fromEntries(u.searchParams.entries()), original: u.search.slice(1) };
}

describe('SAML IdP: single logout', function () {
  this.timeout(120_000);
  useTestDatabase('samlslo');
  const app = testApp();
  let t: TestTenant;
  let idpCert: string;
  let userId: string;

  before(async function () {
    t = await seedTenant(3200001);
    idpCert = await tenantCertificate(t);
    userId = await seedUser(t, 'bob@corp.example');
  });

  async function signInTo(sp: TestSp, saml: SAML, cookie: string): Promise<Profile> {
    const res = await agentFor(app).get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: readAutoPost(res).fields.SAMLResponse! });
    expect(profile, sp.entityId).to.not.equal(null);
    return profile!;
  }

  it('Redirect both ways: signed LogoutRequest from A ends the session, B is told and answers, A gets Success', async function () {
    const a = await seedSamlApp(t, 'sloa');
    await Application.updateOne({ tenantId: t.tenantId, applicationId: a.applicationId }, { $set: { 'saml.signingCertificates': [a.signing.certificatePem] } });
    const b = await seedSamlApp(t, 'slob');
    const spA = nodeSamlSp(t, a, idpCert, { privateKey: a.signing.privateKeyPem, logoutCallbackUrl: a.slo });
    const spB = nodeSamlSp(t, b, idpCert, { logoutCallbackUrl: b.slo });
    const { cookie, sessionId } = await sessionCookie(t, userId);
    const profileA = await signInTo(a, spA, cookie);
    const profileB = await signInTo(b, spB, cookie);

    const agent = agentFor(app);
    const toIdp = await spA.getLogoutUrlAsync(profileA, 'back-to-a', {});
    const step1 = await agent.get(pathOf(toIdp));
    expect(step1.status).to.equal(303);
    expect(step1.headers.location!.startsWith(`${b.slo}?SAMLRequest=`)).to.equal(true);
    // The Gatehouse session is over before any SP answers.
    expect(await SsoUserSession.findOne({ tenantId: t.tenantId, sessionId }).setOptions({ includeExpired: true }).lean()).to.equal(null);

    const atB = queryOf(step1.headers.location!);
    expect(atB.query.SigAlg).to.equal('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const validated = await spB.validateRedirectAsync(atB.query, atB.original);
    // node-saml reports a verified LogoutRequest as loggedOut with the profile it names.
    expect(validated.loggedOut).to.equal(true);
    expect(validated.profile!.nameID).to.equal(profileB.nameID);
    expect(validated.profile!.sessionIndex).to.equal(profileB.sessionIndex);

    const backFromB = await spB.getLogoutResponseUrlAsync(validated.profile!, atB.query.RelayState!, {}, true);
    const step2 = await agent.get(pathOf(backFromB));
    expect(step2.status).to.equal(303);
    expect(step2.headers.location!.startsWith(`${a.slo}?SAMLResponse=`)).to.equal(true);
    const atA = queryOf(step2.headers.location!);
    expect(atA.query.RelayState).to.equal('back-to-a');
    const final = await spA.validateRedirectAsync(atA.query, atA.original);
    expect(final.loggedOut).to.equal(true);

    const parts = await SamlSessionParticipant.find({ tenantId: t.tenantId, sessionId }).setOptions({ includeExpired: true }).lean();
    expect(parts.map((p) => p.endedReason)).to.deep.equal(['logout', 'logout']);
    expect(parts.every((p) => p.logoutConfirmedAt instanceof Date)).to.equal(true);
    // The same LogoutResponse again moves nothing.
    const replay = await agent.get(pathOf(backFromB));
    expect(replay.status).to.equal(400);
  });

  it('POST both ways: unsigned LogoutRequest POSTed by A (no certificates), B told by an auto-POST it verifies, A answered by auto-POST', async function () {
    const a = await seedSamlApp(t, 'slopa', { sloBinding: 'HTTP-POST' });
    const b = await seedSamlApp(t, 'slopb', { sloBinding: 'HTTP-POST' });
    const spA = nodeSamlSp(t, a, idpCert, { logoutCallbackUrl: a.slo });
    const spB = nodeSamlSp(t, b, idpCert, { logoutCallbackUrl: b.slo });
    const { cookie, sessionId } = await sessionCookie(t, userId);
    const profileA = await signInTo(a, spA, cookie);
    await signInTo(b, spB, cookie);

    // node-saml sends logout requests by Redirect only; the same request, POSTed as the POST binding carries it.
    const redirect = new URL(await spA.getLogoutUrlAsync(profileA, 'rs-post', {}));
    const xml = inflateRawSync(Buffer.from(redirect.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    const agent = agentFor(app);
    const step1 = await agent.post(`/tenants/${t.tenantId}/saml/idp/slo`).type('form').send({ SAMLRequest: Buffer.from(xml).toString('base64'), RelayState: 'rs-post' });
    const toB = readAutoPost(step1);
    expect(toB.action).to.equal(b.slo);
    expect(toB.csp).to.include('form-action https://slopb.example.test;');
    await expectXmlsecVerified(toB.fields.SAMLRequest!, idpCert);
    const validated = await spB.validatePostRequestAsync({ SAMLRequest: toB.fields.SAMLRequest! });
    expect(validated.loggedOut).to.equal(true);
    expect(await SsoUserSession.findOne({ tenantId: t.tenantId, sessionId }).setOptions({ includeExpired: true }).lean()).to.equal(null);

    const backFromB = await spB.getLogoutResponseUrlAsync(validated.profile!, toB.fields.RelayState!, {}, true);
    const step2 = await agent.get(pathOf(backFromB));
    const toA = readAutoPost(step2);
    expect(toA.action).to.equal(a.slo);
    expect(toA.fields.RelayState).to.equal('rs-post');
    // node-saml looks for InResponseTo on a <Response> only; check the LogoutResponse's ourselves.
    const finalXml = Buffer.from(toA.fields.SAMLResponse!, 'base64').toString('utf8');
    await expectXmlsecVerified(toA.fields.SAMLResponse!, idpCert);
    expect(finalXml).to.include(`InResponseTo="${/ID="([^"]+)"/.exec(xml)![1]}"`);
    const spAReceiving = nodeSamlSp(t, a, idpCert, { logoutCallbackUrl: a.slo, validateInResponseTo: ValidateInResponseTo.ifPresent });
    const final = await spAReceiving.validatePostResponseAsync({ SAMLResponse: toA.fields.SAMLResponse! });
    expect(final.loggedOut).to.equal(true);
  });

  it('an SP with signing certificates cannot log a session out with an unsigned request', async function () {
    const a = await seedSamlApp(t, 'slosig');
    await Application.updateOne({ tenantId: t.tenantId, applicationId: a.applicationId }, { $set: { 'saml.signingCertificates': [a.signing.certificatePem] } });
    const signing = nodeSamlSp(t, a, idpCert);
    const { cookie, sessionId } = await sessionCookie(t, userId);
    const profile = await signInTo(a, signing, cookie);
    const unsigned = await signing.getLogoutUrlAsync(profile, '', {});
    const res = await agentFor(app).get(pathOf(unsigned));
    expect(res.status).to.equal(400);
    expect(res.text).to.include('Sign-in could not continue');
    expect(await SsoUserSession.findOne({ tenantId: t.tenantId, sessionId }).lean()).to.not.equal(null);
  });

  it('a LogoutRequest addressed to another endpoint (Destination) is refused and the session lives', async function () {
    const a = await seedSamlApp(t, 'slodest');
    const spA = nodeSamlSp(t, a, idpCert);
    const { cookie, sessionId } = await sessionCookie(t, userId);
    const profile = await signInTo(a, spA, cookie);
    const elsewhere = nodeSamlSp(t, a, idpCert, { logoutUrl: 'https://other-idp.example/slo' });
    const url = new URL(await elsewhere.getLogoutUrlAsync(profile, '', {}));
    const res = await agentFor(app).get(`/tenants/${t.tenantId}/saml/idp/slo${url.search}`);
    expect(res.status).to.equal(400);
    expect(await SsoUserSession.findOne({ tenantId: t.tenantId, sessionId }).lean()).to.not.equal(null);
  });

  it('a session ended elsewhere (portal logout, admin) is recorded on its SAML participants', async function () {
    const a = await seedSamlApp(t, 'sloelse');
    const spA = nodeSamlSp(t, a, idpCert);
    const { cookie, sessionId } = await sessionCookie(t, userId);
    await signInTo(a, spA, cookie);
    await endSsoSession(t.tenantId, sessionId, 'adminExpired');
    const p = await SamlSessionParticipant.findOne({ tenantId: t.tenantId, sessionId }).setOptions({ includeExpired: true }).lean();
    expect(p!.endedReason).to.equal('adminExpired');
    expect(p!.endedAt).to.be.instanceOf(Date);
    expect(p!.logoutSentAt).to.equal(null);
  });
});
