/**
 * Interop with the Shibboleth SP 3 (Debian libapache2-mod-shib + shibd, OpenSAML/xmlsec C++) as
 * a real SAML SP (issue 9 "Done when"): registered from the metadata shibd generates
 * (/Shibboleth.sso/Metadata), trusting Gatehouse's metadata, a user signs in through the real
 * login page and the protected CGI page shows the attributes shibd extracted; the same with an
 * encrypted assertion (AES-256-GCM + RSA-OAEP to the SP's encryption certificate); then single
 * logout started at the SP.
 *
 * Needs apache2 + libapache2-mod-shib (`.ci/run` installs them); fails when they are missing
 * unless GATEHOUSE_SKIP_INTEROP=1.
 */
import { expect } from 'chai';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { removePeerDir, requireInterop, startShibbolethSp, type RunningShibSp } from '../../helpers/apache.js';
import { useTestDatabase } from '../../helpers/db.js';
import { Browser, parseEnvPage, parseForm, type Page } from './browser.js';
import {
  idpMetadata,
  makeInteropTenant,
  registerSp,
  ROLE_ATTRIBUTE,
  signInThroughSp,
  startGatehouse,
  type InteropTenant,
  type RunningGatehouse,
} from './fixtures.js';

const URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';

/** What the protected page shows of a Shibboleth session (Apache turns '-' in names into '_'). */
function shown(page: Page): Record<string, string> {
  const env = parseEnvPage(page.text);
  return Object.fromEntries(
    [...env].filter(([k]) => /^(Shib_|REMOTE_USER$|AUTH_TYPE$|email$|givenName$|sn$|department$|groups$|tier$|role$)/.test(k)),
  );
}

