/**
 * The console page of the external IdP (src/console/external-idp.ts): linked from the console
 * home; shows the IdP's settings and certificates escaped and the SP data; without an IdP says so;
 * authorized like `GET /api/v1/sso/tenant/saml-idp` (a denial is 403 and audited); the SP data
 * section needs view/getServiceProviderDataDetail; another account sees only its own tenant.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import supertest from 'supertest';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { createSelfSigned } from '../../../src/shared/x509.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { testApp, testConfig } from '../../helpers/app.js';
import { allow, rootSigner } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';
import { browser, makeAccount, makeAlias, makeSubAccount, PASSWORD, submit } from '../console/console-helpers.js';

describe('Console: external IdP page', function () {
  this.timeout(60_000);
  useTestDatabase('extidpconsole');
  const app = testApp({ db: { ping: async () => true } });

  it('shows the IdP (escaped) and the SP data, is linked from home, is authorized like its API route, and shows another account nothing of it', async () => {
    await supertest(app).get('/console/external-idp').expect(303).expect('Location', '/console/login');
    const acc = await makeAccount();
    const root = await rootSigner(app, acc.memberNo);
    const tenantId = (await root.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201)).body.tenantId as string;
    const agent = browser(app);
    await submit(agent, '/console/login', { loginId: acc.rootLoginId, password: PASSWORD }).expect(303);
    expect((await agent.get('/console').expect(200)).text).to.include('href="/console/external-idp"');
    expect((await agent.get('/console/external-idp').expect(200)).text).to.include('id="no-idp"');

    const cert = await createSelfSigned({ commonName: 'Corp <IdP> & co', validDays: 30 });
    await root
      .call('post', `${SSO_API_PREFIX}/tenant/saml-idp`, { idpIssuerUrl: 'https://idp.example.com/x?a=1&b=2', idpSigninUrl: 'https://idp.example.com/sso', idpCertificates: [cert.certificatePem] })
      .expect(201);
    const page = await agent.get('/console/external-idp').expect(200);
    expect(page.text).to.include('id="idp-issuer">https://idp.example.com/x?a=1&amp;b=2<').and.include('id="idp-status">enabled<');
    expect(page.text).to.include(cert.sha256Fingerprint);
    expect(page.text).to.include('Corp _IdP_ &amp; co').and.not.include('_IdP_ & co');
    expect(page.text).to.include(`id="sp-entity-id">${testConfig().baseUrl}/tenants/${tenantId}<`);

    // Only view/getTenantDetail: the page without the SP data; with nothing: 403, audited.
    const alias = await makeAlias(acc.memberNo);
    const viewerPolicy = randomUUID();
    await Policy.create({ accountId: acc.memberNo, policyId: viewerPolicy, name: 'tenantviewer', nameKey: 'tenantviewer', document: allow(['View/getTenantDetail'], 'SSO').document });
    const viewer = await makeSubAccount(acc.memberNo, { policyIds: [viewerPolicy] });
    const viewerAgent = browser(app);
    await submit(viewerAgent, `/console/login/${alias}`, { loginId: viewer.loginId, password: PASSWORD }).expect(303);
    const viewed = await viewerAgent.get('/console/external-idp').expect(200);
    expect(viewed.text).to.include('id="idp-issuer"').and.not.include('sp-entity-id');
    const nobody = await makeSubAccount(acc.memberNo, { policyIds: [] });
    const nobodyAgent = browser(app);
    await submit(nobodyAgent, `/console/login/${alias}`, { loginId: nobody.loginId, password: PASSWORD }).expect(303);
    const denied = await nobodyAgent.get('/console/external-idp').expect(403);
    expect(denied.text).not.to.include('idp.example.com');
    const ev = await HistoryEvent.findOne({ accountId: acc.memberNo, action: 'SSO:view/getTenantDetail', result: 'denied', 'actor.id': nobody.subAccountId }).lean();
    expect(ev?.nrn).to.equal(`nrn:PUB:SSO::${acc.memberNo}:Tenant/${tenantId}`);

    const other = await makeAccount();
    const otherRoot = await rootSigner(app, other.memberNo);
    await otherRoot.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201);
    const otherAgent = browser(app);
    await submit(otherAgent, '/console/login', { loginId: other.rootLoginId, password: PASSWORD }).expect(303);
    const theirs = await otherAgent.get('/console/external-idp').expect(200);
    expect(theirs.text).to.include('id="no-idp"').and.not.include('idp.example.com');
  });
});
