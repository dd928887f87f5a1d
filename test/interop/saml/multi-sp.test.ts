/**
 * Both real SPs in one Gatehouse session (issue 9 "single logout … propagates to the other SAML
 * participants of the session"): one sign-in serves mod_auth_mellon and then the Shibboleth SP
 * without a second login page; single logout started at either SP makes Gatehouse visit the
 * other with a signed LogoutRequest before it answers, so both SP sessions and Gatehouse's end.
 *
 * Needs apache2, libapache2-mod-auth-mellon and libapache2-mod-shib (`.ci/run` installs them);
 * fails when they are missing unless GATEHOUSE_SKIP_INTEROP=1.
 */
import { expect } from 'chai';
import {
  removePeerDir,
  requireInterop,
  startMellonSp,
  startShibbolethSp,
  type RunningMellonSp,
  type RunningShibSp,
} from '../../helpers/apache.js';
import { useTestDatabase } from '../../helpers/db.js';
import { Browser, parseEnvPage, parseForm, type Page } from './browser.js';
import {
  driveUntil,
  enterSpWithSession,
  PASSWORD,
  idpMetadata,
  makeInteropTenant,
  registerSp,
  signInThroughSp,
  startGatehouse,
  type InteropTenant,
  type RunningGatehouse,
} from './fixtures.js';

