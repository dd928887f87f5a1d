/**
 * The console's application pages (src/console/applications.ts): signed-out visitors go to the
 * sign-in page; the list and detail are authorized exactly like their API routes (denials
 * audited); another account's application is 404; output is escaped; no secret is shown.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import supertest from 'supertest';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { testApp } from '../../helpers/app.js';
import { allow, rootSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';
import { browser, makeAccount, makeAlias, makeSubAccount, PASSWORD, submit, type Browser } from '../console/console-helpers.js';

const BASE = SSO_API_PREFIX;

describe('Console: application pages', function () {
  this.timeout(60_000);
  useTestDatabase('ssoappconsole');
  const app = testApp({ db: { ping: async () => true } });
  let memberNo: number;
  let root: Signer;
  let rootBrowser: Browser;
  let webId: string;
  let clientSecret: string;
  let samlId: string;

  before(async () => {
    const acc = await makeAccount();
    memberNo = acc.memberNo;
    root = await rootSigner(app, memberNo);
    await root.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(201);
    const web = await root
      .call('post', `${BASE}/applications`, {
        name: 'ConsoleWeb',
        protocol: 'OAUTH2',
        description: '<script>alert(1)</script>',
        oidc: { redirectUris: ['https://rp.example.com/cb?a=1&b=2'], clientAuthMethod: 'client_secret_basic' },
      })
      .expect(201);
    webId = web.body.applicationId;
    clientSecret = web.body.clientSecret;
    samlId = (
      await root
        .call('post', `${BASE}/applications`, { name: 'ConsoleSaml', protocol: 'SAML', saml: { entityId: 'https://sp.example.com/saml', acsEndpoints: [{ location: 'https://sp.example.com/acs' }] } })
        .expect(201)
    ).body.applicationId;
    rootBrowser = browser(app);
    await submit(rootBrowser, '/console/login', { loginId: acc.rootLoginId, password: PASSWORD }).expect(303);
  });

  it('sends a signed-out visitor to the sign-in page', async () => {
    await supertest(app).get('/console/applications').expect(303).expect('Location', '/console/login');
    await supertest(app).get(`/console/applications/${webId}`).expect(303).expect('Location', '/console/login');
  });

  it('lists the applications with name search and paging; the home page links to it', async () => {
    expect((await rootBrowser.get('/console').expect(200)).text).to.include('href="/console/applications"');
    const list = await rootBrowser.get('/console/applications').expect(200);
    expect(list.text).to.include('ConsoleWeb').and.include('ConsoleSaml').and.include('https://sp.example.com/saml');
    const search = await rootBrowser.get('/console/applications?name=consolew').expect(200);
    expect(search.text).to.include('ConsoleWeb').and.not.include('ConsoleSaml');
    const paged = await rootBrowser.get('/console/applications?pageSize=1').expect(200);
    expect(paged.text).to.include('rel="next"').and.include('ConsoleSaml').and.not.include('>ConsoleWeb<');
    await rootBrowser.get('/console/applications?pageSize=1000').expect(400);
  });

  it('shows one application escaped, without its secret; SAML settings too', async () => {
    const page = await rootBrowser.get(`/console/applications/${webId}`).expect(200);
    expect(page.text).to.include('&lt;script&gt;alert(1)&lt;/script&gt;').and.not.include('<script>alert(1)');
    expect(page.text).to.include('https://rp.example.com/cb?a=1&amp;b=2');
    expect(page.text).not.to.include(clientSecret);
    const saml = await rootBrowser.get(`/console/applications/${samlId}`).expect(200);
    expect(saml.text).to.include('id="entity-id">https://sp.example.com/saml<');
    await rootBrowser.get(`/console/applications/${randomUUID()}`).expect(404);
    await rootBrowser.get('/console/applications/not-a-uuid').expect(404);
  });

  it('authorizes like the API: a sub account with only the list action sees the list, the detail is 403 and audited', async () => {
    const alias = await makeAlias(memberNo);
    const policyId = randomUUID();
    await Policy.create({ accountId: memberNo, policyId, name: 'applister', nameKey: 'applister', document: allow(['View/getApplicationList'], 'SSO').document });
    const sub = await makeSubAccount(memberNo, { policyIds: [policyId] });
    const agent = browser(app);
    await submit(agent, `/console/login/${alias}`, { loginId: sub.loginId, password: PASSWORD }).expect(303);
    expect((await agent.get('/console/applications').expect(200)).text).to.include('ConsoleWeb');
    const denied = await agent.get(`/console/applications/${webId}`).expect(403);
    expect(denied.text).not.to.include('ConsoleWeb');
    const ev = await HistoryEvent.findOne({ accountId: memberNo, action: 'SSO:view/getApplicationDetail', result: 'denied', 'actor.id': sub.subAccountId }).lean();
    expect(ev?.nrn).to.equal(`nrn:PUB:SSO::${memberNo}:Application/${webId}`);
  });

  it("an admin of another account gets 404 for this account's application", async () => {
    const other = await makeAccount();
    const otherRoot = await rootSigner(app, other.memberNo);
    await otherRoot.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(201);
    const agent = browser(app);
    await submit(agent, '/console/login', { loginId: other.rootLoginId, password: PASSWORD }).expect(303);
    const page = await agent.get(`/console/applications/${webId}`).expect(404);
    expect(page.text).not.to.include('ConsoleWeb');
    expect((await agent.get('/console/applications').expect(200)).text).not.to.include('ConsoleWeb');
  });
});
