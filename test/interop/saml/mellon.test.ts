/**
 * Interop with Apache mod_auth_mellon (Debian libapache2-mod-auth-mellon, lasso) as a real SAML
 * SP (issue 9 "Done when"): the SP is registered from the metadata mellon generates, Gatehouse's
 * metadata is what mellon trusts, and a user signs in through the real login page; the protected
 * CGI page shows what mellon accepted (MELLON_NAME_ID and MELLON_{attribute}). Then single logout
 * started at the SP.
 *
 * Needs apache2 + libapache2-mod-auth-mellon (`.ci/run` installs them); fails when they are
 * missing unless GATEHOUSE_SKIP_INTEROP=1.
 */
import { expect } from 'chai';
import { DOMParser } from '@xmldom/xmldom';
import { removePeerDir, requireInterop, startMellonSp, type RunningMellonSp } from '../../helpers/apache.js';
import { useTestDatabase } from '../../helpers/db.js';
import { Browser, parseEnvPage, parseForm } from './browser.js';
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

const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';

/** The text of each AttributeValue of the named Attribute (unencrypted assertion). */
function attributeValues(xml: string, name: string): string[] {
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const attrs = doc.getElementsByTagNameNS(ASSERTION_NS, 'Attribute');
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs.item(i)!;
    if (a.getAttribute('Name') !== name) continue;
    const values = a.getElementsByTagNameNS(ASSERTION_NS, 'AttributeValue');
    return Array.from({ length: values.length }, (_v, j) => values.item(j)!.textContent ?? '');
  }
  return [];
}