describe('SAML interop: one Gatehouse session across mod_auth_mellon and the Shibboleth SP', function () {
  this.timeout(180_000);
  useTestDatabase('interopmulti');
  let gh: RunningGatehouse;
  let t: InteropTenant;
  let mellon: RunningMellonSp | undefined;
  let shib: RunningShibSp | undefined;
  let mellonAppId: string;
  let shibAppId: string;
  let failed = false;

  before(async function () {
    requireInterop(this, ['apache', 'mellon', 'shib']);
    gh = await startGatehouse();
    t = await makeInteropTenant(gh);
    const metadata = await idpMetadata(gh, t);
    mellon = await startMellonSp({ idpMetadataXml: metadata });
    shib = await startShibbolethSp({ idpEntityId: t.idpEntityId, idpMetadataXml: metadata, attributes: [{ name: 'email', id: 'email' }] });
    // IdP-initiated sign-in allowed (off by default), landing on the protected page.
    const idpInitiated = { idpInitiatedAllowed: true, defaultRelayState: '/protected/env' };
    mellonAppId = (await registerSp(t, 'mellon', await (await fetch(mellon.metadataUrl)).text(), idpInitiated)).applicationId;
    shibAppId = (await registerSp(t, 'shibboleth', await (await fetch(shib.metadataUrl)).text(), idpInitiated)).applicationId;
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') {
      failed = true;
      if (mellon) console.error(mellon.logs().slice(-8_000));
      if (shib) console.error(shib.logs().slice(-12_000));
    }
  });

  after(async () => {
    for (const sp of [mellon, shib]) {
      if (!sp) continue;
      await sp.stop();
      removePeerDir(sp.dir, failed);
    }
    await gh?.close();
  });

  /** Signs in at mellon (login page), then enters shib on the same Gatehouse session. */
  async function signedInAtBoth(): Promise<Browser> {
    const browser = new Browser();
    const atMellon = await signInThroughSp(browser, gh, t, mellon!.protectedUrl);
    expect(parseEnvPage(atMellon.page.text).get('MELLON_NAME_ID')).to.equal(t.user.loginId);
    const logins = browser.history.filter((h) => h.includes('/login?interaction=')).length;
    const atShib = await enterSpWithSession(browser, gh, shib!.protectedUrl);
    expect(atShib.page.status, atShib.page.text.slice(0, 500)).to.equal(200);
    expect(parseEnvPage(atShib.page.text).get('REMOTE_USER')).to.equal(t.user.loginId);
    expect(browser.history.filter((h) => h.includes('/login?interaction=')).length, 'no second login page').to.equal(logins);
    return browser;
  }

  /** Both SPs send the browser back to Gatehouse, and Gatehouse asks for the password again. */
  async function expectSignedOutEverywhere(browser: Browser): Promise<void> {
    for (const sp of [mellon!, shib!]) {
      const again = await browser.follow(await browser.get(sp.protectedUrl), { until: (u) => u.startsWith(gh.baseUrl) });
      expect(again.location ?? '', `${sp.baseUrl} still has a session`).to.contain(`/tenants/${t.tenantId}/saml/idp/sso`);
      const atIdp = await browser.get(again.location!);
      expect(atIdp.status).to.equal(303);
      expect(atIdp.location, 'Gatehouse still has a session').to.contain('/login?interaction=');
    }
  }

  it('one sign-in serves both SPs; logout at mellon also logs the browser out of the Shibboleth SP', async () => {
    const browser = await signedInAtBoth();
    const returnTo = `${mellon!.baseUrl}/index.html`;
    const end = await driveUntil(browser, await browser.get(mellon!.logoutUrl(returnTo)), returnTo);
    expect(end.url, browser.history.join('\n')).to.equal(returnTo);
    // Gatehouse visited shib's SLO endpoint between mellon's LogoutRequest and its LogoutResponse.
    expect(
      browser.history.some((h) => h.includes(`${shib!.baseUrl}/Shibboleth.sso/SLO/`)),
      browser.history.join('\n'),
    ).to.equal(true);
    await expectSignedOutEverywhere(browser);
  });

  it('logout at the Shibboleth SP also logs the browser out of mellon', async () => {
    const browser = await signedInAtBoth();
    const returnTo = `${shib!.baseUrl}/index.html`;
    const end = await driveUntil(browser, await browser.get(shib!.logoutUrl(returnTo)), returnTo);
    expect(end.url, `${browser.history.join('\n')}\n${end.text.slice(0, 600)}`).to.equal(returnTo);
    expect(
      browser.history.some((h) => h.includes(`${mellon!.baseUrl}/mellon/logout`)),
      browser.history.join('\n'),
    ).to.equal(true);
    await expectSignedOutEverywhere(browser);
  });

  /** Signs in at the portal through the login page and returns the portal page. */
  async function portal(browser: Browser): Promise<Page> {
    const start = await browser.follow(await browser.get(`${gh.baseUrl}/tenants/${t.tenantId}/portal`), {
      until: (u) => u.includes('/login?interaction='),
    });
    const loginPage = await browser.get(start.location!);
    const after = await browser.submit(parseForm(loginPage.text, loginPage.url), loginPage.url, {
      loginId: t.user.loginId,
      password: PASSWORD,
    });
    const page = await browser.follow(after);
    expect(page.url, page.text.slice(0, 500)).to.equal(`${gh.baseUrl}/tenants/${t.tenantId}/portal`);
    return page;
  }

  /** The portal's launch form for one application. */
  function launchForm(page: Page, applicationId: string): ReturnType<typeof parseForm> {
    const block = new RegExp(`<form[^>]*action="[^"]*/saml/idp/init/${applicationId}"[\\s\\S]*?</form>`).exec(page.text);
    if (!block) throw new Error(`no launch form for ${applicationId} on the portal:\n${page.text.slice(0, 1500)}`);
    return parseForm(block[0], page.url);
  }

  for (const which of ['mellon', 'shibboleth'] as const) {
    it(`IdP-initiated from the portal: ${which} accepts the unsolicited response and lands on the default RelayState`, async () => {
      const sp = which === 'mellon' ? mellon! : shib!;
      const browser = new Browser();
      const home = await portal(browser);
      const autoPost = await browser.submit(launchForm(home, which === 'mellon' ? mellonAppId : shibAppId), home.url);
      expect(autoPost.status, autoPost.text.slice(0, 500)).to.equal(200);
      const post = parseForm(autoPost.text, autoPost.url);
      expect(post.fields.RelayState).to.equal('/protected/env');
      const response = Buffer.from(post.fields.SAMLResponse!, 'base64').toString('utf8');
      expect(response).not.to.include('InResponseTo');
      const page = await browser.follow(await browser.submit(post, autoPost.url));
      expect(page.url, `${browser.history.join('\n')}\n${page.text.slice(0, 500)}`).to.equal(sp.protectedUrl);
      expect(page.status).to.equal(200);
      const env = parseEnvPage(page.text);
      expect(env.get('REMOTE_USER')).to.equal(t.user.loginId);
    });
  }
});
