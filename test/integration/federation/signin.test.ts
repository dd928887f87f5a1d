/**
 * Federated sign-in through the tenant's external SAML IdP (brief "Task E"; ARCHITECTURE.md
 * "federation") against the real engine, with a real IdP: tenant B of the same Gatehouse. Tenant A
 * is set up through the admin API (tenant, login settings, external IdP, attribute mapper); B's
 * SAML application for A's SP and the users are rows (their APIs are other files' subjects).
 *
 * Covered: both bindings; A's AuthnRequests signed with A's SAML certificate and verified by B
 * (B's application requires signed requests, and refuses an unsigned one); the session in A with
 * amr `fed`; a SAML application of A whose sign-in started the interaction gets its assertion at
 * the end; a protocol requiring MFA is refused when the IdP did not assert MFA; unknown and
 * suspended users; IdP DISABLED and `externalIdpEnabled` off; the attribute mapper's import and
 * force modes; the login page option for the lead (`federationLoginOption`).
 */
import { expect } from 'chai';
import { ValidateInResponseTo } from '@node-saml/node-saml';
import { federationSpUrls } from '../../../src/federation/external-idp.model.js';
import { federationLoginOption } from '../../../src/federation/signin.service.js';
import { FederationPending } from '../../../src/federation/signin.models.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { getTenantSigningKeys } from '../../../src/saml/keys.js';
import { hashPassword } from '../../../src/shared/password-hash.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import type { TenantRecord } from '../../../src/sso/tenant/tenant-context.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { ACCOUNT, rootSigner, type Signer } from '../../helpers/admin.js';
import { testApp, testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { agentFor, BASE, nodeSamlSp, pathOf, readAutoPost, seedSamlApp, seedTenant, seedUser, tenantCertificate, type TestTenant } from '../saml/sso-fixtures.js';
import { idpEndpoints, PASSWORD, postToAcs, readFederationPost, seedIdpApplicationForSp, throughIdp } from './signin-fixtures.js';

const IDP_PATH = `${SSO_API_PREFIX}/tenant/saml-idp`;

describe('Federated sign-in through an external SAML IdP (another Gatehouse tenant)', function () {
  this.timeout(180_000);
  useTestDatabase('fedsignin');
  const app = testApp();
  let root: Signer;
  let a: TestTenant;
  let b: TestTenant;
  let aliceA: string;
  let idpCert: string;

  before(async function () {
    root = await rootSigner(app);
    const tenantId = (await root.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201)).body.tenantId as string;
    a = { tenantId, accountId: ACCOUNT, alias: '' };
    b = await seedTenant(ACCOUNT + 21);
    idpCert = await tenantCertificate(b);
    const aCert = (await getTenantSigningKeys(a.tenantId, a.accountId, testKeyring())).current.certPem;
    // B's application for A's SP requires AuthnRequests signed with A's SAML certificate.
    await seedIdpApplicationForSp(b, a.tenantId, {
      requireSignedRequests: true,
      signingCertificates: [aCert],
      attributes: [
        { name: 'givenName', source: 'profile', value: 'firstName' },
        { name: 'department', source: 'profile', value: 'deptName' },
      ],
    });
    const hash = await hashPassword(PASSWORD);
    for (const loginId of ['alice@corp.example', 'bob@corp.example', 'carol@corp.example']) {
      await seedUser(b, loginId, { firstName: `${loginId.split('@')[0]!}-at-idp`, deptName: 'Research' }, { passwordHash: hash });
    }
    // A: alice (loginId differs in case from the NameID: matched case-insensitively), bob suspended, no carol.
    aliceA = await seedUser(a, 'Alice@corp.example', { firstName: 'Local' });
    await seedUser(a, 'bob@corp.example', {}, { status: 'SUSPENDED' });

    await root.call('put', `${SSO_API_PREFIX}/tenant/login-settings`, { externalIdpEnabled: true }).expect(200);
    const idp = idpEndpoints(b.tenantId);
    await root
      .call('post', IDP_PATH, { idpIssuerUrl: idp.entityId, idpSigninUrl: idp.ssoUrl, protocolBinding: 'HTTP_REDIRECT', requestSigningEnabled: true, idpCertificates: [idpCert] })
      .expect(201);
    await root
      .call('put', `${SSO_API_PREFIX}/tenant/saml-idp/profile-mapping`, {
        firstName: { displayName: 'First name', syncMode: 'import', idpValue: 'givenName' },
        deptName: { displayName: 'Department', syncMode: 'force', idpValue: 'department' },
      })
      .expect(200);
  });

  async function setBinding(protocolBinding: 'HTTP_POST' | 'HTTP_REDIRECT', requestSigningEnabled = true): Promise<void> {
    const idp = idpEndpoints(b.tenantId);
    await root.call('put', IDP_PATH, { idpIssuerUrl: idp.entityId, idpSigninUrl: idp.ssoUrl, protocolBinding, requestSigningEnabled }).expect(200);
  }

  /** Tenant A as the tenant resolver holds it (what the login page passes to federationLoginOption). */
  function tenantRecord() {
    return Tenant.findOne({ accountId: a.accountId, tenantId: a.tenantId }).lean<TenantRecord>();
  }

  async function liveSessions(userId: string) {
    return SsoUserSession.find({ tenantId: a.tenantId, userId }).lean();
  }

  it('Redirect binding, signed AuthnRequest verified by B: session in A with amr fed, back to the portal; profile import then force', async function () {
    const agent = agentFor(app);
    const start = await agent.get(`/tenants/${a.tenantId}/saml/login`);
    expect(start.status).to.equal(303);
    const location = new URL(String(start.headers.location));
    expect(`${location.origin}${location.pathname}`).to.equal(idpEndpoints(b.tenantId).ssoUrl);
    expect(location.searchParams.get('Signature'), 'the request is signed').to.be.a('string');
    expect(location.searchParams.get('SigAlg')).to.equal('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const relayState = location.searchParams.get('RelayState')!;
    expect(relayState).to.match(/^[A-Za-z0-9_-]{22}$/);
    expect(await FederationPending.countDocuments({ tenantId: a.tenantId, stateId: relayState })).to.equal(1);

    const idpAnswer = await throughIdp(agent, start, b.tenantId, 'alice@corp.example');
    expect(idpAnswer.acsAction).to.equal(federationSpUrls(BASE, a.tenantId).acsUrl);
    expect(idpAnswer.acsFields.RelayState).to.equal(relayState);
    const acs = await postToAcs(agent, idpAnswer);
    expect(acs.status, acs.text.slice(0, 300)).to.equal(303);
    expect(acs.headers.location).to.equal(`/tenants/${a.tenantId}/saml/complete?state=${relayState}`);
    const done = await agent.get(String(acs.headers.location));
    expect(done.status).to.equal(303);
    expect(done.headers.location).to.match(new RegExp(`^/tenants/${a.tenantId}/portal\\?login=[A-Za-z0-9_-]{22}$`));
    expect(String(done.headers['set-cookie'])).to.include(`gh_sso_${a.tenantId}=`);

    const sessions = await liveSessions(aliceA);
    expect(sessions).to.have.length(1);
    expect(sessions[0]!.amr).to.deep.equal(['fed']);
    expect(sessions[0]!.acr).to.equal('pwd');
    const portal = await agent.get(String(done.headers.location));
    expect(portal.status).to.be.oneOf([200, 303]);

    let user = await SsoUser.findOne({ tenantId: a.tenantId, userId: aliceA }).lean();
    expect(user!.userProfile!.firstName, 'import at the first federated sign-in').to.equal('alice-at-idp');
    expect(user!.userProfile!.deptName).to.equal('Research');
    expect(user!.lastLoginAt).to.be.instanceOf(Date);
    const audit = await HistoryEvent.findOne({ accountId: a.accountId, tenantId: a.tenantId, action: 'SSO/federatedSignIn', result: 'success' }).lean();
    expect(audit, 'the sign-in is audited').to.not.equal(null);

    // Second sign-in: import fields stay as they are, force fields follow the IdP.
    await SsoUser.updateOne({ tenantId: b.tenantId, loginIdKey: 'alice@corp.example' }, { $set: { 'userProfile.firstName': 'Changed', 'userProfile.deptName': 'Sales' } });
    const agent2 = agentFor(app);
    const start2 = await agent2.get(`/tenants/${a.tenantId}/saml/login`);
    expect(start2.status).to.equal(303);
    const answer2 = await throughIdp(agent2, start2, b.tenantId, 'alice@corp.example');
    const acs2 = await postToAcs(agent2, answer2);
    expect((await agent2.get(String(acs2.headers.location))).status).to.equal(303);
    user = await SsoUser.findOne({ tenantId: a.tenantId, userId: aliceA }).lean();
    expect(user!.userProfile!.firstName).to.equal('alice-at-idp');
    expect(user!.userProfile!.deptName).to.equal('Sales');
  });

  it('POST binding: an auto-POST page (no inline script, form-action only the IdP origin) with a signed AuthnRequest B accepts', async function () {
    await setBinding('HTTP_POST');
    try {
      const agent = agentFor(app);
      const start = await agent.get(`/tenants/${a.tenantId}/saml/login`);
      expect(start.status).to.equal(200);
      const page = readFederationPost(start);
      expect(page.action).to.equal(idpEndpoints(b.tenantId).ssoUrl);
      expect(page.csp).to.include(`form-action ${new URL(BASE).origin}`);
      expect(page.csp).to.include("script-src 'self'");
      expect(page.csp).not.to.include('unsafe-inline');
      expect(start.text).not.to.match(/<script>[^<]/);
      const xml = Buffer.from(page.fields.SAMLRequest!, 'base64').toString('utf8');
      expect(xml).to.include('<samlp:AuthnRequest');
      expect(xml).to.include('Signature');
      const script = await agent.get(`/tenants/${a.tenantId}/saml/assets/federation-post.js`);
      expect(script.status).to.equal(200);
      expect(script.text).to.include("getElementById('federation-post')");

      const answer = await throughIdp(agent, start, b.tenantId, 'alice@corp.example');
      const acs = await postToAcs(agent, answer);
      expect(acs.status, acs.text.slice(0, 300)).to.equal(303);
      const done = await agent.get(String(acs.headers.location));
      expect(done.headers.location).to.match(/\/portal\?login=/);
    } finally {
      await setBinding('HTTP_REDIRECT');
    }
  });

  it('an unsigned AuthnRequest is refused by B (its application requires signed requests): no Response, no session', async function () {
    await setBinding('HTTP_REDIRECT', false);
    try {
      const agent = agentFor(app);
      const start = await agent.get(`/tenants/${a.tenantId}/saml/login`);
      expect(new URL(String(start.headers.location)).searchParams.get('Signature')).to.equal(null);
      const atIdp = await agent.get(pathOf(String(start.headers.location)));
      expect(atIdp.status).to.equal(400);
      expect(atIdp.text).not.to.include('SAMLResponse');
    } finally {
      await setBinding('HTTP_REDIRECT');
    }
  });

  it('a SAML application of A that started the interaction gets its assertion after the federated sign-in', async function () {
    const sp = await seedSamlApp(a, 'fedapp');
    const aCert = (await getTenantSigningKeys(a.tenantId, a.accountId, testKeyring())).current.certPem;
    const saml = nodeSamlSp(a, sp, aCert, { validateInResponseTo: ValidateInResponseTo.always });
    const agent = agentFor(app);
    const toLogin = await agent.get(pathOf(await saml.getAuthorizeUrlAsync('app-relay', undefined, {})));
    expect(toLogin.status).to.equal(303);
    const interactionId = /\/login\?interaction=([A-Za-z0-9_-]{22})$/.exec(String(toLogin.headers.location))?.[1];
    expect(interactionId).to.be.a('string');
    // What the lead's login page shows: the link carrying this interaction.
    const option = await federationLoginOption((await tenantRecord())!, interactionId!);
    expect(option).to.deep.equal({ href: `/tenants/${a.tenantId}/saml/login?interaction=${interactionId}` });

    const start = await agent.get(option!.href);
    const answer = await throughIdp(agent, start, b.tenantId, 'alice@corp.example');
    const acs = await postToAcs(agent, answer);
    const done = await agent.get(String(acs.headers.location));
    expect(done.status).to.equal(303);
    expect(done.headers.location).to.match(new RegExp(`/saml/idp/resume/[A-Za-z0-9_-]{22}\\?login=${interactionId}$`));
    const back = await agent.get(String(done.headers.location));
    const post = readAutoPost(back);
    expect(post.action).to.equal(sp.acs);
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: post.fields.SAMLResponse!, RelayState: 'app-relay' });
    expect(profile!.nameID.toLowerCase()).to.equal('alice@corp.example');
  });

  it('an interaction that requires MFA is refused when the IdP did not assert MFA (403, no session)', async function () {
    const sp = await seedSamlApp(a, 'fedmfa');
    const aCert = (await getTenantSigningKeys(a.tenantId, a.accountId, testKeyring())).current.certPem;
    const saml = nodeSamlSp(a, sp, aCert, {
      disableRequestedAuthnContext: false,
      authnContext: ['https://refeds.org/profile/mfa'],
      racComparison: 'exact',
    });
    const agent = agentFor(app);
    const toLogin = await agent.get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {})));
    const interactionId = /interaction=([A-Za-z0-9_-]{22})$/.exec(String(toLogin.headers.location))?.[1];
    expect(interactionId).to.be.a('string');
    const before = (await liveSessions(aliceA)).length;
    const start = await agent.get(`/tenants/${a.tenantId}/saml/login?interaction=${interactionId}`);
    const answer = await throughIdp(agent, start, b.tenantId, 'alice@corp.example');
    const acs = await postToAcs(agent, answer);
    const done = await agent.get(String(acs.headers.location));
    expect(done.status).to.equal(403);
    expect(done.text).to.include('Sign-in through your organization failed');
    expect((await liveSessions(aliceA)).length).to.equal(before);
    expect(await HistoryEvent.countDocuments({ accountId: a.accountId, tenantId: a.tenantId, action: 'SSO/federatedSignIn', errorCode: 'mfaRequired' })).to.equal(1);
  });

  it('a NameID matching no user of A, and a SUSPENDED user: one generic 403 page, no session, the refusal audited for the known user', async function () {
    for (const loginId of ['carol@corp.example', 'bob@corp.example']) {
      const agent = agentFor(app);
      const start = await agent.get(`/tenants/${a.tenantId}/saml/login`);
      const answer = await throughIdp(agent, start, b.tenantId, loginId);
      const acs = await postToAcs(agent, answer);
      expect(acs.status, loginId).to.equal(403);
      expect(acs.text).to.include('Sign-in through your organization failed');
      expect(acs.text).not.to.include(loginId);
      expect(acs.headers.location).to.equal(undefined);
      expect(String(acs.headers['set-cookie'] ?? '')).not.to.include('gh_sso_');
    }
    const bob = await SsoUser.findOne({ tenantId: a.tenantId, loginIdKey: 'bob@corp.example' }).lean();
    expect(await SsoUserSession.countDocuments({ tenantId: a.tenantId, userId: bob!.userId })).to.equal(0);
    const denied = await HistoryEvent.findOne({ accountId: a.accountId, tenantId: a.tenantId, action: 'SSO/federatedSignIn', result: 'denied', errorCode: 'userSuspended' }).lean();
    expect(denied, 'the suspended user is audited').to.not.equal(null);
  });

  it('IdP DISABLED, or externalIdpEnabled off: /saml/login is a 404 page and sends nothing; a response arriving meanwhile is refused', async function () {
    // A sign-in in flight when the admin turns the IdP off.
    const agent = agentFor(app);
    const start = await agent.get(`/tenants/${a.tenantId}/saml/login`);
    const answer = await throughIdp(agent, start, b.tenantId, 'alice@corp.example');

    await root.call('put', `${IDP_PATH}/status`, { status: 'DISABLED' }).expect(200);
    try {
      const off = await agentFor(app).get(`/tenants/${a.tenantId}/saml/login`);
      expect(off.status).to.equal(404);
      expect(off.headers.location).to.equal(undefined);
      expect(await federationLoginOption((await tenantRecord())!, 'A'.repeat(22))).to.equal(null);
      const late = await postToAcs(agent, answer);
      expect(late.status).to.equal(404);
      expect(String(late.headers['set-cookie'] ?? '')).not.to.include('gh_sso_');
    } finally {
      await root.call('put', `${IDP_PATH}/status`, { status: 'ENABLED' }).expect(200);
    }

    await root.call('put', `${SSO_API_PREFIX}/tenant/login-settings`, { externalIdpEnabled: false }).expect(200);
    try {
      const off = await agentFor(app).get(`/tenants/${a.tenantId}/saml/login`);
      expect(off.status).to.equal(404);
      expect(off.headers.location).to.equal(undefined);
    } finally {
      await root.call('put', `${SSO_API_PREFIX}/tenant/login-settings`, { externalIdpEnabled: true }).expect(200);
    }
    expect((await agentFor(app).get(`/tenants/${a.tenantId}/saml/login`)).status).to.equal(303);
  });

  it('a response is completed only in the browser that started the sign-in, once', async function () {
    const agent = agentFor(app);
    const start = await agent.get(`/tenants/${a.tenantId}/saml/login`);
    const answer = await throughIdp(agent, start, b.tenantId, 'alice@corp.example');
    // An attacker's browser posts the victim's response (login CSRF): the ACS verifies it, but
    // the completion needs the interaction's binding cookie, which only the starting browser has.
    const stranger = agentFor(app);
    const acs = await postToAcs(stranger, answer);
    expect(acs.status).to.equal(303);
    const theirs = await stranger.get(String(acs.headers.location));
    expect(theirs.status).to.equal(400);
    expect(String(theirs.headers['set-cookie'] ?? '')).not.to.include('gh_sso_');
    // The same response again: already used.
    const replay = await postToAcs(agent, answer);
    expect(replay.status).to.be.oneOf([400, 403]);
  });

  it('the SP metadata is public at /saml/sp-metadata: A\'s entity ID, ACS and signing certificate, AuthnRequestsSigned as configured', async function () {
    const res = await agentFor(app).get(`/tenants/${a.tenantId}/saml/sp-metadata`);
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/samlmetadata\+xml/);
    const urls = federationSpUrls(BASE, a.tenantId);
    expect(res.text).to.include(`entityID="${urls.entityId}"`);
    expect(res.text).to.include(`Location="${urls.acsUrl}"`);
    expect(res.text).to.include('AuthnRequestsSigned="true"');
    const aCert = (await getTenantSigningKeys(a.tenantId, a.accountId, testKeyring())).current.certPem;
    const body = aCert.replace(/-----[^-]+-----|\s/g, '');
    expect(res.text.replace(/\s/g, '')).to.include(body);
  });

  it('an unknown or malformed RelayState and an unknown interaction: the generic page, nothing sent', async function () {
    const agent = agentFor(app);
    const bad = await agent.post(`/tenants/${a.tenantId}/saml/acs`).type('form').send({ SAMLResponse: 'PHg+', RelayState: 'https://evil.example/' });
    expect(bad.status).to.equal(400);
    expect(bad.headers.location).to.equal(undefined);
    expect(bad.text).not.to.include('evil.example');
    const lost = await agent.get(`/tenants/${a.tenantId}/saml/login?interaction=${'B'.repeat(22)}`);
    expect(lost.status).to.equal(400);
    const noState = await agent.get(`/tenants/${a.tenantId}/saml/complete?state=${'C'.repeat(22)}`);
    expect(noState.status).to.equal(400);
  });
});
