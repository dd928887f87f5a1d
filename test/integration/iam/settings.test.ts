/**
 * Account-wide settings and the dashboard count (seed S1 "Dashboard" actions): validation with
 * field errors and nothing written on bad input, login aliases unique across accounts (409)
 * through the LoginAlias collection, the alias page following a change, and each route gated by
 * its action.
 */
import { expect } from 'chai';
import supertest from 'supertest';
import { Account, LoginAlias } from '../../../src/iam/accounts/account.model.js';
import { AdminGroup } from '../../../src/iam/groups/admin-group.model.js';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { Role } from '../../../src/iam/roles/role.model.js';
import { ConsoleSession } from '../../../src/iam/sessions/console-session.model.js';
import { createSession } from '../../../src/iam/sessions/session.service.js';
import { SubAccount } from '../../../src/iam/sub-accounts/sub-account.model.js';
import { managedPolicies } from '../../../src/policy/index.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { testApp } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/subaccount';
const OTHER_ACCOUNT = ACCOUNT + 1;

describe('Sub Account API: account settings and dashboard', function () {
  this.timeout(30_000);
  useTestDatabase('settings');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;
  let otherRoot: Signer;

  before(async () => {
    root = await rootSigner(app);
    otherRoot = await rootSigner(app, OTHER_ACCOUNT);
  });

  it('returns the defaults', async () => {
    const res = await root.call('get', `${BASE}/settings`).expect(200);
    expect(res.body).to.deep.equal({
      loginAlias: null,
      consoleLoginUrl: null,
      passwordExpiryDays: null,
      sessionIdleSec: 3600,
      consoleAccessIps: [],
    });
  });

  describe('login alias', () => {
    it('sets an alias, which opens /console/login/{alias}, and records the change', async () => {
      const res = await root.call('put', `${BASE}/settings/login-alias`, { loginAlias: 'acme2024' }).expect(200);
      expect(res.body).to.include({ loginAlias: 'acme2024', consoleLoginUrl: 'http://localhost:3000/console/login/acme2024' });
      expect(await LoginAlias.findById('acme2024').lean()).to.deep.include({ accountId: ACCOUNT });
      expect((await Account.findOne({ memberNo: ACCOUNT }).lean())!.settings!.loginAlias).to.equal('acme2024');
      await supertest(app).get('/console/login/acme2024').expect(200);
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/manageLoginPageSetting' }).lean();
      expect(ev!.result).to.equal('success');
    });

    it('refuses an alias another account holds (409) and changes nothing on either side', async () => {
      await otherRoot.call('put', `${BASE}/settings/login-alias`, { loginAlias: 'othercorp' }).expect(200);
      const res = await root.call('put', `${BASE}/settings/login-alias`, { loginAlias: 'othercorp' }).expect(409);
      expect(res.body.error.errorCode).to.equal('CONFLICT');
      expect(res.body.error.fieldErrors).to.deep.equal([{ field: 'body.loginAlias', message: 'is already in use' }]);
      expect(await LoginAlias.findById('othercorp').lean()).to.deep.include({ accountId: OTHER_ACCOUNT });
      expect(await LoginAlias.findById('acme2024').lean()).to.deep.include({ accountId: ACCOUNT });
      expect((await root.call('get', `${BASE}/settings`).expect(200)).body.loginAlias).to.equal('acme2024');
    });

    it('refuses the same alias set by two accounts at once: exactly one wins', async () => {
      const [a, b] = await Promise.all([
        root.call('put', `${BASE}/settings/login-alias`, { loginAlias: 'raceprize' }),
        otherRoot.call('put', `${BASE}/settings/login-alias`, { loginAlias: 'raceprize' }),
      ]);
      expect([a.status, b.status].sort()).to.deep.equal([200, 409]);
      const winner = a.status === 200 ? ACCOUNT : OTHER_ACCOUNT;
      expect(await LoginAlias.findById('raceprize').lean()).to.deep.include({ accountId: winner });
      // The loser keeps an alias of its own (its previous one is put back).
      expect(await LoginAlias.countDocuments({ accountId: winner === ACCOUNT ? OTHER_ACCOUNT : ACCOUNT })).to.equal(1);
    });

    it('changing the alias removes the old one; null removes it altogether', async () => {
      await root.call('put', `${BASE}/settings/login-alias`, { loginAlias: 'acmenew' }).expect(200);
      expect(await LoginAlias.find({ accountId: ACCOUNT }).lean()).to.deep.equal([{ _id: 'acmenew', accountId: ACCOUNT }]);
      await supertest(app).get('/console/login/acmenew').expect(200);
      await supertest(app).get('/console/login/acme2024').expect(404);
      // The freed alias can be taken by another account.
      await otherRoot.call('put', `${BASE}/settings/login-alias`, { loginAlias: 'acme2024' }).expect(200);
      const cleared = await root.call('put', `${BASE}/settings/login-alias`, { loginAlias: null }).expect(200);
      expect(cleared.body).to.include({ loginAlias: null, consoleLoginUrl: null });
      expect(await LoginAlias.countDocuments({ accountId: ACCOUNT })).to.equal(0);
    });

    it('validates the alias: 3-20 lowercase letters and digits, not a reserved console word', async () => {
      for (const bad of ['ab', 'a'.repeat(21), 'Acme', 'acme-corp', 'acme corp', 'mfa', 42]) {
        const res = await root.call('put', `${BASE}/settings/login-alias`, { loginAlias: bad }).expect(400);
        expect(res.body.error.fieldErrors[0].field, String(bad)).to.equal('body.loginAlias');
      }
      await root.call('put', `${BASE}/settings/login-alias`, { loginAlias: 'acme', extra: true }).expect(400);
      await root.call('put', `${BASE}/settings/login-alias`, {}).expect(400);
      expect(await LoginAlias.countDocuments({ accountId: ACCOUNT })).to.equal(0);
    });
  });

  describe('password, session and console access settings', () => {
    it('sets the password expiry (null, 60, 90, 120, 180) and refuses anything else', async () => {
      expect(
        (await root.call('put', `${BASE}/settings/password`, { passwordExpiryDays: 90 }).expect(200)).body.passwordExpiryDays,
      ).to.equal(90);
      for (const bad of [30, 0, '90', 365]) {
        const res = await root.call('put', `${BASE}/settings/password`, { passwordExpiryDays: bad }).expect(400);
        expect(res.body.error.fieldErrors[0].field).to.equal('body.passwordExpiryDays');
      }
      expect((await root.call('get', `${BASE}/settings`).expect(200)).body.passwordExpiryDays).to.equal(90);
      expect(
        (await root.call('put', `${BASE}/settings/password`, { passwordExpiryDays: null }).expect(200)).body.passwordExpiryDays,
      ).to.equal(null);
    });

    it('sets the session idle expiry (600, 1800, 3600, 10800), and open sessions adopt it', async () => {
      const { session } = await createSession({
        accountId: ACCOUNT,
        kind: 'Root',
        credentialGeneration: 0,
        mfa: false,
        mustChangePassword: false,
        idleTimeoutSec: 3600,
        sourceIp: '127.0.0.1',
      });
      const res = await root.call('put', `${BASE}/settings/session`, { sessionIdleSec: 1800 }).expect(200);
      expect(res.body.sessionIdleSec).to.equal(1800);
      expect((await ConsoleSession.findOne({ accountId: ACCOUNT, tokenHash: session.tokenHash }).lean())!.idleTimeoutSec).to.equal(1800);
      for (const bad of [60, 3601, null, 'x']) {
        const r = await root.call('put', `${BASE}/settings/session`, { sessionIdleSec: bad }).expect(400);
        expect(r.body.error.fieldErrors[0].field).to.equal('body.sessionIdleSec');
      }
      expect((await root.call('get', `${BASE}/settings`).expect(200)).body.sessionIdleSec).to.equal(1800);
    });

    it('sets console access IPs, normalised, and refuses invalid entries without writing', async () => {
      const res = await root
        .call('put', `${BASE}/settings/console-access-ips`, {
          consoleAccessIps: ['192.0.2.0/24', '2001:DB8::/32', '192.0.2.0/24', '198.51.100.7/32'],
        })
        .expect(200);
      expect(res.body.consoleAccessIps).to.deep.equal(['192.0.2.0/24', '2001:db8::/32', '198.51.100.7']);
      const bad = await root
        .call('put', `${BASE}/settings/console-access-ips`, { consoleAccessIps: ['10.0.0.0/8', '300.1.1.1'] })
        .expect(400);
      expect(bad.body.error.fieldErrors[0].field).to.equal('body.consoleAccessIps.1');
      expect((await root.call('get', `${BASE}/settings`).expect(200)).body.consoleAccessIps).to.deep.equal([
        '192.0.2.0/24',
        '2001:db8::/32',
        '198.51.100.7',
      ]);
      await root.call('put', `${BASE}/settings/console-access-ips`, { consoleAccessIps: [] }).expect(200);
    });
  });

  it('counts the account’s sub accounts, groups, policies and roles (and nothing of other accounts)', async () => {
    await SubAccount.create({
      accountId: OTHER_ACCOUNT,
      subAccountId: 'other-sub',
      loginId: 'o',
      loginIdKey: 'o',
      name: 'Other',
      passwordHash: 'x',
    });
    await AdminGroup.create({ accountId: ACCOUNT, groupId: 'g1', name: 'ops', nameKey: 'ops' });
    await Policy.create({ accountId: ACCOUNT, policyId: 'p1', name: 'pol', nameKey: 'pol', document: { permissions: [] } });
    await Role.create({
      accountId: ACCOUNT,
      roleId: 'r1',
      roleName: 'role',
      roleNameKey: 'role',
      roleType: 'Account',
      targetAccounts: [ACCOUNT],
    });
    const subs = await SubAccount.countDocuments({ accountId: ACCOUNT });
    const res = await root.call('get', `${BASE}/dashboard/resource-count`).expect(200);
    expect(res.body).to.deep.equal({
      subAccountCount: subs,
      groupCount: 1,
      policyCount: 1,
      systemManagedPolicyCount: managedPolicies.length,
      roleCount: 1,
    });
  });

  describe('authorization', () => {
    it('View/getResourceCount reads the settings and the count but changes nothing', async () => {
      const viewer = await subAccountSigner(app, [allow(['View/getResourceCount'])]);
      await viewer.call('get', `${BASE}/settings`).expect(200);
      await viewer.call('get', `${BASE}/dashboard/resource-count`).expect(200);
      for (const [path, body] of [
        ['/settings/login-alias', { loginAlias: 'viewer1' }],
        ['/settings/console-access-ips', { consoleAccessIps: [] }],
        ['/settings/password', { passwordExpiryDays: 60 }],
        ['/settings/session', { sessionIdleSec: 600 }],
      ] as const) {
        const res = await viewer.call('put', `${BASE}${path}`, body).expect(403);
        expect(res.body.error.errorCode).to.equal('FORBIDDEN');
      }
      expect(await LoginAlias.countDocuments({ _id: 'viewer1' })).to.equal(0);
    });

    it('each Change action opens only its own settings', async () => {
      const sessionAdmin = await subAccountSigner(app, [allow(['Change/manageSessionSetting'])]);
      await sessionAdmin.call('put', `${BASE}/settings/session`, { sessionIdleSec: 600 }).expect(200);
      await sessionAdmin.call('put', `${BASE}/settings/password`, { passwordExpiryDays: 60 }).expect(403);
      await sessionAdmin.call('put', `${BASE}/settings/login-alias`, { loginAlias: 'sessionadmin' }).expect(403);
      await sessionAdmin.call('get', `${BASE}/settings`).expect(403);
      const loginPageAdmin = await subAccountSigner(app, [allow(['Change/manageLoginPageSetting'])]);
      await loginPageAdmin.call('put', `${BASE}/settings/console-access-ips`, { consoleAccessIps: ['192.0.2.1'] }).expect(200);
      await loginPageAdmin.call('put', `${BASE}/settings/session`, { sessionIdleSec: 600 }).expect(403);
      await root.call('put', `${BASE}/settings/console-access-ips`, { consoleAccessIps: [] }).expect(200);
    });
  });
});