describe('SAML interop: Shibboleth SP (mod_shib + shibd) as the SP', function () {
  this.timeout(150_000);
  useTestDatabase('interopshib');
  let gh: RunningGatehouse;
  let t: InteropTenant;
  let sp: RunningShibSp | undefined;
  let applicationId: string;
  let failed = false;

  before(async function () {
    requireInterop(this, ['apache', 'shib']);
    gh = await startGatehouse();
    t = await makeInteropTenant(gh);
    sp = await startShibbolethSp({
      idpEntityId: t.idpEntityId,
      idpMetadataXml: await idpMetadata(gh, t),
      attributes: [
        { name: 'email', id: 'email' },
        { name: 'givenName', id: 'givenName' },
        { name: 'sn', id: 'sn' },
        { name: 'department', id: 'department' },
        { name: 'groups', id: 'groups' },
        { name: 'tier', id: 'tier' },
        // Gatehouse names a URI-named attribute with the uri NameFormat (src/saml/idp/claims.ts).
        { name: ROLE_ATTRIBUTE, id: 'role', nameFormat: URI },
      ],
    });
    const metadata = await (await fetch(sp.metadataUrl)).text();
    applicationId = (await registerSp(t, 'shibboleth', metadata)).applicationId;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      failed = true;
      if (sp) console.error(sp.logs().slice(-16_000));
    }
  });

  after(async () => {
    if (sp) {
      await sp.stop();
      removePeerDir(sp.dir, failed);
    }
    await gh?.close();
  });

  it('the application made from shibd’s metadata has its HTTP-POST ACS, an SLO endpoint and both certificates', async () => {
    const detail = (await t.root.call('get', `/api/v1/sso/applications/${applicationId}`).expect(200)).body as {
      saml: {
        entityId: string;
        acsEndpoints: { location: string; binding: string; isDefault: boolean }[];
        sloUrl: string | null;
        signingCertificates: string[];
        encryptionCertificate: string | null;
      };
    };
    expect(detail.saml.entityId).to.equal(sp!.entityId);
    // Artifact, PAOS and SimpleSign endpoints are skipped; the HTTP-POST one is used.
    expect(detail.saml.acsEndpoints.map((e) => `${e.binding} ${e.location}`)).to.deep.equal([
      `HTTP-POST ${sp!.baseUrl}/Shibboleth.sso/SAML2/POST`,
    ]);
    expect(detail.saml.sloUrl).to.match(new RegExp(`^${sp!.baseUrl}/Shibboleth.sso/SLO/(Redirect|POST)$`));
    expect(detail.saml.signingCertificates).to.have.length(1);
    expect(detail.saml.encryptionCertificate).to.be.a('string');
  });

  it('signs a user in: shibd accepts the assertion and shows the NameID, the attributes and the role attribute', async () => {
    const browser = new Browser();
    const { page, acsUrl, authnRequestUrl } = await signInThroughSp(browser, gh, t, sp!.protectedUrl);
    // shibd sends its AuthnRequest unsigned by default (its metadata does not ask Gatehouse to require signatures).
    expect(new URL(authnRequestUrl).searchParams.has('Signature')).to.equal(false);
    expect(acsUrl).to.equal(`${sp!.baseUrl}/Shibboleth.sso/SAML2/POST`);
    expect(page.status, `${page.url}\n${page.text.slice(0, 800)}`).to.equal(200);
    expect(page.url).to.equal(sp!.protectedUrl);
    const got = shown(page);
    expect(got, JSON.stringify(got, null, 1)).to.deep.include({
      AUTH_TYPE: 'shibboleth',
      REMOTE_USER: t.user.loginId,
      Shib_Identity_Provider: t.idpEntityId,
      email: t.user.loginId,
      givenName: 'Ada',
      sn: 'Lovelace',
      department: 'Analytical Engines',
      groups: t.groupName,
      tier: 'gold & <silver>',
      role: `${t.roleNrn},${t.idpEntityId}`,
    });
    expect(got.Shib_AuthnContext_Class).to.equal('urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');
  });

  it('with assertion encryption on, shibd decrypts the assertion (AES-256-GCM, RSA-OAEP) and shows the same attributes', async () => {
    await t.root.call('put', `/api/v1/sso/applications/${applicationId}`, { saml: { encryptAssertion: true } }).expect(200);
    try {
      const browser = new Browser();
      const { page, responseXml } = await signInThroughSp(browser, gh, t, sp!.protectedUrl);
      expect(responseXml).to.include('EncryptedAssertion');
      expect(responseXml).to.include('http://www.w3.org/2009/xmlenc11#aes256-gcm');
      expect(responseXml).not.to.include(t.user.loginId);
      expect(page.status, `${page.url}\n${page.text.slice(0, 800)}`).to.equal(200);
      const got = shown(page);
      expect(got, JSON.stringify(got, null, 1)).to.deep.include({
        REMOTE_USER: t.user.loginId,
        email: t.user.loginId,
        role: `${t.roleNrn},${t.idpEntityId}`,
      });
    } finally {
      await t.root.call('put', `/api/v1/sso/applications/${applicationId}`, { saml: { encryptAssertion: false } }).expect(200);
    }
  });

  it('single logout started at the SP ends the Gatehouse session and the Shibboleth session', async () => {
    const browser = new Browser();
    await signInThroughSp(browser, gh, t, sp!.protectedUrl);
    const returnTo = `${sp!.baseUrl}/index.html`;
    let page = await browser.follow(await browser.get(sp!.logoutUrl(returnTo)), { max: 12 });
    for (let i = 0; i < 3 && page.status === 200 && /<form/i.test(page.text) && page.url !== returnTo; i++) {
      // A LogoutRequest or LogoutResponse by HTTP-POST: submit the auto-POST form.
      page = await browser.follow(await browser.submit(parseForm(page.text, page.url), page.url), { max: 12 });
    }
    expect(
      browser.history.some((h) => h.includes(`/tenants/${t.tenantId}/saml/idp/slo`)),
      browser.history.join('\n'),
    ).to.equal(true);
    expect(page.url, `${browser.history.join('\n')}\n${page.text.slice(0, 600)}`).to.equal(returnTo);
    const protectedAgain = await browser.follow(await browser.get(sp!.protectedUrl), { until: (u) => u.startsWith(gh.baseUrl) });
    expect(protectedAgain.location ?? '').to.contain(`/tenants/${t.tenantId}/saml/idp/sso`);
    const atIdp = await browser.get(protectedAgain.location!);
    expect(atIdp.status).to.equal(303);
    expect(atIdp.location).to.contain('/login?interaction=');
  });
});

