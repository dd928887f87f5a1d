/**
 * The SSO tenant API (issue 6): tenant CRUD, login settings, organization integration, attribute
 * mapper, tags and the permission-set policy list, through signed API calls as a client makes
 * them. Each route is gated by exactly its seed S4 action on the tenant's NRN; the tenant always
 * comes from the caller's account (security-bar §6 items 35-37, 45, 46).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { Account } from '../../../src/iam/accounts/account.model.js';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { catalog, managedPolicies } from '../../../src/policy/index.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { SsoGroup } from '../../../src/sso/groups/group.model.js';
import { IpAcl } from '../../../src/sso/ip-acls/ip-acl.model.js';
import { requireTenant, tenantScope } from '../../../src/sso/tenant/tenant-context.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { tenantRoutes } from '../../../src/sso/tenant/tenant.routes.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { findTenantByRef, getLoginSettings, isAssignableAccount } from '../../../src/sso/tenant/tenant.service.js';
import { testApp } from '../../helpers/app.js';
import { allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/sso';
const ssoActions = catalog.byProduct('SSO').map((a) => a.qualifiedName);
const unqualified = (q: string) => q.slice(q.indexOf(':') + 1);

type Method = 'get' | 'post' | 'put' | 'delete';
interface FieldErrorBody {
  field: string;
  message: string;
}
const fieldsOf = (body: { error: { fieldErrors: FieldErrorBody[] } }) => body.error.fieldErrors.map((f) => f.field);

describe('SSO API: tenant', function () {
  this.timeout(60_000);
  useTestDatabase('ssotenant');
  const app = testApp({ db: { ping: async () => true } });

  // Each test that needs a clean slate gets its own account (one tenant per account).
  let nextMemberNo = 3_100_001;
  async function freshAccount(): Promise<{ memberNo: number; root: Signer }> {
    const memberNo = nextMemberNo++;
    return { memberNo, root: await rootSigner(app, memberNo) };
  }
  async function accountWithTenant(body: Record<string, unknown> = {}): Promise<{ memberNo: number; root: Signer; tenant: { tenantId: string; nrn: string; tenantAlias: string } }> {
    const a = await freshAccount();
    const res = await a.root.call('post', `${BASE}/tenant`, { termsAgreed: true, ...body }).expect(201);
    return { ...a, tenant: res.body };
  }
  const storedTenant = (memberNo: number) => Tenant.findOne({ accountId: memberNo }).lean();

  it('refuses calls without credentials (401, error shape)', async () => {
    const res = await request(app).get(`${BASE}/tenant`).expect(401);
    expect(res.body.error.errorCode).to.equal('UNAUTHENTICATED');
  });

  describe('create', () => {
    it('creates the tenant: 201, derived alias, NRN, defaults, endpoints by id and alias, audited with its NRN', async () => {
      const { memberNo, root } = await freshAccount();
      const res = await root.call('post', `${BASE}/tenant`, { termsAgreed: true, description: 'Corp SSO' }).expect(201);
      const t = res.body;
      expect(t.tenantId).to.match(/^[0-9a-f-]{36}$/);
      expect(t.nrn).to.equal(`nrn:PUB:SSO::${memberNo}:Tenant/${t.tenantId}`);
      expect(t).to.include({ tenantAlias: `tenant-${memberNo}`, description: 'Corp SSO', memberLoginPolicy: 'UNUSED', organizationEnabled: false, organizationEnabledAt: null });
      expect(t.loginSettings).to.deep.equal({
        idleSessionExpirationSeconds: 3600,
        multipleLoginAllowed: true,
        possessionAuthenticationEnabled: false,
        possessionAuthenticationTypes: [],
        multiFactorAuthenticationEnabled: false,
        localPasswordEnabled: true,
        externalIdpEnabled: false,
        passwordMinLength: 12,
        lockoutThreshold: 5,
        lockoutDurationSeconds: 900,
      });
      expect(t.oauth2.grantTypeSupported).not.to.include('implicit');
      expect(t.endpoints.loginUrl).to.match(new RegExp(`/tenants/tenant-${memberNo}/login$`));
      expect(t.endpoints.oidcIssuer).to.match(new RegExp(`/tenants/${t.tenantId}$`));
      expect(t.tags).to.deep.equal([]);
      expect(Date.parse(t.termsAgreedAt)).to.be.closeTo(Date.now(), 60_000);
      const ev = await HistoryEvent.findOne({ accountId: memberNo, action: 'SSO:change/createTenant' }).orFail();
      expect(ev.result).to.equal('success');
      expect(ev.nrn).to.equal(t.nrn);
      expect(ev.actor?.kind).to.equal('Root');
      // GET answers the same tenant
      const got = await root.call('get', `${BASE}/tenant`).expect(200);
      expect(got.body).to.deep.equal(t);
    });

    it('requires termsAgreed: true (400 field error) and stores nothing', async () => {
      const { memberNo, root } = await freshAccount();
      for (const body of [{}, { termsAgreed: false }, { termsAgreed: 'true' }, { termsAgreed: 1 }]) {
        const res = await root.call('post', `${BASE}/tenant`, body).expect(400);
        expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
        expect(fieldsOf(res.body), JSON.stringify(body)).to.deep.equal(['body.termsAgreed']);
      }
      expect(await Tenant.countDocuments({ accountId: memberNo })).to.equal(0);
    });

    it('validates the alias, description and member login policy; unknown fields are refused; nothing stored', async () => {
      const { memberNo, root } = await freshAccount();
      const bad = [
        { tenantAlias: 'ab' },
        { tenantAlias: 'a'.repeat(31) },
        { tenantAlias: 'Corp' },
        { tenantAlias: '-corp' },
        { tenantAlias: 'corp-' },
        { tenantAlias: 'corp_sso' },
        { tenantAlias: 'corp sso' },
        { tenantAlias: { $ne: null } },
        { description: 'x'.repeat(301) },
        { memberLoginPolicy: 'MAYBE' },
      ];
      for (const b of bad) {
        const res = await root.call('post', `${BASE}/tenant`, { termsAgreed: true, ...b }).expect(400);
        expect(fieldsOf(res.body)[0], JSON.stringify(b)).to.equal(`body.${Object.keys(b)[0]}`);
      }
      // mass assignment: ids, owner, state and tags (createTenant has no ncp:requestTag) are not inputs
      for (const extra of [{ tenantId: randomUUID() }, { accountId: 1 }, { organizationEnabled: true }, { tags: [{ key: 'a', value: 'b' }] }]) {
        const res = await root.call('post', `${BASE}/tenant`, { termsAgreed: true, ...extra }).expect(400);
        expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
      }
      const proto = await root
        .call('post', `${BASE}/tenant`)
        .set('content-type', 'application/json')
        .send('{"termsAgreed":true,"__proto__":{"isAdmin":true}}');
      expect(proto.status).to.equal(400);
      expect(({} as Record<string, unknown>).isAdmin).to.equal(undefined);
      expect(await Tenant.countDocuments({ accountId: memberNo })).to.equal(0);
      // 30 characters, digits and inner hyphens are fine
      const ok = await root.call('post', `${BASE}/tenant`, { termsAgreed: true, tenantAlias: `a1-${'b'.repeat(27)}` }).expect(201);
      expect(ok.body.tenantAlias).to.have.length(30);
    });

    it('one tenant per account: a second create is 409 and leaves the first as it was', async () => {
      const { memberNo, root, tenant } = await accountWithTenant({ tenantAlias: `first-${nextMemberNo}` });
      const res = await root.call('post', `${BASE}/tenant`, { termsAgreed: true, tenantAlias: `second-${memberNo}` }).expect(409);
      expect(res.body.error.errorCode).to.equal('CONFLICT');
      expect(res.body.error.detail).to.match(/already has/);
      const docs = await Tenant.find({ accountId: memberNo }).lean();
      expect(docs.map((d) => d.tenantId)).to.deep.equal([tenant.tenantId]);
      expect(await Tenant.countDocuments({ aliasKey: `second-${memberNo}` }).setOptions({ unscoped: true })).to.equal(0);
    });

    it('concurrent creates in one account: exactly one succeeds', async () => {
      const { memberNo, root } = await freshAccount();
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => root.call('post', `${BASE}/tenant`, { termsAgreed: true, tenantAlias: `race-${memberNo}-${i}` })));
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).to.deep.equal([201, 409, 409, 409, 409, 409]);
      expect(await Tenant.countDocuments({ accountId: memberNo })).to.equal(1);
    });

    it('concurrent creates without an alias in one account: exactly one succeeds', async () => {
      const { memberNo, root } = await freshAccount();
      const results = await Promise.all(Array.from({ length: 4 }, () => root.call('post', `${BASE}/tenant`, { termsAgreed: true })));
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409]);
      expect(await Tenant.countDocuments({ accountId: memberNo })).to.equal(1);
    });

    it('an alias is unique across accounts, also under concurrent creates (one 201, the rest 409)', async () => {
      const accounts = await Promise.all([freshAccount(), freshAccount(), freshAccount(), freshAccount()]);
      const results = await Promise.all(accounts.map((a) => a.root.call('post', `${BASE}/tenant`, { termsAgreed: true, tenantAlias: 'contested' })));
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409]);
      for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.detail).to.match(/alias "contested" is taken/);
      expect(await Tenant.countDocuments({ aliasKey: 'contested' }).setOptions({ unscoped: true })).to.equal(1);
      for (const a of accounts.filter((_, i) => results[i]!.status === 409)) expect(await Tenant.countDocuments({ accountId: a.memberNo })).to.equal(0);
    });

    it('a derived alias that another account took gets a random suffix', async () => {
      const taker = await freshAccount();
      const victimNo = nextMemberNo; // the next fresh account
      await taker.root.call('post', `${BASE}/tenant`, { termsAgreed: true, tenantAlias: `tenant-${victimNo}` }).expect(201);
      const victim = await freshAccount();
      expect(victim.memberNo).to.equal(victimNo);
      const res = await victim.root.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(201);
      expect(res.body.tenantAlias).to.match(new RegExp(`^tenant-${victimNo}-[0-9a-f]{6}$`));
    });
  });

  describe('update', () => {
    it('changes alias, member login policy and description; the tenant id (and so the issuer) stays', async () => {
      const { memberNo, root, tenant } = await accountWithTenant();
      const res = await root.call('put', `${BASE}/tenant`, { tenantAlias: `renamed-${memberNo}`, memberLoginPolicy: 'DENY', description: 'new' }).expect(200);
      expect(res.body).to.include({ tenantId: tenant.tenantId, tenantAlias: `renamed-${memberNo}`, memberLoginPolicy: 'DENY', description: 'new' });
      expect(res.body.endpoints.oidcIssuer).to.match(new RegExp(`/tenants/${tenant.tenantId}$`));
      expect(res.body.endpoints.loginUrl).to.match(new RegExp(`/tenants/renamed-${memberNo}/login$`));
      const stored = await storedTenant(memberNo);
      expect(stored).to.include({ tenantAlias: `renamed-${memberNo}`, aliasKey: `renamed-${memberNo}`, memberLoginPolicy: 'DENY', description: 'new' });
      // the old alias is free again, the new one resolves
      expect((await findTenantByRef(`renamed-${memberNo}`))?.tenantId).to.equal(tenant.tenantId);
      expect(await findTenantByRef(tenant.tenantAlias)).to.equal(null);
      expect((await findTenantByRef(tenant.tenantId))?.tenantAlias).to.equal(`renamed-${memberNo}`);
    });

    it('refuses an alias another account holds (409), concurrently too, and keeps the old alias', async () => {
      const a = await accountWithTenant();
      const b = await accountWithTenant();
      const c = await accountWithTenant();
      const res = await b.root.call('put', `${BASE}/tenant`, { tenantAlias: a.tenant.tenantAlias }).expect(409);
      expect(res.body.error.errorCode).to.equal('CONFLICT');
      expect((await storedTenant(b.memberNo))?.tenantAlias).to.equal(b.tenant.tenantAlias);
      const both = await Promise.all([b, c].map((x) => x.root.call('put', `${BASE}/tenant`, { tenantAlias: 'both-want-this' })));
      expect(both.map((r) => r.status).sort()).to.deep.equal([200, 409]);
      expect(await Tenant.countDocuments({ aliasKey: 'both-want-this' }).setOptions({ unscoped: true })).to.equal(1);
    });

    it('validates the body (400 field errors) and changes nothing', async () => {
      const { memberNo, root } = await accountWithTenant();
      const before = await storedTenant(memberNo);
      for (const body of [{}, { memberLoginPolicy: 'allow' }, { description: 'x'.repeat(301) }, { tenantAlias: 'UPPER' }, { tenantId: randomUUID() }, { termsAcceptedAt: null }]) {
        const res = await root.call('put', `${BASE}/tenant`, body).expect(400);
        expect(res.body.error.errorCode, JSON.stringify(body)).to.equal('VALIDATION_FAILED');
      }
      expect(await storedTenant(memberNo)).to.deep.equal(before);
    });
  });

  describe('login settings', () => {
    it('changes the fields given, keeps the rest, and getLoginSettings(tenantId) reads them', async () => {
      const { memberNo, root, tenant } = await accountWithTenant();
      const res = await root
        .call('put', `${BASE}/tenant/login-settings`, {
          idleSessionExpirationSeconds: 600,
          multipleLoginAllowed: false,
          possessionAuthenticationEnabled: true,
          possessionAuthenticationTypes: ['Email', 'SMS'],
          multiFactorAuthenticationEnabled: true,
          passwordMinLength: 16,
          lockoutThreshold: 10,
          lockoutDurationSeconds: 3600,
        })
        .expect(200);
      const expected = {
        idleSessionExpirationSeconds: 600,
        multipleLoginAllowed: false,
        possessionAuthenticationEnabled: true,
        possessionAuthenticationTypes: ['Email', 'SMS'],
        multiFactorAuthenticationEnabled: true,
        localPasswordEnabled: true,
        externalIdpEnabled: false,
        passwordMinLength: 16,
        lockoutThreshold: 10,
        lockoutDurationSeconds: 3600,
      };
      expect(res.body).to.deep.equal(expected);
      expect(await getLoginSettings(tenant.tenantId)).to.deep.equal(expected);
      expect(await getLoginSettings(randomUUID())).to.equal(null);
      // a partial change keeps the other fields
      const partial = await root.call('put', `${BASE}/tenant/login-settings`, { idleSessionExpirationSeconds: 10800 }).expect(200);
      expect(partial.body).to.deep.equal({ ...expected, idleSessionExpirationSeconds: 10800 });
      const ev = await HistoryEvent.findOne({ accountId: memberNo, action: 'SSO:change/updateLoginSetting', result: 'success' }).orFail();
      expect(ev.nrn).to.equal(tenant.nrn);
    });

    it('accepts exactly the documented idle expiries and the bounds of the Gatehouse limits', async () => {
      const { root } = await accountWithTenant();
      for (const s of [600, 1800, 3600, 10800]) await root.call('put', `${BASE}/tenant/login-settings`, { idleSessionExpirationSeconds: s }).expect(200);
      for (const [field, lo, hi] of [
        ['passwordMinLength', 8, 128],
        ['lockoutThreshold', 3, 100],
        ['lockoutDurationSeconds', 60, 86400],
      ] as const) {
        await root.call('put', `${BASE}/tenant/login-settings`, { [field]: lo }).expect(200);
        await root.call('put', `${BASE}/tenant/login-settings`, { [field]: hi }).expect(200);
      }
    });

    it('refuses values out of range and inconsistent combinations with field errors, storing nothing', async () => {
      const { memberNo, root } = await accountWithTenant();
      const before = (await storedTenant(memberNo))?.loginSettings;
      const cases: [Record<string, unknown>, string][] = [
        [{ idleSessionExpirationSeconds: 900 }, 'body.idleSessionExpirationSeconds'],
        [{ idleSessionExpirationSeconds: '600' }, 'body.idleSessionExpirationSeconds'],
        [{ passwordMinLength: 7 }, 'body.passwordMinLength'],
        [{ passwordMinLength: 129 }, 'body.passwordMinLength'],
        [{ passwordMinLength: 12.5 }, 'body.passwordMinLength'],
        [{ lockoutThreshold: 2 }, 'body.lockoutThreshold'],
        [{ lockoutThreshold: 101 }, 'body.lockoutThreshold'],
        [{ lockoutDurationSeconds: 59 }, 'body.lockoutDurationSeconds'],
        [{ lockoutDurationSeconds: 86401 }, 'body.lockoutDurationSeconds'],
        [{ possessionAuthenticationTypes: ['OTP'] }, 'body.possessionAuthenticationTypes.0'],
        [{ possessionAuthenticationTypes: ['SMS', 'SMS'] }, 'body.possessionAuthenticationTypes'],
        // reference §1: MFA needs possession authentication on
        [{ multiFactorAuthenticationEnabled: true }, 'body.multiFactorAuthenticationEnabled'],
        [{ possessionAuthenticationEnabled: true }, 'body.possessionAuthenticationEnabled'],
        [{ possessionAuthenticationEnabled: true, possessionAuthenticationTypes: [] }, 'body.possessionAuthenticationTypes'],
        // at least one sign-in method stays on
        [{ localPasswordEnabled: false }, 'body.localPasswordEnabled'],
        [{ localPasswordEnabled: false, externalIdpEnabled: false }, 'body.localPasswordEnabled'],
        [{ sessionSecret: 'x' }, 'body'],
      ];
      for (const [body, field] of cases) {
        const res = await root.call('put', `${BASE}/tenant/login-settings`, body).expect(400);
        expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
        expect(fieldsOf(res.body), JSON.stringify(body)).to.include(field);
      }
      expect((await storedTenant(memberNo))?.loginSettings).to.deep.equal(before);
    });

    it('keeps the cross-field rules against the stored state: MFA on blocks turning possession off; one sign-in method always on', async () => {
      const { root } = await accountWithTenant();
      await root.call('put', `${BASE}/tenant/login-settings`, { possessionAuthenticationEnabled: true, possessionAuthenticationTypes: ['Email'], multiFactorAuthenticationEnabled: true }).expect(200);
      const res = await root.call('put', `${BASE}/tenant/login-settings`, { possessionAuthenticationEnabled: false }).expect(400);
      expect(fieldsOf(res.body)).to.deep.equal(['body.possessionAuthenticationEnabled']);
      // switch methods in one request: fine
      await root.call('put', `${BASE}/tenant/login-settings`, { externalIdpEnabled: true, localPasswordEnabled: false }).expect(200);
      const off = await root.call('put', `${BASE}/tenant/login-settings`, { externalIdpEnabled: false }).expect(400);
      expect(fieldsOf(off.body)).to.deep.equal(['body.externalIdpEnabled']);
    });

    it('concurrent changes that are each valid but together would turn off every sign-in method: the stored state stays valid', async () => {
      const { memberNo, root } = await accountWithTenant();
      await root.call('put', `${BASE}/tenant/login-settings`, { externalIdpEnabled: true }).expect(200);
      // both on; one request turns local off, the other turns external off
      const results = await Promise.all([
        root.call('put', `${BASE}/tenant/login-settings`, { localPasswordEnabled: false }),
        root.call('put', `${BASE}/tenant/login-settings`, { externalIdpEnabled: false }),
      ]);
      expect(results.map((r) => r.status)).to.include(200);
      const s = (await storedTenant(memberNo))?.loginSettings;
      expect(s?.localPasswordEnabled || s?.externalIdpEnabled, JSON.stringify(s)).to.equal(true);
    });

    it('bumps the tenant change stamp so cached settings are dropped in every process', async () => {
      const { root, tenant } = await accountWithTenant();
      const reader = new ChangeStamps();
      const before = await reader.current(tenantScope(tenant.tenantId));
      await root.call('put', `${BASE}/tenant/login-settings`, { multipleLoginAllowed: false }).expect(200);
      await reader.poll();
      expect(await reader.current(tenantScope(tenant.tenantId))).to.be.greaterThan(before);
    });
  });

  describe('organization integration and the account list', () => {
    it('without an organization: enabling is refused (400); the account list is this account only', async () => {
      const { memberNo, root } = await accountWithTenant();
      const res = await root.call('post', `${BASE}/tenant/organization`, { enable: true }).expect(400);
      expect(res.body.error.errorCode).to.equal('BAD_REQUEST');
      expect((await storedTenant(memberNo))?.organizationEnabled).to.equal(false);
      const list = await root.call('get', `${BASE}/tenant/accounts`).expect(200);
      expect(list.body).to.include({ totalElements: 1, pageNo: 0, pageSize: 20 });
      expect(list.body.items).to.deep.equal([{ accountMemberNo: memberNo, accountName: 'Test', loginAlias: null, organizationId: null, tenantAccount: true }]);
      await root.call('post', `${BASE}/tenant/organization`, { enable: 'yes' }).expect(400);
      await root.call('post', `${BASE}/tenant/organization`, {}).expect(400);
    });

    it('in an organization: enable returns organizationEnabled(At), the list holds the organization’s accounts; disable narrows it again', async () => {
      const org = `org-${randomUUID()}`;
      const a = await accountWithTenant();
      const b = await freshAccount();
      const c = await freshAccount();
      const outsider = await freshAccount();
      await Account.updateMany({ memberNo: { $in: [a.memberNo, b.memberNo, c.memberNo] } }, { $set: { organizationId: org } });
      await Account.updateOne({ memberNo: outsider.memberNo }, { $set: { organizationId: `org-${randomUUID()}` } });

      expect(await isAssignableAccount(a.memberNo, b.memberNo), 'before integration').to.equal(false);
      const on = await a.root.call('post', `${BASE}/tenant/organization`, { enable: true }).expect(200);
      expect(on.body.organizationEnabled).to.equal(true);
      expect(Date.parse(on.body.organizationEnabledAt)).to.be.closeTo(Date.now(), 60_000);
      const again = await a.root.call('post', `${BASE}/tenant/organization`, { enable: true }).expect(200);
      expect(again.body.organizationEnabledAt, 'enabling twice keeps the first time').to.equal(on.body.organizationEnabledAt);
      const detail = await a.root.call('get', `${BASE}/tenant`).expect(200);
      expect(detail.body).to.include({ organizationEnabled: true, organizationEnabledAt: on.body.organizationEnabledAt });

      const list = await a.root.call('get', `${BASE}/tenant/accounts?pageSize=2`).expect(200);
      expect(list.body).to.include({ totalElements: 3, pageSize: 2 });
      expect(list.body.items.map((x: { accountMemberNo: number }) => x.accountMemberNo)).to.deep.equal([a.memberNo, b.memberNo]);
      const page2 = await a.root.call('get', `${BASE}/tenant/accounts?pageSize=2&pageNo=1`).expect(200);
      expect(page2.body.items.map((x: { accountMemberNo: number }) => x.accountMemberNo)).to.deep.equal([c.memberNo]);
      expect(await isAssignableAccount(a.memberNo, c.memberNo)).to.equal(true);
      expect(await isAssignableAccount(a.memberNo, outsider.memberNo)).to.equal(false);
      expect(await isAssignableAccount(a.memberNo, a.memberNo)).to.equal(true);

      const off = await a.root.call('post', `${BASE}/tenant/organization`, { enable: false }).expect(200);
      expect(off.body).to.deep.equal({ organizationEnabled: false, organizationEnabledAt: null });
      const own = await a.root.call('get', `${BASE}/tenant/accounts`).expect(200);
      expect(own.body.items.map((x: { accountMemberNo: number }) => x.accountMemberNo)).to.deep.equal([a.memberNo]);
      expect(await isAssignableAccount(a.memberNo, b.memberNo)).to.equal(false);
      // paging input is validated, including operator injection through the query string
      await a.root.call('get', `${BASE}/tenant/accounts?pageSize=101`).expect(400);
      // Express 5's simple query parser keeps `pageSize[$gt]` a plain key: no operator reaches a query
      const injected = await a.root.call('get', `${BASE}/tenant/accounts?pageSize[$gt]=0`).expect(200);
      expect(injected.body).to.include({ pageSize: 20, totalElements: 1 });
    });
  });

  describe('attribute mapper', () => {
    it('reads every profile field with defaults, replaces the fields given, keeps the others', async () => {
      const { root, memberNo } = await accountWithTenant();
      const defaults = await root.call('get', `${BASE}/tenant/saml-idp/profile-mapping`).expect(200);
      expect(Object.keys(defaults.body)).to.deep.equal(['firstName', 'lastName', 'email', 'emailVerified', 'empNo', 'phoneCountryCode', 'phoneNo', 'deptName']);
      expect(defaults.body.email).to.deep.equal({ displayName: 'Email', syncMode: 'none', idpValue: '' });
      const email = { displayName: 'E-mail', syncMode: 'force', idpValue: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress' };
      const dept = { displayName: 'Dept', syncMode: 'import', idpValue: 'department' };
      const res = await root.call('put', `${BASE}/tenant/saml-idp/profile-mapping`, { email, deptName: dept }).expect(200);
      expect(res.body.email).to.deep.equal(email);
      expect(res.body.deptName).to.deep.equal(dept);
      expect(res.body.firstName).to.deep.equal(defaults.body.firstName);
      const firstName = { displayName: 'Given name', syncMode: 'import', idpValue: 'givenName' };
      await root.call('put', `${BASE}/tenant/saml-idp/profile-mapping`, { firstName }).expect(200);
      const got = await root.call('get', `${BASE}/tenant/saml-idp/profile-mapping`).expect(200);
      expect(got.body).to.deep.include({ email, deptName: dept, firstName });
      const ev = await HistoryEvent.findOne({ accountId: memberNo, action: 'SSO:change/updateAttributeMapper', result: 'success' }).orFail();
      expect(ev.nrn).to.match(/:Tenant\/[0-9a-f-]{36}$/);
    });

    it('refuses bad mappings with field errors and stores nothing', async () => {
      const { memberNo, root } = await accountWithTenant();
      const before = (await storedTenant(memberNo))?.attributeMapper;
      const ok = { displayName: 'x', syncMode: 'import', idpValue: 'mail' };
      const cases: [Record<string, unknown>, string][] = [
        [{ email: { ...ok, syncMode: 'always' } }, 'body.email.syncMode'],
        [{ email: { ...ok, idpValue: 'a'.repeat(201) } }, 'body.email.idpValue'],
        [{ email: { ...ok, idpValue: '' } }, 'body.email.idpValue'],
        [{ email: { ...ok, syncMode: 'force', idpValue: '' } }, 'body.email.idpValue'],
        [{ email: { ...ok, displayName: '' } }, 'body.email.displayName'],
        [{ email: { ...ok, idpValue: 'a\nb' } }, 'body.email.idpValue'],
        [{ email: { syncMode: 'none', idpValue: '' } }, 'body.email.displayName'],
        [{ email: { ...ok, extra: 1 } }, 'body.email'],
        [{ nickname: ok }, 'body'],
        [{}, 'body'],
        [{ email: ok, firstName: { ...ok, syncMode: 'sometimes' } }, 'body.firstName.syncMode'],
      ];
      for (const [body, field] of cases) {
        const res = await root.call('put', `${BASE}/tenant/saml-idp/profile-mapping`, body).expect(400);
        expect(fieldsOf(res.body), JSON.stringify(body)).to.include(field);
      }
      expect((await storedTenant(memberNo))?.attributeMapper).to.deep.equal(before);
      // 200 characters and none-with-empty are fine
      await root.call('put', `${BASE}/tenant/saml-idp/profile-mapping`, { email: { ...ok, idpValue: 'a'.repeat(200) }, phoneNo: { displayName: 'Phone', syncMode: 'none', idpValue: '' } }).expect(200);
    });
  });

  describe('tags', () => {
    it('adds tags, changes a value by key, removes by key (idempotently), each audited', async () => {
      const { memberNo, root, tenant } = await accountWithTenant();
      const res = await root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'env', value: 'dev' }, { key: 'team', value: 'id@corp.example' }] }).expect(200);
      expect(res.body.tags).to.deep.equal([
        { key: 'env', value: 'dev' },
        { key: 'team', value: 'id@corp.example' },
      ]);
      const changed = await root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'env', value: 'prod' }, { key: 'cost/center', value: '' }] }).expect(200);
      expect(changed.body.tags).to.deep.equal([
        { key: 'env', value: 'prod' },
        { key: 'team', value: 'id@corp.example' },
        { key: 'cost/center', value: '' },
      ]);
      await root.call('delete', `${BASE}/tenant/tags/team`).expect(204);
      await root.call('delete', `${BASE}/tenant/tags/team`).expect(204);
      const got = await root.call('get', `${BASE}/tenant`).expect(200);
      expect(got.body.tags).to.deep.equal([
        { key: 'env', value: 'prod' },
        { key: 'cost/center', value: '' },
      ]);
      expect(await HistoryEvent.countDocuments({ accountId: memberNo, action: 'SSO:change/untagTenant', result: 'success', nrn: tenant.nrn })).to.equal(2);
    });

    it('enforces the reference’s key/value alphabet and lengths, unique keys, and at most 20 tags, storing nothing on refusal', async () => {
      const { memberNo, root } = await accountWithTenant();
      const bad: [unknown, string][] = [
        [[{ key: 'has space', value: 'x' }], 'body.tags.0.key'],
        [[{ key: 'hash#', value: 'x' }], 'body.tags.0.key'],
        [[{ key: '', value: 'x' }], 'body.tags.0.key'],
        [[{ key: 'k'.repeat(129), value: 'x' }], 'body.tags.0.key'],
        [[{ key: 'ok', value: 'v'.repeat(257) }], 'body.tags.0.value'],
        [[{ key: 'ok', value: 'semi;colon' }], 'body.tags.0.value'],
        [[{ key: 'ok', value: ' padded' }], 'body.tags.0.value'],
        [[{ key: 'dup', value: 'a' }, { key: 'dup', value: 'b' }], 'body.tags.1.key'],
        [[], 'body.tags'],
        [Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, value: 'v' })), 'body.tags'],
        [[{ key: { $gt: '' }, value: 'x' }], 'body.tags.0.key'],
      ];
      for (const [tags, field] of bad) {
        const res = await root.call('post', `${BASE}/tenant/tags`, { tags }).expect(400);
        expect(fieldsOf(res.body), JSON.stringify(tags).slice(0, 80)).to.include(field);
      }
      await root.call('delete', `${BASE}/tenant/tags/${encodeURIComponent('bad key')}`).expect(400);
      expect((await storedTenant(memberNo))?.tags).to.deep.equal([]);
      // the whole alphabet and the maximum lengths are accepted
      await root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: `Az09_./=+-@${'k'.repeat(117)}`, value: `Az09_./=+-@${'v'.repeat(245)}` }] }).expect(200);
      // 20 in all: 19 more fit, one beyond is 409 LIMIT_EXCEEDED and nothing changes
      await root.call('post', `${BASE}/tenant/tags`, { tags: Array.from({ length: 19 }, (_, i) => ({ key: `k${i}`, value: 'v' })) }).expect(200);
      const before = (await storedTenant(memberNo))?.tags;
      expect(before).to.have.length(20);
      const over = await root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'k0', value: 'changed' }, { key: 'one-more', value: 'v' }] }).expect(409);
      expect(over.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
      expect((await storedTenant(memberNo))?.tags).to.deep.equal(before);
      // changing a value of an existing key at the limit is fine
      await root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'k0', value: 'changed' }] }).expect(200);
    });

    it('concurrent tag requests cannot push the tenant past 20 tags', async () => {
      const { memberNo, root } = await accountWithTenant();
      await root.call('post', `${BASE}/tenant/tags`, { tags: Array.from({ length: 18 }, (_, i) => ({ key: `base${i}`, value: 'v' })) }).expect(200);
      const results = await Promise.all(Array.from({ length: 4 }, (_, i) => root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: `new${i}a`, value: 'v' }, { key: `new${i}b`, value: 'v' }] })));
      expect(results.map((r) => r.status)).to.include(200);
      expect((await storedTenant(memberNo))?.tags.length).to.be.at.most(20);
    });
  });

  describe('permission-set policy list', () => {
    it('lists the system-managed policies, then this account’s user-created ones by name, paged across both', async () => {
      const { memberNo, root } = await accountWithTenant();
      const other = await freshAccount();
      for (const name of ['zeta', 'Alpha', 'mid']) await Policy.create({ accountId: memberNo, policyId: randomUUID(), name, nameKey: name.toLowerCase(), description: `${name} policy`, document: { permissions: [] } });
      await Policy.create({ accountId: other.memberNo, policyId: randomUUID(), name: 'notmine', nameKey: 'notmine', document: { permissions: [] } });
      const all = await root.call('get', `${BASE}/tenant/policies?pageSize=100`).expect(200);
      const m = managedPolicies.length;
      expect(all.body.totalElements).to.equal(m + 3);
      const names = all.body.items.map((p: { policyName: string }) => p.policyName);
      expect(names.slice(0, m)).to.deep.equal(managedPolicies.map((p) => p.name));
      expect(names.slice(m)).to.deep.equal(['Alpha', 'mid', 'zeta']);
      expect(all.body.items[m]).to.include({ policyType: 'UserCreated', description: 'Alpha policy' });
      expect(all.body.items[0]).to.include({ policyType: 'SystemManaged', policyId: managedPolicies[0]!.id });
      // a page that straddles the boundary
      const pageSize = m - 1;
      const p1 = await root.call('get', `${BASE}/tenant/policies?pageSize=${pageSize}&pageNo=1`).expect(200);
      expect(p1.body.items.map((p: { policyName: string }) => p.policyName)).to.deep.equal(names.slice(pageSize, 2 * pageSize));
      const user = await root.call('get', `${BASE}/tenant/policies?policyType=UserCreated`).expect(200);
      expect(user.body.totalElements).to.equal(3);
      expect(user.body.items.every((p: { policyType: string }) => p.policyType === 'UserCreated')).to.equal(true);
      const sys = await root.call('get', `${BASE}/tenant/policies?policyType=SystemManaged`).expect(200);
      expect(sys.body.totalElements).to.equal(m);
      await root.call('get', `${BASE}/tenant/policies?policyType=Other`).expect(400);
    });
  });

  describe('delete', () => {
    it('refuses (409, naming what is left) while the tenant has content, then deletes an empty tenant', async () => {
      const { memberNo, root, tenant } = await accountWithTenant();
      const { tenantId } = tenant;
      const userId = randomUUID();
      const groupId = randomUUID();
      const ipAclId = randomUUID();
      await SsoUser.create({ accountId: memberNo, tenantId, userId, loginId: 'left@corp.example', loginIdKey: 'left@corp.example' });
      await SsoGroup.create({ accountId: memberNo, tenantId, groupId, groupName: 'Leftover', nameKey: 'leftover' });
      await IpAcl.create({ tenantId, accountId: memberNo, ipAclId, ipAclName: 'office', nameKey: 'office', accessIps: ['10.0.0.0/8'] });
      const res = await root.call('delete', `${BASE}/tenant`).expect(409);
      expect(res.body.error.errorCode).to.equal('CONFLICT');
      expect(res.body.error.detail).to.equal('the tenant still has users, groups, IP ACLs: delete them first');
      expect(fieldsOf(res.body)).to.deep.equal(['users', 'groups', 'IP ACLs']);
      const kept = await storedTenant(memberNo);
      expect(kept?.tenantId).to.equal(tenantId);
      expect(kept?.deletingSince, 'the delete lock is released after a refusal').to.equal(null);
      await SsoUser.deleteOne({ tenantId, userId });
      await SsoGroup.deleteOne({ tenantId, groupId });
      const onlyAcl = await root.call('delete', `${BASE}/tenant`).expect(409);
      expect(onlyAcl.body.error.detail).to.match(/still has IP ACLs:/);
      await IpAcl.deleteOne({ tenantId, ipAclId });
      await root.call('delete', `${BASE}/tenant`).expect(204);
      expect(await Tenant.countDocuments({ accountId: memberNo })).to.equal(0);
      const ev = await HistoryEvent.findOne({ accountId: memberNo, action: 'SSO:change/deleteTenant', result: 'success' }).orFail();
      expect(ev.nrn).to.equal(tenant.nrn);
      // every tenant route now answers 404 after authorization; a new tenant may be created
      await root.call('get', `${BASE}/tenant`).expect(404);
      await root.call('delete', `${BASE}/tenant`).expect(404);
      await root.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(201);
    });

    it('while a delete holds the tenant, new content and a second delete are refused; a stale hold expires', async () => {
      const { memberNo, root } = await accountWithTenant();
      await Tenant.updateOne({ accountId: memberNo }, { $set: { deletingSince: new Date() } });
      let err: unknown;
      try {
        await requireTenant(memberNo);
      } catch (e) {
        err = e;
      }
      expect(err).to.have.property('code', 'CONFLICT');
      const second = await root.call('delete', `${BASE}/tenant`).expect(409);
      expect(second.body.error.detail).to.match(/in progress/);
      // a delete that crashed two minutes ago no longer holds the tenant
      await Tenant.updateOne({ accountId: memberNo }, { $set: { deletingSince: new Date(Date.now() - 120_000) } });
      expect((await requireTenant(memberNo)).accountId).to.equal(memberNo);
      await root.call('delete', `${BASE}/tenant`).expect(204);
    });
  });

  describe("end-user routes (/tenants/{t}, resolved through a cache under the tenant's change stamp)", () => {
    const discovery = (ref: string) => request(app).get(`/tenants/${ref}/.well-known/openid-configuration`);

    it('follow an alias change at the next request: the new alias answers, the old one is 404', async () => {
      const { memberNo, root, tenant } = await accountWithTenant();
      // Both references are cached by these first requests.
      expect((await discovery(tenant.tenantAlias).expect(200)).body.issuer).to.match(new RegExp(`/tenants/${tenant.tenantId}$`));
      await discovery(tenant.tenantId).expect(200);
      await root.call('put', `${BASE}/tenant`, { tenantAlias: `moved-${memberNo}` }).expect(200);
      await discovery(tenant.tenantAlias).expect(404);
      expect((await discovery(`moved-${memberNo}`).expect(200)).body.issuer).to.match(new RegExp(`/tenants/${tenant.tenantId}$`));
      await discovery(tenant.tenantId).expect(200);
    });

    it('stop answering for a deleted tenant at the next request, by id and by alias', async () => {
      const { root, tenant } = await accountWithTenant();
      await discovery(tenant.tenantAlias).expect(200);
      await discovery(tenant.tenantId).expect(200);
      await root.call('delete', `${BASE}/tenant`).expect(204);
      await discovery(tenant.tenantAlias).expect(404);
      await discovery(tenant.tenantId).expect(404);
    });
  });

  describe('authorization by policy', () => {
    interface Case {
      method: Method;
      path: string;
      body?: unknown;
      ok: number;
      /** Run in an account that has no tenant yet. */
      noTenant?: boolean;
    }
    const cases: Record<string, Case> = {
      'SSO:change/createTenant': { method: 'post', path: '/tenant', body: { termsAgreed: true }, ok: 201, noTenant: true },
      'SSO:view/getTenantDetail': { method: 'get', path: '/tenant', ok: 200 },
      'SSO:change/updateTenant': { method: 'put', path: '/tenant', body: { description: 'by policy' }, ok: 200 },
      'SSO:change/deleteTenant': { method: 'delete', path: '/tenant', ok: 204 },
      'SSO:change/updateLoginSetting': { method: 'put', path: '/tenant/login-settings', body: { multipleLoginAllowed: false }, ok: 200 },
      'SSO:change/updateOrganizationEnable': { method: 'post', path: '/tenant/organization', body: { enable: false }, ok: 200 },
      'SSO:view/getAccountList': { method: 'get', path: '/tenant/accounts', ok: 200 },
      'SSO:view/getAttributeMapper': { method: 'get', path: '/tenant/saml-idp/profile-mapping', ok: 200 },
      'SSO:change/updateAttributeMapper': { method: 'put', path: '/tenant/saml-idp/profile-mapping', body: { email: { displayName: 'Mail', syncMode: 'import', idpValue: 'mail' } }, ok: 200 },
      'SSO:change/tagTenant': { method: 'post', path: '/tenant/tags', body: { tags: [{ key: 'k', value: 'v' }] }, ok: 200 },
      'SSO:change/untagTenant': { method: 'delete', path: '/tenant/tags/k', ok: 204 },
      'SSO:view/getPolicyList': { method: 'get', path: '/tenant/policies', ok: 200 },
    };

    it('the table covers every tenant route, each gated by an SSO catalog action', () => {
      expect(tenantRoutes.map((r) => r.action).sort()).to.deep.equal(Object.keys(cases).sort());
      for (const r of tenantRoutes) {
        expect(catalog.find(r.action), r.action).to.have.length.greaterThan(0);
        expect(`${r.method} ${r.path.replace(':tagKey', 'k')}`).to.equal(`${cases[r.action]!.method} ${cases[r.action]!.path}`);
      }
    });

    for (const [action, c] of Object.entries(cases)) {
      it(`${c.method.toUpperCase()} ${c.path}: 403 with every SSO action but ${unqualified(action)}, ${c.ok} with only it`, async () => {
        const a = c.noTenant ? await freshAccount() : await accountWithTenant();
        const before = await storedTenant(a.memberNo);
        const others = ssoActions.filter((x) => x.toLowerCase() !== action.toLowerCase()).map(unqualified);
        const allButIt = await subAccountSigner(app, [allow(others, 'SSO')], { accountId: a.memberNo });
        const refused = await allButIt.call(c.method, BASE + c.path, c.body);
        expect(refused.status, JSON.stringify(refused.body)).to.equal(403);
        expect(refused.body.error.errorCode).to.equal('FORBIDDEN');
        expect(JSON.stringify(refused.body)).not.to.match(/statement|policyId/i);
        expect(await storedTenant(a.memberNo), 'a refused call changes nothing').to.deep.equal(before);
        expect(await HistoryEvent.countDocuments({ accountId: a.memberNo, action, result: 'denied', 'actor.id': allButIt.subAccountId })).to.equal(1);

        const onlyIt = await subAccountSigner(app, [allow([unqualified(action)], 'SSO')], { accountId: a.memberNo });
        const allowed = await onlyIt.call(c.method, BASE + c.path, c.body);
        expect(allowed.status, JSON.stringify(allowed.body)).to.equal(c.ok);
      });
    }

    it('NCP_SINGLE_SIGN_ON_VIEWER reads but cannot change; NCP_SINGLE_SIGN_ON_MANAGER can', async () => {
      const a = await accountWithTenant();
      const viewer = await subAccountSigner(app, [{ managed: 'NCP_SINGLE_SIGN_ON_VIEWER' }], { accountId: a.memberNo });
      await viewer.call('get', `${BASE}/tenant`).expect(200);
      await viewer.call('get', `${BASE}/tenant/saml-idp/profile-mapping`).expect(200);
      await viewer.call('put', `${BASE}/tenant`, { description: 'viewer' }).expect(403);
      await viewer.call('delete', `${BASE}/tenant`).expect(403);
      const manager = await subAccountSigner(app, [{ managed: 'NCP_SINGLE_SIGN_ON_MANAGER' }], { accountId: a.memberNo });
      await manager.call('put', `${BASE}/tenant`, { description: 'manager' }).expect(200);
    });

    it('a sub account without any policy gets 403 on every route, also when the account has no tenant (no existence leak)', async () => {
      const a = await freshAccount();
      const nobody = await subAccountSigner(app, [], { accountId: a.memberNo });
      for (const c of Object.values(cases)) {
        const res = await nobody.call(c.method, BASE + c.path, c.body);
        expect(res.status, `${c.method} ${c.path}`).to.equal(403);
      }
      expect(await Tenant.countDocuments({ accountId: a.memberNo })).to.equal(0);
    });

    it('without a tenant: allowed callers get 404 after authorization, against Tenant/none', async () => {
      const a = await freshAccount();
      const sub = await subAccountSigner(app, [allow(['View/getTenantDetail', 'Change/updateTenant'], 'SSO', [`nrn:PUB:SSO::${a.memberNo}:Tenant/*`])], { accountId: a.memberNo });
      const res = await sub.call('get', `${BASE}/tenant`).expect(404);
      expect(res.body.error.errorCode).to.equal('NOT_FOUND');
      await sub.call('put', `${BASE}/tenant`, { description: 'x' }).expect(404);
      const ev = await HistoryEvent.findOne({ accountId: a.memberNo, action: 'SSO:change/updateTenant' }).orFail();
      expect(ev).to.include({ result: 'failed', errorCode: 'NOT_FOUND', nrn: `nrn:PUB:SSO::${a.memberNo}:Tenant/none` });
      for (const c of Object.values(cases).filter((x) => !x.noTenant)) {
        const r = await a.root.call(c.method, BASE + c.path, c.body);
        expect(r.status, `${c.method} ${c.path}`).to.equal(404);
      }
    });

    it('the resource is the tenant NRN: a policy naming this tenant allows, one naming another tenant does not', async () => {
      const a = await accountWithTenant();
      const mine = await subAccountSigner(app, [allow(['View/getTenantDetail'], 'SSO', [a.tenant.nrn])], { accountId: a.memberNo });
      await mine.call('get', `${BASE}/tenant`).expect(200);
      const elsewhere = await subAccountSigner(app, [allow(['View/getTenantDetail'], 'SSO', [`nrn:PUB:SSO::${a.memberNo}:Tenant/${randomUUID()}`])], { accountId: a.memberNo });
      await elsewhere.call('get', `${BASE}/tenant`).expect(403);
      // createTenant's resource type is '-': it needs '*', a tenant pattern does not cover it
      const b = await freshAccount();
      const scoped = await subAccountSigner(app, [allow(['Change/createTenant'], 'SSO', [`nrn:PUB:SSO::${b.memberNo}:Tenant/*`])], { accountId: b.memberNo });
      await scoped.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(403);
    });

    it('a body error is reported only to callers allowed the action', async () => {
      const a = await accountWithTenant();
      const nobody = await subAccountSigner(app, [], { accountId: a.memberNo });
      const res = await nobody.call('put', `${BASE}/tenant/login-settings`, { idleSessionExpirationSeconds: 5 }).expect(403);
      expect(res.body.error.fieldErrors).to.deep.equal([]);
    });
  });

  describe('tag conditions', () => {
    const SSO_MANAGER = { managed: 'NCP_SINGLE_SIGN_ON_MANAGER' };
    const statement = (effect: 'Allow' | 'Deny', actions: string[], condition: Record<string, Record<string, string[]>>) => ({
      document: { permissions: [{ effect, targets: [{ product: 'SSO', actions, resourceNrns: ['*'] }], condition }] },
    });

    it('a Deny on ncp:resourceTag/env = prod blocks updateTenant on a prod tenant only', async () => {
      const a = await accountWithTenant();
      const sub = await subAccountSigner(app, [SSO_MANAGER, statement('Deny', ['Change/updateTenant'], { StringEquals: { 'ncp:resourceTag/env': ['prod'] } })], { accountId: a.memberNo });
      await sub.call('put', `${BASE}/tenant`, { description: 'untagged' }).expect(200);
      await a.root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'env', value: 'prod' }] }).expect(200);
      const denied = await sub.call('put', `${BASE}/tenant`, { description: 'prod' }).expect(403);
      expect(denied.body.error.errorCode).to.equal('FORBIDDEN');
      expect((await storedTenant(a.memberNo))?.description).to.equal('untagged');
      // the Deny names updateTenant only
      await sub.call('get', `${BASE}/tenant`).expect(200);
      await sub.call('put', `${BASE}/tenant/login-settings`, { multipleLoginAllowed: false }).expect(200);
      await a.root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'env', value: 'dev' }] }).expect(200);
      await sub.call('put', `${BASE}/tenant`, { description: 'dev' }).expect(200);
    });

    it('an Allow conditioned on ncp:resourceTag/env = dev allows only while the tenant is tagged dev', async () => {
      const a = await accountWithTenant();
      const sub = await subAccountSigner(app, [statement('Allow', ['Change/updateLoginSetting', 'View/getTenantDetail'], { StringEquals: { 'ncp:resourceTag/env': ['dev'] } })], { accountId: a.memberNo });
      await sub.call('put', `${BASE}/tenant/login-settings`, { multipleLoginAllowed: false }).expect(403);
      await a.root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'env', value: 'dev' }] }).expect(200);
      await sub.call('put', `${BASE}/tenant/login-settings`, { multipleLoginAllowed: false }).expect(200);
      await sub.call('get', `${BASE}/tenant`).expect(200);
      await a.root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'env', value: 'prod' }] }).expect(200);
      await sub.call('get', `${BASE}/tenant`).expect(403);
    });

    it('ncp:requestTag conditions on tagTenant: allowed values pass, others are refused and not stored', async () => {
      const a = await accountWithTenant();
      const sub = await subAccountSigner(app, [statement('Allow', ['Change/tagTenant'], { StringEquals: { 'ncp:requestTag/team': ['ops'] } })], { accountId: a.memberNo });
      await sub.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'team', value: 'ops' }] }).expect(200);
      await sub.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'team', value: 'dev' }] }).expect(403);
      await sub.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'other', value: 'ops' }] }).expect(403);
      expect((await storedTenant(a.memberNo))?.tags.map((t) => ({ key: t.key, value: t.value }))).to.deep.equal([{ key: 'team', value: 'ops' }]);
      // ncp:TagKeys: a Deny on a reserved key
      const guarded = await subAccountSigner(
        app,
        [SSO_MANAGER, statement('Deny', ['Change/tagTenant'], { 'ForAnyValue:StringEquals': { 'ncp:TagKeys': ['owner'] } })],
        { accountId: a.memberNo },
      );
      await guarded.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'owner', value: 'me' }] }).expect(403);
      await guarded.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'free', value: 'x' }] }).expect(200);
    });

    it('fails closed when a statement uses ncp:resourceTag on an action that does not support it (getPolicyList)', async () => {
      const a = await accountWithTenant();
      const sub = await subAccountSigner(app, [statement('Allow', ['View/getPolicyList'], { StringEquals: { 'ncp:resourceTag/env': ['dev'] } })], { accountId: a.memberNo });
      await a.root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'env', value: 'dev' }] }).expect(200);
      await sub.call('get', `${BASE}/tenant/policies`).expect(403);
    });
  });

  describe('cross-account isolation', () => {
    it('another account’s admin sees and changes only its own tenant, and 404 when it has none', async () => {
      const a = await accountWithTenant({ description: 'A' });
      const b = await freshAccount();
      // B has no tenant: 404, nothing of A's leaks
      const got = await b.root.call('get', `${BASE}/tenant`).expect(404);
      expect(JSON.stringify(got.body)).not.to.contain(a.tenant.tenantId);
      await b.root.call('put', `${BASE}/tenant`, { description: 'hijack' }).expect(404);
      await b.root.call('put', `${BASE}/tenant/login-settings`, { multipleLoginAllowed: false }).expect(404);
      await b.root.call('post', `${BASE}/tenant/tags`, { tags: [{ key: 'x', value: 'y' }] }).expect(404);
      await b.root.call('delete', `${BASE}/tenant`).expect(404);
      // a sub account of B allowed on A's tenant NRN still acts on B's account only
      const bSub = await subAccountSigner(app, [allow(['*'], 'SSO', [a.tenant.nrn, '*'])], { accountId: b.memberNo });
      await bSub.call('get', `${BASE}/tenant`).expect(404);
      await bSub.call('delete', `${BASE}/tenant`).expect(404);
      // B creates its own: separate tenant, changes stay in it
      const bt = (await b.root.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(201)).body;
      expect(bt.tenantId).not.to.equal(a.tenant.tenantId);
      await b.root.call('put', `${BASE}/tenant`, { description: 'B' }).expect(200);
      await b.root.call('put', `${BASE}/tenant/saml-idp/profile-mapping`, { email: { displayName: 'B', syncMode: 'force', idpValue: 'b' } }).expect(200);
      const aNow = await a.root.call('get', `${BASE}/tenant`).expect(200);
      expect(aNow.body).to.include({ tenantId: a.tenant.tenantId, description: 'A' });
      const aMap = await a.root.call('get', `${BASE}/tenant/saml-idp/profile-mapping`).expect(200);
      expect(aMap.body.email.syncMode).to.equal('none');
      // a tenant id in the path, query or body is never honoured
      await b.root.call('get', `${BASE}/tenant?tenantId=${a.tenant.tenantId}`).expect(200).expect((r) => expect(r.body.tenantId).to.equal(bt.tenantId));
      await b.root.call('put', `${BASE}/tenant`, { tenantId: a.tenant.tenantId, description: 'x' }).expect(400);
    });
  });
});
