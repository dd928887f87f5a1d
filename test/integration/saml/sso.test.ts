/**
 * SP-initiated SAML SSO against the real engine with `@node-saml/node-saml` as the SP (issue 9
 * "Done when"): both bindings, signed and unsigned AuthnRequests, a live session answered at once,
 * no session sent through the login pipeline and back, ForceAuthn / IsPassive /
 * RequestedAuthnContext, who may sign in, attributes and the role attribute, encrypted
 * assertions, every emitted Response checked for security-bar case 9 and, where xmlsec1 is
 * installed, case 8.
 */
import { inflateRawSync } from 'node:zlib';
import { expect } from 'chai';
import { DOMParser } from '@xmldom/xmldom';
import { ValidateInResponseTo } from '@node-saml/node-saml';
import { LoginInteraction } from '../../../src/auth/login-interaction.model.js';
import { hashPassword } from '../../../src/shared/password-hash.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { SamlPendingRequest, SamlSessionParticipant } from '../../../src/saml/idp/idp.models.js';
import { ApplicationPrincipal } from '../../../src/sso/applications/application-principal.model.js';
import { Application } from '../../../src/sso/applications/application.model.js';
import { testApp } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { signIn } from '../../helpers/sso-login.js';
import { verifyWithXmlsec1, xmlsec1Available } from '../../helpers/xmlsec.js';
import {
  agentFor,
  BASE,
  decodeResponse,
  formFields,
  nodeSamlSp,
  pathOf,
  readAutoPost,
  seedSamlApp,
  seedTenant,
  seedUser,
  sessionCookie,
  spKeyPairs,
  tenantCertificate,
  type TestSp,
  type TestTenant,
} from './sso-fixtures.js';

const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';
const PASSWORD = 'correct horse battery staple 42';

const XMLSEC1 = xmlsec1Available();

/** Security-bar case 8 when xmlsec1 is installed: every signature verifies with the tenant certificate's key alone. */
async function xmlsecVerifies(xml: string, certPem: string): Promise<boolean> {
  return (await verifyWithXmlsec1(xml, certPem)).ok;
}

/** Security-bar case 9 on an emitted (unencrypted) Response. */
function checkCase9(xml: string, sp: TestSp, acs: string, inResponseTo: string | null): void {
  expect(xml).not.to.include('<!--');
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const root = doc.documentElement!;
  expect(root.getAttribute('Destination')).to.equal(acs);
  expect(root.getAttribute('ID')).to.match(/^_[0-9a-f]{40}$/);
  const assertion = doc.getElementsByTagNameNS(ASSERTION_NS, 'Assertion').item(0)!;
  expect(assertion.getAttribute('ID')).to.match(/^_[0-9a-f]{40}$/);
  expect(doc.getElementsByTagNameNS(ASSERTION_NS, 'Audience').item(0)!.textContent).to.equal(sp.entityId);
  const scd = doc.getElementsByTagNameNS(ASSERTION_NS, 'SubjectConfirmationData').item(0)!;
  expect(scd.getAttribute('Recipient')).to.equal(acs);
  if (inResponseTo) {
    expect(root.getAttribute('InResponseTo')).to.equal(inResponseTo);
    expect(scd.getAttribute('InResponseTo')).to.equal(inResponseTo);
  } else {
    expect(root.hasAttribute('InResponseTo')).to.equal(false);
  }
  const conditions = doc.getElementsByTagNameNS(ASSERTION_NS, 'Conditions').item(0)!;
  const issued = Date.parse(assertion.getAttribute('IssueInstant')!);
  const notOnOrAfter = Date.parse(conditions.getAttribute('NotOnOrAfter')!);
  expect(notOnOrAfter - issued).to.be.at.most(5 * 60_000);
  expect(Date.parse(scd.getAttribute('NotOnOrAfter')!) - issued).to.be.at.most(5 * 60_000);
  expect(issued - Date.parse(conditions.getAttribute('NotBefore')!)).to.be.within(0, 60_000);
}

function requestIdOf(xml: string): string {
  return /ID="([^"]+)"/.exec(xml)?.[1] ?? '';
}