describe('SAML interop: Shibboleth SP sending signed HTTP-POST AuthnRequests', function () {
  this.timeout(150_000);
  useTestDatabase('interopshibpost');
  let gh: RunningGatehouse;
  let t: InteropTenant;
  let sp: RunningShibSp | undefined;
  let failed = false;

  before(async function () {
    requireInterop(this, ['apache', 'shib']);
    gh = await startGatehouse();
    t = await makeInteropTenant(gh);
    sp = await startShibbolethSp({
      idpEntityId: t.idpEntityId,
      idpMetadataXml: await idpMetadata(gh, t),
      attributes: [{ name: 'email', id: 'email' }],
      signedPostRequests: true,
    });
    // Signatures required whatever the metadata says: an unsigned or badly signed request would be refused.
    await registerSp(t, 'shibboleth-post', await (await fetch(sp.metadataUrl)).text(), { requireSignedRequests: true });
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      failed = true;
      if (sp) console.error(sp.logs().slice(-16_000));
    }
  });

  after(async () => {
    if (sp) {
      await sp.stop();
      removePeerDir(sp.dir, failed);
    }
    await gh?.close();
  });

  it('Gatehouse verifies the enveloped rsa-sha256 signature of shibd’s POSTed AuthnRequest and signs the user in', async () => {
    const browser = new Browser();
    const { page, authnRequestBinding, authnRequestUrl, authnRequestXml } = await signInThroughSp(browser, gh, t, sp!.protectedUrl);
    expect(authnRequestBinding).to.equal('post');
    expect(authnRequestXml).to.match(/<ds:Signature\b/);
    expect(authnRequestXml).to.include('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    expect(authnRequestUrl).to.equal(`${t.idpEntityId}/sso`);
    expect(page.status, `${page.url}\n${page.text.slice(0, 800)}`).to.equal(200);
    const got = shown(page);
    expect(got, JSON.stringify(got, null, 1)).to.deep.include({ REMOTE_USER: t.user.loginId, email: t.user.loginId });
  });

  it('the same request with one byte of its signed content changed is refused on Gatehouse’s error page, and no login starts', async () => {
    const browser = new Browser();
    const atSp = await browser.follow(await browser.get(sp!.protectedUrl), { until: (u) => u.startsWith(gh.baseUrl) });
    const form = parseForm(atSp.text, atSp.url);
    const xml = Buffer.from(form.fields.SAMLRequest!, 'base64').toString('utf8');
    // Move IssueInstant by one second: still fresh, still schema-valid, no longer what shibd signed.
    const tampered = xml.replace(
      /IssueInstant="([^"]*?)(\d)(Z|\.\d+Z)"/,
      (_m, head: string, digit: string, tail: string) => `IssueInstant="${head}${(Number(digit) + 1) % 10}${tail}"`,
    );
    expect(tampered).not.to.equal(xml);
    const res = await browser.submit(form, atSp.url, { SAMLRequest: Buffer.from(tampered, 'utf8').toString('base64') });
    expect(res.status).to.equal(400);
    expect(res.location).to.equal(null);
    expect(browser.history.some((h) => h.includes('/login?interaction='))).to.equal(false);
    // Refused for its signature, and audited on the application.
    const audit = await HistoryEvent.findOne({ accountId: t.accountId, action: 'SAML/rejectRequest' }).sort({ _id: -1 }).lean();
    expect(audit?.errorCode).to.equal('badSignature');
  });
});
