/**
 * Consent records (issue 8 "consent … stored as consent records; a withdrawal revokes the
 * application's grants"; reference/ncloud-model.md §1 "Consent status"): one live consent per
 * application × user under concurrent first consents, widening on a second consent, withdrawal
 * that calls the listeners (and again on a retry), history kept; the admin routes
 * `view/getConsentStatusList` / `view/getConsentStatusDetail` with filters, gating and isolation.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Consent } from '../../../src/sso/consents/consent.model.js';
import {
  consentItemsFor,
  findConsent,
  listUserConsents,
  onConsentWithdrawn,
  recordConsent,
  withdrawApplicationConsents,
  withdrawConsent,
  type ConsentWithdrawnEvent,
} from '../../../src/sso/consents/consent.service.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { testApp } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = SSO_API_PREFIX;
const OTHER_ACCOUNT = 2_000_031;

describe('SSO consents: records, withdrawal listeners, admin consent status', function () {
  this.timeout(60_000);
  useTestDatabase('ssoconsents');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;
  let tenantId: string;
  let applicationId: string;
  let otherApplicationId: string;
  let userId: string;
  let loginId: string;

  before(async () => {
    root = await rootSigner(app);
    tenantId = (await root.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(201)).body.tenantId;
    loginId = 'consenter@example.com';
    userId = (await root.call('post', `${BASE}/users`, { loginId }).expect(201)).body.userId;
    applicationId = (
      await root
        .call('post', `${BASE}/applications`, {
          name: 'ConsentApp',
          protocol: 'OAUTH2',
          oidc: { redirectUris: ['https://rp.example.com/cb'], clientAuthMethod: 'client_secret_basic' },
          consentPage: { applicationName: { en: 'Consent App', ko: '동의 앱' }, useLanguages: ['en', 'ko'], usePurposeDesc: true, purposeDesc: { en: 'sign-in', ko: '로그인' } },
        })
        .expect(201)
    ).body.applicationId;
    otherApplicationId = (
      await root
        .call('post', `${BASE}/applications`, {
          name: 'OtherApp',
          protocol: 'OAUTH2',
          oidc: { redirectUris: ['https://other.example.com/cb'], clientAuthMethod: 'none' },
        })
        .expect(201)
    ).body.applicationId;
  });

  const record = (appId: string, scopes: string[], user = userId) =>
    recordConsent({ tenantId, accountId: ACCOUNT, applicationId: appId, userId: user, scopes, items: [{ label: 'scopes', value: scopes.join(' ') }], language: 'en' });

  it('records one live consent; a second consent widens the scopes of the same record', async () => {
    expect(await findConsent(tenantId, applicationId, userId)).to.equal(null);
    const first = await record(applicationId, ['openid', 'profile']);
    expect(first.status).to.equal('CONSENTED');
    const second = await record(applicationId, ['openid', 'email']);
    expect(second.consentId).to.equal(first.consentId);
    expect(second.scopes).to.have.members(['openid', 'profile', 'email']);
    const found = await findConsent(tenantId, applicationId, userId);
    expect(found?.consentId).to.equal(first.consentId);
    expect(await Consent.countDocuments({ tenantId, applicationId, userId })).to.equal(1);
  });

  it('concurrent first consents of one user to one application leave exactly one live record', async () => {
    const user = randomUUID();
    const results = await Promise.all(Array.from({ length: 6 }, (_v, i) => record(otherApplicationId, ['openid', `s${i}`], user)));
    expect(new Set(results.map((r) => r.consentId)).size).to.equal(1);
    expect(await Consent.countDocuments({ tenantId, applicationId: otherApplicationId, userId: user })).to.equal(1);
    const live = await findConsent(tenantId, otherApplicationId, user);
    expect(live?.scopes).to.include.members(['openid', 's0', 's5']);
  });

  it('refuses a bad record (unknown language, empty scope) and writes nothing', async () => {
    const user = randomUUID();
    const bad = (over: Record<string, unknown>) => recordConsent({ tenantId, accountId: ACCOUNT, applicationId, userId: user, scopes: ['openid'], items: [], language: 'en', ...over });
    for (const over of [{ language: 'fr' }, { scopes: [''] }, { items: [{ label: '', value: 'x' }] }]) {
      const err = await bad(over).then(() => null, (e: unknown) => e);
      expect(err, JSON.stringify(over)).to.have.property('code', 'VALIDATION_FAILED');
    }
    expect(await Consent.countDocuments({ tenantId, userId: user })).to.equal(0);
  });

  it('withdrawal calls every listener, frees the live key (next sign-in asks again), keeps the history, and a retry calls the listeners again', async () => {
    const user = randomUUID();
    const c = await record(applicationId, ['openid'], user);
    const events: ConsentWithdrawnEvent[] = [];
    const off = onConsentWithdrawn((e) => {
      events.push(e);
    });
    try {
      const w = await withdrawConsent(tenantId, user, c.consentId);
      expect(w.status).to.equal('WITHDRAWN');
      expect(w.withdrawalReason).to.equal('user');
      expect(events).to.deep.equal([{ tenantId, accountId: ACCOUNT, consentId: c.consentId, applicationId, userId: user, reason: 'user' }]);
      expect(await findConsent(tenantId, applicationId, user)).to.equal(null);
      const again = await record(applicationId, ['openid'], user);
      expect(again.consentId).not.to.equal(c.consentId);
      await withdrawConsent(tenantId, user, c.consentId);
      expect(events).to.have.length(2);
      expect(await Consent.countDocuments({ tenantId, userId: user })).to.equal(2);
    } finally {
      off();
    }
  });

  it('a failing listener makes the withdrawal fail after the others ran; retrying succeeds once it works', async () => {
    const user = randomUUID();
    const c = await record(applicationId, ['openid'], user);
    let failing = true;
    const seen: string[] = [];
    const offFailing = onConsentWithdrawn(() => {
      if (failing) throw new Error('grant store down');
    });
    const offOther = onConsentWithdrawn((e) => {
      seen.push(e.consentId);
    });
    try {
      const err = await withdrawConsent(tenantId, user, c.consentId).then(() => null, (e: unknown) => e);
      expect(err).to.be.instanceOf(Error).with.property('message', 'grant store down');
      expect(seen).to.deep.equal([c.consentId]);
      expect((await Consent.findOne({ tenantId, consentId: c.consentId }).lean().orFail()).withdrawnAt).to.be.instanceOf(Date);
      failing = false;
      await withdrawConsent(tenantId, user, c.consentId);
      expect(seen).to.deep.equal([c.consentId, c.consentId]);
    } finally {
      offFailing();
      offOther();
    }
  });

  it("another user cannot withdraw a user's consent (404), and the consent stands", async () => {
    const user = randomUUID();
    const c = await record(applicationId, ['openid'], user);
    const err = await withdrawConsent(tenantId, randomUUID(), c.consentId).then(() => null, (e: unknown) => e);
    expect(err).to.have.property('code', 'NOT_FOUND');
    expect((await findConsent(tenantId, applicationId, user))?.consentId).to.equal(c.consentId);
  });

  it('listUserConsents lists standing consents with application names; withdrawApplicationConsents ends them with the listeners told', async () => {
    const user = randomUUID();
    await record(applicationId, ['openid'], user);
    await record(otherApplicationId, ['openid'], user);
    const mine = await listUserConsents(tenantId, user);
    expect(mine.map((c) => c.applicationName).sort()).to.deep.equal(['ConsentApp', 'OtherApp']);
    const events: ConsentWithdrawnEvent[] = [];
    const off = onConsentWithdrawn((e) => {
      events.push(e);
    });
    try {
      const before = await Consent.countDocuments({ tenantId, applicationId: otherApplicationId, withdrawnAt: null });
      expect(await withdrawApplicationConsents(tenantId, otherApplicationId)).to.equal(before);
      expect(events.filter((e) => e.reason === 'applicationDeleted')).to.have.length(before);
      expect((await listUserConsents(tenantId, user)).map((c) => c.applicationName)).to.deep.equal(['ConsentApp']);
      expect(await withdrawApplicationConsents(tenantId, otherApplicationId)).to.equal(0);
    } finally {
      off();
    }
  });

  it('consentItemsFor shows the consent page in a language the application uses, else its default', () => {
    const appDoc = {
      name: 'ConsentApp',
      consentPage: {
        enabled: true,
        applicationName: { en: 'Consent App', ko: '동의 앱', ja: '' },
        useLanguages: ['en', 'ko'],
        defaultLanguage: 'en',
        usePurposeDesc: true,
        purposeDesc: { en: 'sign-in', ko: '로그인', ja: '' },
        usePeriodDesc: false,
        periodDesc: { en: '', ko: '', ja: '' },
        dataTransferAbroad: true,
        dataTransferCountry: 'JP',
        dataRecipients: 'Example KK',
        dataRecipientsContact: 'privacy@example.jp',
      },
    };
    const ko = consentItemsFor(appDoc, 'ko', ['openid', 'email']);
    expect(ko.language).to.equal('ko');
    expect(ko.items).to.deep.equal([
      { label: 'applicationName', value: '동의 앱' },
      { label: 'scopes', value: 'openid email' },
      { label: 'purpose', value: '로그인' },
      { label: 'dataTransferCountry', value: 'JP' },
      { label: 'dataRecipients', value: 'Example KK' },
      { label: 'dataRecipientsContact', value: 'privacy@example.jp' },
    ]);
    expect(consentItemsFor(appDoc, 'ja', ['openid']).language).to.equal('en');
  });

  describe('admin API', () => {
    let consentId: string;

    before(async () => {
      consentId = (await record(applicationId, ['openid', 'profile'])).consentId;
    });

    it('lists consents filtered by application, user and status, with names; paging with totalElements', async () => {
      const byApp = await root.call('get', `${BASE}/consents?applicationId=${applicationId}&userId=${userId}`).expect(200);
      expect(byApp.body.totalElements).to.equal(1);
      const item = byApp.body.items[0];
      expect(item).to.include({ consentId, applicationId, userId, applicationName: 'ConsentApp', loginId, status: 'CONSENTED' });
      const withdrawn = await root.call('get', `${BASE}/consents?applicationId=${applicationId}&status=WITHDRAWN`).expect(200);
      expect(withdrawn.body.items.every((c: { status: string }) => c.status === 'WITHDRAWN')).to.equal(true);
      const paged = await root.call('get', `${BASE}/consents?pageSize=1`).expect(200);
      expect(paged.body.items).to.have.length(1);
      expect(paged.body.totalElements).to.be.greaterThan(1);
      const bad = await root.call('get', `${BASE}/consents?applicationId=nope`).expect(400);
      expect(bad.body.error.fieldErrors[0].field).to.equal('query.applicationId');
    });

    it('shows one consent in detail; an unknown id is 404', async () => {
      const got = await root.call('get', `${BASE}/consents/${consentId}`).expect(200);
      expect(got.body).to.include({ consentId, applicationName: 'ConsentApp', loginId, language: 'en' });
      expect(got.body.scopes).to.include.members(['openid', 'profile']);
      await root.call('get', `${BASE}/consents/${randomUUID()}`).expect(404);
    });

    it('is gated by view/getConsentStatusList and view/getConsentStatusDetail', async () => {
      const none = await subAccountSigner(app, [allow(['View/getTenantDetail'], 'SSO')]);
      await none.call('get', `${BASE}/consents`).expect(403);
      await none.call('get', `${BASE}/consents/${consentId}`).expect(403);
      const lister = await subAccountSigner(app, [allow(['View/getConsentStatusList'], 'SSO')]);
      await lister.call('get', `${BASE}/consents`).expect(200);
      await lister.call('get', `${BASE}/consents/${consentId}`).expect(403);
      const reader = await subAccountSigner(app, [allow(['View/getConsentStatusDetail'], 'SSO')]);
      await reader.call('get', `${BASE}/consents/${consentId}`).expect(200);
    });

    it("an admin of another account cannot read this tenant's consent by id (404) nor see it in a list", async () => {
      const otherRoot = await rootSigner(app, OTHER_ACCOUNT);
      await otherRoot.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(201);
      await otherRoot.call('get', `${BASE}/consents/${consentId}`).expect(404);
      const list = await otherRoot.call('get', `${BASE}/consents`).expect(200);
      expect(list.body.totalElements).to.equal(0);
    });
  });
});