describe('SAML IdP: SP-initiated SSO with node-saml as the SP', function () {
  this.timeout(120_000);
  useTestDatabase('samlsso');
  const app = testApp();
  let t: TestTenant;
  let idpCert: string;
  let userId: string;

  before(async function () {
    t = await seedTenant(3100001);
    idpCert = await tenantCertificate(t);
    userId = await seedUser(t, 'alice@corp.example', { firstName: 'Alice', deptName: 'R&D <lab>' }, { passwordHash: await hashPassword(PASSWORD) });
  });

  it('Redirect binding, unsigned request, live session: a signed assertion node-saml accepts, InResponseTo bound, RelayState echoed, participant recorded', async function () {
    const sp = await seedSamlApp(t, 'redir');
    const saml = nodeSamlSp(t, sp, idpCert);
    const { cookie, sessionId } = await sessionCookie(t, userId);
    const url = await saml.getAuthorizeUrlAsync('rs-123', undefined, {});
    const res = await agentFor(app).get(pathOf(url)).set('Cookie', cookie);
    expect(res.status).to.equal(200);
    const post = readAutoPost(res);
    expect(post.action).to.equal(sp.acs);
    expect(post.fields.RelayState).to.equal('rs-123');
    // Case 34: the page may post only to the ACS origin, and loads no inline script.
    expect(post.csp).to.include("form-action https://redir.example.test;");
    expect(post.csp).to.include("script-src 'self'");
    expect(res.text).not.to.match(/<script>[^<]/);

    const xml = decodeResponse(post.fields.SAMLResponse!);
    const requestXml = inflateRawSync(Buffer.from(new URL(url).searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    checkCase9(xml, sp, sp.acs, requestIdOf(requestXml));
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: post.fields.SAMLResponse!, RelayState: 'rs-123' });
    expect(profile!.nameID).to.equal('alice@corp.example');
    expect(profile!.nameIDFormat).to.equal('urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
    expect(profile!.sessionIndex).to.be.a('string').with.length.above(20);
    if (XMLSEC1) expect(await xmlsecVerifies(xml, idpCert)).to.equal(true);

    const participant = await SamlSessionParticipant.findOne({ tenantId: t.tenantId, sessionId, applicationId: sp.applicationId }).lean();
    expect(participant?.sessionIndex).to.equal(profile!.sessionIndex);
    // A live session on the Redirect binding is answered at once: nothing is stored to resume.
    expect(await SamlPendingRequest.countDocuments({ tenantId: t.tenantId, entityId: sp.entityId })).to.equal(0);
  });

  it('POST binding, signed request (rsa-sha256), response signed as a whole with rsa-sha512: 303 to resume, then the Response', async function () {
    const sp = await seedSamlApp(t, 'postsig', { requireSignedRequests: true, signWhat: 'response', signatureAlgorithm: 'rsa-sha512' });
    const keys = sp.signing;
    await Application.updateOne(
      { tenantId: t.tenantId, applicationId: sp.applicationId },
      { $set: { 'saml.signingCertificates': [keys.certificatePem] } },
    );
    const saml = nodeSamlSp(t, sp, idpCert, { privateKey: keys.privateKeyPem, wantAssertionsSigned: false, wantAuthnResponseSigned: true, authnRequestBinding: 'HTTP-POST', skipRequestCompression: true, digestAlgorithm: 'sha256' });
    const form = await saml.getAuthorizeFormAsync('', undefined, {});
    const fields = formFields(form);
    const agent = agentFor(app);
    const { cookie } = await sessionCookie(t, userId);
    const first = await agent.post(`/tenants/${t.alias}/saml/idp/sso`).type('form').send({ SAMLRequest: fields.SAMLRequest! });
    expect(first.status).to.equal(303);
    expect(first.headers.location).to.match(new RegExp(`^/tenants/${t.tenantId}/saml/idp/resume/[A-Za-z0-9_-]{22}$`));
    const res = await agent.get(first.headers.location!).set('Cookie', cookie);
    const post = readAutoPost(res);
    const xml = decodeResponse(post.fields.SAMLResponse!);
    expect(xml).to.include('http://www.w3.org/2001/04/xmldsig-more#rsa-sha512');
    expect(xml).to.include('http://www.w3.org/2001/10/xml-exc-c14n#');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: post.fields.SAMLResponse! });
    expect(profile!.nameID).to.equal('alice@corp.example');
    if (XMLSEC1) expect(await xmlsecVerifies(xml, idpCert)).to.equal(true);
  });

  it('POST binding, unsigned request: 303 to resume; two concurrent resumes of the same request get exactly one Response', async function () {
    const sp = await seedSamlApp(t, 'postplain');
    const saml = nodeSamlSp(t, sp, idpCert, { authnRequestBinding: 'HTTP-POST', skipRequestCompression: true });
    const fields = formFields(await saml.getAuthorizeFormAsync('relay-post', undefined, {}));
    const agent = agentFor(app);
    const { cookie } = await sessionCookie(t, userId);
    const first = await agent.post(`/tenants/${t.tenantId}/saml/idp/sso`).type('form').send({ SAMLRequest: fields.SAMLRequest!, RelayState: fields.RelayState! });
    expect(first.status).to.equal(303);
    const [r1, r2] = await Promise.all([agent.get(first.headers.location!).set('Cookie', cookie), agent.get(first.headers.location!).set('Cookie', cookie)]);
    const answered = [r1, r2].filter((r) => r.status === 200);
    expect(answered).to.have.length(1);
    expect([r1, r2].map((r) => r.status).sort()).to.deep.equal([200, 400]);
    const post = readAutoPost(answered[0]!);
    expect(post.fields.RelayState).to.equal('relay-post');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: post.fields.SAMLResponse!, RelayState: 'relay-post' });
    expect(profile!.nameID).to.equal('alice@corp.example');
  });

  it('no session: 303 to the login page; after the real sign-in pages the Response is issued once, to this browser only', async function () {
    const sp = await seedSamlApp(t, 'nolive');
    const saml = nodeSamlSp(t, sp, idpCert);
    const agent = agentFor(app);
    const url = await saml.getAuthorizeUrlAsync('', undefined, {});
    const res = await agent.get(pathOf(url));
    expect(res.status).to.equal(303);
    const m = /^\/tenants\/([^/]+)\/login\?interaction=([A-Za-z0-9_-]{22})$/.exec(res.headers.location!);
    expect(m, res.headers.location).to.not.equal(null);
    const it = await LoginInteraction.findOne({ tenantId: t.tenantId, interactionId: m![2] }).lean();
    expect(it!.client).to.equal('saml');
    expect(it!.clientName).to.equal('nolive');
    expect(it!.returnTo).to.match(/\/saml\/idp\/resume\//);

    const signedIn = await signIn(agent, t.tenantId, 'alice@corp.example', PASSWORD, { loginUrl: res.headers.location! });
    expect(signedIn.location).to.match(/\/saml\/idp\/resume\/[A-Za-z0-9_-]{22}\?login=/);
    // Another browser holding the same session cookie but not the pending request's binding gets nothing.
    const stranger = await agentFor(app).get(signedIn.location).set('Cookie', signedIn.sessionCookie);
    expect(stranger.status).to.equal(400);
    expect(stranger.text).to.include('Sign-in could not continue');
    const done = await agent.get(signedIn.location);
    const post = readAutoPost(done);
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: post.fields.SAMLResponse! });
    expect(profile!.nameID).to.equal('alice@corp.example');
    const again = await agent.get(signedIn.location);
    expect(again.status).to.equal(400);
    expect(again.text).not.to.include('SAMLResponse');
  });

  it('ForceAuthn sends a live session to the login page; IsPassive without a session answers NoPassive to the ACS', async function () {
    const sp = await seedSamlApp(t, 'force');
    const { cookie } = await sessionCookie(t, userId);
    const forcing = nodeSamlSp(t, sp, idpCert, { forceAuthn: true });
    const res = await agentFor(app).get(pathOf(await forcing.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    expect(res.status).to.equal(303);
    expect(res.headers.location).to.match(/\/login\?interaction=/);
    const it = await LoginInteraction.findOne({ tenantId: t.tenantId }).sort({ _id: -1 }).lean();
    expect(it!.forceAuthn).to.equal(true);

    const passive = nodeSamlSp(t, sp, idpCert, { passive: true, validateInResponseTo: ValidateInResponseTo.never });
    const p = await agentFor(app).get(pathOf(await passive.getAuthorizeUrlAsync('', undefined, {})));
    const post = readAutoPost(p);
    const xml = decodeResponse(post.fields.SAMLResponse!);
    expect(xml).to.include('urn:oasis:names:tc:SAML:2.0:status:NoPassive');
    expect(xml).not.to.include('Assertion');
    if (XMLSEC1) expect(await xmlsecVerifies(xml, idpCert)).to.equal(true);
  });

  it('RequestedAuthnContext REFEDS MFA: a password-only session must step up; an MFA session is answered with the MFA class', async function () {
    const sp = await seedSamlApp(t, 'mfa');
    const saml = nodeSamlSp(t, sp, idpCert, { authnContext: ['https://refeds.org/profile/mfa'] });
    const pwd = await sessionCookie(t, userId, 'pwd');
    const r1 = await agentFor(app).get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', pwd.cookie);
    expect(r1.status).to.equal(303);
    const it = await LoginInteraction.findOne({ tenantId: t.tenantId }).sort({ _id: -1 }).lean();
    expect(it!.requireMfa).to.equal(true);
    const mfa = await sessionCookie(t, userId, 'mfa');
    const r2 = await agentFor(app).get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', mfa.cookie);
    const xml = decodeResponse(readAutoPost(r2).fields.SAMLResponse!);
    expect(xml).to.include('<saml:AuthnContextClassRef>https://refeds.org/profile/mfa</saml:AuthnContextClassRef>');
  });

  it('attributes: profile fields, groups, constants and session duration, escaped; persistent NameID stable per SP and different across SPs', async function () {
    const attrs = [
      { name: 'givenName', source: 'profile', value: 'firstName', friendlyName: 'Given name' },
      { name: 'dept', source: 'profile', value: 'deptName' },
      { name: 'tier', source: 'constant', value: 'gold' },
      { name: 'memberOf', source: 'groups' },
    ];
    const a = await seedSamlApp(t, 'attrs', { nameIdFormat: 'persistent', attributes: attrs, sessionDurationAttributeName: 'https://gatehouse.dev/SAML/Attributes/SessionDuration' });
    const b = await seedSamlApp(t, 'attrsb', { nameIdFormat: 'persistent' });
    const { cookie } = await sessionCookie(t, userId);
    const sa = nodeSamlSp(t, a, idpCert, { identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' });
    const sb = nodeSamlSp(t, b, idpCert, { identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' });
    const pa1 = (await sa.validatePostResponseAsync({ SAMLResponse: readAutoPost(await agentFor(app).get(pathOf(await sa.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie)).fields.SAMLResponse! })).profile!;
    const pa2 = (await sa.validatePostResponseAsync({ SAMLResponse: readAutoPost(await agentFor(app).get(pathOf(await sa.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie)).fields.SAMLResponse! })).profile!;
    const pb = (await sb.validatePostResponseAsync({ SAMLResponse: readAutoPost(await agentFor(app).get(pathOf(await sb.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie)).fields.SAMLResponse! })).profile!;
    expect(pa1.nameID).to.equal(pa2.nameID);
    expect(pa1.nameID).to.not.equal(pb.nameID);
    expect(pa1.nameID).to.not.include(userId);
    expect(pa1.givenName).to.equal('Alice');
    expect(pa1.dept).to.equal('R&D <lab>');
    expect(pa1.tier).to.equal('gold');
    expect(pa1['https://gatehouse.dev/SAML/Attributes/SessionDuration']).to.match(/^\d+$/);
  });

  it('encrypted assertion: AES-256-GCM + RSA-OAEP, decrypted by node-saml with the SP key', async function () {
    const { encryption } = await spKeyPairs();
    const sp = await seedSamlApp(t, 'enc', { encryptAssertion: true, encryptionCertificate: encryption.certificatePem });
    const saml = nodeSamlSp(t, sp, idpCert, { decryptionPvk: encryption.privateKeyPem });
    const { cookie } = await sessionCookie(t, userId);
    const res = await agentFor(app).get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    const post = readAutoPost(res);
    const xml = decodeResponse(post.fields.SAMLResponse!);
    expect(xml).to.include('EncryptedAssertion');
    expect(xml).to.include('http://www.w3.org/2009/xmlenc11#aes256-gcm');
    expect(xml).to.include('http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p');
    expect(xml).not.to.include('aes128-cbc');
    expect(xml).not.to.include('rsa-1_5');
    expect(xml).not.to.include('alice@corp.example');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: post.fields.SAMLResponse! });
    expect(profile!.nameID).to.equal('alice@corp.example');
  });

  it('ASSIGNED application: an unassigned user sees the error page, nothing is sent, the refusal is audited; an assigned one gets in', async function () {
    const sp = await seedSamlApp(t, 'assigned', {}, { accessScope: 'ASSIGNED' });
    const saml = nodeSamlSp(t, sp, idpCert);
    const { cookie } = await sessionCookie(t, userId);
    const res = await agentFor(app).get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    expect(res.status).to.equal(400);
    expect(res.text).to.include('Sign-in could not continue');
    expect(res.text).not.to.include('SAMLResponse');
    const audit = await HistoryEvent.findOne({ accountId: t.accountId, action: 'SAML/rejectRequest', errorCode: 'accessDenied' }).lean();
    expect(audit?.nrn).to.include(sp.applicationId);
    await ApplicationPrincipal.create({ accountId: t.accountId, tenantId: t.tenantId, applicationId: sp.applicationId, principalId: userId, principalType: 'user' });
    const ok = await agentFor(app).get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    expect(readAutoPost(ok).action).to.equal(sp.acs);
  });

  it('ACS by index and by exact URL; the issuer is looked up by tenant id or alias', async function () {
    const sp = await seedSamlApp(t, 'acsidx');
    const { cookie } = await sessionCookie(t, userId);
    const byUrl = nodeSamlSp(t, sp, idpCert, { callbackUrl: `${sp.acs}/second` });
    const r1 = await agentFor(app).get(pathOf(await byUrl.getAuthorizeUrlAsync('', undefined, {})).replace(t.tenantId, t.alias)).set('Cookie', cookie);
    expect(readAutoPost(r1).action).to.equal(`${sp.acs}/second`);
    expect(BASE).to.be.a('string');
  });
});