describe('SAML interop: Apache mod_auth_mellon as the SP', function () {
  this.timeout(120_000);
  useTestDatabase('interopmellon');
  let gh: RunningGatehouse;
  let t: InteropTenant;
  let sp: RunningMellonSp | undefined;
  let failed = false;

  before(async function () {
    requireInterop(this, ['apache', 'mellon']);
    gh = await startGatehouse();
    t = await makeInteropTenant(gh);
    sp = await startMellonSp({
      idpMetadataXml: await idpMetadata(gh, t),
      // The role attribute's URI name is no valid environment name; give it a short one.
      extraDirectives: [`MellonSetEnvNoPrefix GATEHOUSE_ROLE "${ROLE_ATTRIBUTE}"`],
    });
    const metadata = await (await fetch(sp.metadataUrl)).text();
    await registerSp(t, 'mellon', metadata);
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      failed = true;
      if (sp) console.error(sp.logs().slice(-12_000));
    }
  });

  after(async () => {
    if (sp) {
      await sp.stop();
      removePeerDir(sp.dir, failed);
    }
    await gh?.close();
  });

  it('the application made from mellon’s metadata has mellon’s ACS, SLO and signing certificate', async () => {
    const list = await t.root.call('get', '/api/v1/sso/applications?protocol=SAML').expect(200);
    const app = (list.body as { items: { applicationId: string }[] }).items[0]!;
    const detail = (await t.root.call('get', `/api/v1/sso/applications/${app.applicationId}`).expect(200)).body as {
      saml: {
        entityId: string;
        acsEndpoints: { location: string; binding: string }[];
        sloUrl: string | null;
        signingCertificates: string[];
        requireSignedRequests: boolean;
      };
    };
    expect(detail.saml.entityId).to.equal(sp!.entityId);
    expect(detail.saml.acsEndpoints.map((e) => e.location)).to.include(`${sp!.baseUrl}/mellon/postResponse`);
    expect(detail.saml.sloUrl).to.equal(`${sp!.baseUrl}/mellon/logout`);
    expect(detail.saml.signingCertificates).to.have.length(1);
    // mellon's metadata says AuthnRequestsSigned="true" and it signs every request.
    expect(detail.saml.requireSignedRequests).to.equal(true);
  });

  it('signs a user in: mellon accepts the assertion and shows the NameID, the attributes and the role attribute', async () => {
    const browser = new Browser();
    const { page, responseXml, acsUrl, authnRequestUrl } = await signInThroughSp(browser, gh, t, sp!.protectedUrl);
    // mellon signs its HTTP-Redirect AuthnRequest (rsa-sha256), which Gatehouse requires of it.
    const query = new URL(authnRequestUrl).searchParams;
    expect(query.get('SigAlg')).to.equal('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    expect(query.get('Signature')).to.be.a('string');
    expect(acsUrl).to.equal(`${sp!.baseUrl}/mellon/postResponse`);
    expect(responseXml).to.include(`Destination="${acsUrl}"`);
    // What Gatehouse put on the wire, as any XML parser reads it (the SP's view is checked below).
    expect(attributeValues(responseXml, 'tier'), 'the tier AttributeValue as an XML parser reads it').to.deep.equal(['gold & <silver>']);
    expect(page.status, `${page.url}\n${page.text.slice(0, 800)}`).to.equal(200);
    expect(page.url).to.equal(sp!.protectedUrl);
    const env = parseEnvPage(page.text);
    const shown: Record<string, string> = Object.fromEntries(
      [...env].filter(([k]) => /^(MELLON_|REMOTE_USER$|AUTH_TYPE$|GATEHOUSE_)/.test(k)),
    );
    expect(shown, JSON.stringify(shown, null, 1)).to.deep.include({
      AUTH_TYPE: 'Mellon',
      REMOTE_USER: t.user.loginId,
      MELLON_NAME_ID: t.user.loginId,
      MELLON_IDP: t.idpEntityId,
      MELLON_email: t.user.loginId,
      MELLON_givenName: 'Ada',
      MELLON_sn: 'Lovelace',
      MELLON_department: 'Analytical Engines',
      MELLON_groups: t.groupName,
      // lasso hands mellon the AttributeValue's text re-serialized (entities kept), so a value
      // with markup characters shows XML-escaped; the wire value is right (checked above with an
      // XML parser, and shibd shows it unescaped), and no markup gets through either way.
      MELLON_tier: 'gold &amp; &lt;silver&gt;',
      GATEHOUSE_ROLE: `${t.roleNrn},${t.idpEntityId}`,
    });
    // The session is mellon's now: the protected page is served again without Gatehouse.
    const again = await browser.get(sp!.protectedUrl);
    expect(again.status).to.equal(200);
  });

  it('with assertion encryption on, mellon decrypts the assertion (AES-256-GCM, RSA-OAEP) and shows the same NameID and attributes', async () => {
    const list = await t.root.call('get', '/api/v1/sso/applications?protocol=SAML').expect(200);
    const applicationId = (list.body as { items: { applicationId: string }[] }).items[0]!.applicationId;
    await t.root.call('put', `/api/v1/sso/applications/${applicationId}`, { saml: { encryptAssertion: true } }).expect(200);
    try {
      const browser = new Browser();
      const { page, responseXml } = await signInThroughSp(browser, gh, t, sp!.protectedUrl);
      expect(responseXml).to.include('EncryptedAssertion');
      expect(responseXml).to.include('http://www.w3.org/2009/xmlenc11#aes256-gcm');
      expect(responseXml).not.to.include(t.user.loginId);
      expect(page.status, `${page.url}\n${page.text.slice(0, 800)}`).to.equal(200);
      const env = parseEnvPage(page.text);
      expect(env.get('MELLON_NAME_ID')).to.equal(t.user.loginId);
      expect(env.get('MELLON_groups')).to.equal(t.groupName);
      expect(env.get('GATEHOUSE_ROLE')).to.equal(`${t.roleNrn},${t.idpEntityId}`);
    } finally {
      await t.root.call('put', `/api/v1/sso/applications/${applicationId}`, { saml: { encryptAssertion: false } }).expect(200);
    }
  });

  it('a wrong password never reaches the SP: the browser stays on Gatehouse’s login page', async () => {
    const browser = new Browser();
    const err = await signInThroughSp(browser, gh, t, sp!.protectedUrl, { password: 'not the password at all' }).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/password step did not complete/);
    expect(browser.history.some((h) => h.includes('/mellon/postResponse'))).to.equal(false);
  });

  it('single logout started at mellon ends the Gatehouse session and mellon’s', async () => {
    const browser = new Browser();
    await signInThroughSp(browser, gh, t, sp!.protectedUrl);
    const returnTo = `${sp!.baseUrl}/index.html`;
    // mellon → LogoutRequest (HTTP-Redirect) → Gatehouse → LogoutResponse to mellon → ReturnTo.
    let page = await browser.follow(await browser.get(sp!.logoutUrl(returnTo)), { max: 12 });
    if (page.status === 200 && /<form/i.test(page.text) && !page.url.startsWith(sp!.baseUrl)) {
      // A LogoutResponse by HTTP-POST: submit the auto-POST form.
      page = await browser.follow(await browser.submit(parseForm(page.text, page.url), page.url), { max: 12 });
    }
    expect(
      browser.history.some((h) => h.includes(`/tenants/${t.tenantId}/saml/idp/slo`)),
      browser.history.join('\n'),
    ).to.equal(true);
    expect(page.url, browser.history.join('\n')).to.equal(returnTo);
    expect(page.status).to.equal(200);
    // mellon's session is gone: the protected page sends the browser to the IdP again…
    const protectedAgain = await browser.follow(await browser.get(sp!.protectedUrl), { until: (u) => u.startsWith(gh.baseUrl) });
    expect(protectedAgain.location ?? '').to.contain(`/tenants/${t.tenantId}/saml/idp/sso`);
    // …and Gatehouse's too: the AuthnRequest leads to the login page, not straight back.
    const atIdp = await browser.get(protectedAgain.location!);
    expect(atIdp.status).to.equal(303);
    expect(atIdp.location).to.contain('/login?interaction=');
  });
});
