import { expect } from 'chai';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { ConsoleSession } from '../../../src/iam/sessions/console-session.model.js';
import { createSession } from '../../../src/iam/sessions/session.service.js';
import { SubAccount } from '../../../src/iam/sub-accounts/sub-account.model.js';
import { acquireQuota } from '../../../src/shared/quota.js';
import { verifyPassword } from '../../../src/shared/password-hash.js';
import { testApp } from '../../helpers/app.js';
import { ACCOUNT, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/subaccount';

describe('Sub Account API: sub accounts', function () {
  this.timeout(30_000);
  const t = useTestDatabase('subaccounts');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;

  before(async () => {
    root = await rootSigner(app);
  });

  it('refuses calls without credentials (401, error shape)', async () => {
    const res = await (await import('supertest')).default(app).get(`${BASE}/sub-accounts`).expect(401);
    expect(res.body.error.errorCode).to.equal('UNAUTHENTICATED');
  });

  it('creates a sub account with a generated password shown once, stored hashed', async () => {
    const res = await root.call('post', `${BASE}/sub-accounts`, { loginId: 'Alice.Admin', name: 'Alice', needPasswordGenerate: true, tags: [{ key: 'team', value: 'ops' }] }).expect(201);
    expect(res.body.generatedPassword).to.match(/^[A-Za-z0-9_-]{20}$/);
    const view = res.body.subAccount;
    expect(view).to.include({ loginId: 'Alice.Admin', name: 'Alice', status: 'active', needPasswordReset: true });
    expect(view.nrn).to.equal(`nrn:PUB:SubAccount::${ACCOUNT}:SubAccount/${view.subAccountId}`);
    expect(JSON.stringify(res.body.subAccount)).not.to.match(/passwordHash|argon2/);
    const stored = await SubAccount.findOne({ accountId: ACCOUNT, subAccountId: view.subAccountId }).select('+passwordHash').orFail();
    expect(await verifyPassword(stored.passwordHash, res.body.generatedPassword)).to.equal(true);
    // an audit event with actor, action, NRN and result
    const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/createSubAccount' }).orFail();
    expect(ev.result).to.equal('success');
    expect(ev.nrn, 'a create is audited with the NRN it made').to.equal(view.nrn);
    expect(ev.actor?.kind).to.equal('Root');
  });

  it('refuses a duplicate login id case-insensitively (409) and writes nothing', async () => {
    const before = await SubAccount.countDocuments({ accountId: ACCOUNT });
    const res = await root.call('post', `${BASE}/sub-accounts`, { loginId: 'alice.admin', name: 'Dup', password: 'a long enough password' }).expect(409);
    expect(res.body.error.errorCode).to.equal('CONFLICT');
    expect(await SubAccount.countDocuments({ accountId: ACCOUNT })).to.equal(before);
  });

  it('gives field errors for bad input and writes nothing', async () => {
    const before = await SubAccount.countDocuments({ accountId: ACCOUNT });
    const res = await root
      .call('post', `${BASE}/sub-accounts`, { loginId: 'x', name: 'A', password: 'short', consolePermitIps: ['10.0.0.0/33'], isAdmin: true })
      .expect(400);
    expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
    const fields = res.body.error.fieldErrors.map((f: { field: string }) => f.field);
    expect(fields).to.include.members(['body.loginId', 'body.name', 'body.password', 'body.consolePermitIps.0']);
    expect(fields.some((f: string) => f === 'body' || f.startsWith('body'))).to.equal(true);
    expect(await SubAccount.countDocuments({ accountId: ACCOUNT })).to.equal(before);
  });

  it('lists, reads, updates, and normalises allow-lists', async () => {
    const created = (await root.call('post', `${BASE}/sub-accounts`, { loginId: 'bob', name: 'Bob', password: 'correct horse battery' }).expect(201)).body.subAccount;
    const list = await root.call('get', `${BASE}/sub-accounts?pageSize=1&pageNo=0`).expect(200);
    expect(list.body).to.include({ pageNo: 0, pageSize: 1 });
    expect(list.body.totalElements).to.be.at.least(2);
    expect(list.body.items).to.have.length(1);
    await root.call('put', `${BASE}/sub-accounts/${created.subAccountId}`, { memo: 'on call' }).expect(200);
    const ips = await root.call('put', `${BASE}/sub-accounts/${created.subAccountId}/allow-sources`, { consolePermitIps: ['203.0.113.7/32', '2001:DB8::/32'] }).expect(200);
    expect(ips.body.consolePermitIps).to.deep.equal(['203.0.113.7', '2001:db8::/32']);
    const got = await root.call('get', `${BASE}/sub-accounts/${created.subAccountId}`).expect(200);
    expect(got.body.memo).to.equal('on call');
  });

  it('answers 404 for an unknown sub account, after authorization', async () => {
    const res = await root.call('get', `${BASE}/sub-accounts/00000000-0000-4000-8000-000000000000`).expect(404);
    expect(res.body.error.errorCode).to.equal('NOT_FOUND');
  });

  describe('authorization by policy', () => {
    it('403 without a matching policy, with no policy internals, and an audit event', async () => {
      const nobody = await subAccountSigner(app, []);
      const res = await nobody.call('get', `${BASE}/sub-accounts`).expect(403);
      expect(res.body.error.errorCode).to.equal('FORBIDDEN');
      expect(JSON.stringify(res.body)).not.to.match(/policyId|permissionIndex|statement/i);
      const denied = await nobody.call('post', `${BASE}/sub-accounts`, { loginId: 'sneaky', name: 'Sneaky', password: 'a long enough password' }).expect(403);
      expect(denied.body.error.errorCode).to.equal('FORBIDDEN');
      expect(await SubAccount.countDocuments({ accountId: ACCOUNT, loginIdKey: 'sneaky' })).to.equal(0);
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, result: 'denied', 'actor.id': nobody.subAccountId })).to.equal(2);
    });

    it('NCP_SUB_ACCOUNT_VIEWER can list and read but not change', async () => {
      const viewer = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
      await viewer.call('get', `${BASE}/sub-accounts`).expect(200);
      await viewer.call('post', `${BASE}/sub-accounts`, { loginId: 'viewer-made', name: 'Nope', password: 'a long enough password' }).expect(403);
    });

    it('an explicit Deny beats an Allow; conditions on the source IP are honoured', async () => {
      const plain = (await root.call('post', `${BASE}/sub-accounts`, { loginId: 'plain', name: 'Plain', password: 'a long enough password' }).expect(201)).body.subAccount;
      const denyOutsideOffice = (cidr: string) => ({
        document: {
          permissions: [
            { effect: 'Deny', targets: [{ product: 'SubAccount', actions: ['Change/updateSubAccount'], resourceNrns: ['*'] }], condition: { NotIpAddress: { 'ncp:SourceIp': [cidr] } } },
          ],
        },
      });
      // requests come from 127.0.0.1: the Deny applies outside 10.0.0.0/8 and not outside 127.0.0.0/8
      const outside = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_MANAGER' }, denyOutsideOffice('10.0.0.0/8')]);
      const inside = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_MANAGER' }, denyOutsideOffice('127.0.0.0/8')]);
      await outside.call('put', `${BASE}/sub-accounts/${plain.subAccountId}`, { memo: 'x' }).expect(403);
      await inside.call('put', `${BASE}/sub-accounts/${plain.subAccountId}`, { memo: 'x' }).expect(200);
    });

    it('fails closed when a statement uses a condition key the action does not support (S1 lists none for Sub Account)', async () => {
      const plain = (await root.call('post', `${BASE}/sub-accounts`, { loginId: 'plain2', name: 'Plain', password: 'a long enough password' }).expect(201)).body.subAccount;
      const sub = await subAccountSigner(app, [
        { managed: 'NCP_SUB_ACCOUNT_MANAGER' },
        { document: { permissions: [{ effect: 'Allow', targets: [{ product: 'SubAccount', actions: ['Change/updateSubAccount'], resourceNrns: ['*'] }], condition: { StringEquals: { 'ncp:resourceTag/env': ['prod'] } } }] } },
      ]);
      await sub.call('put', `${BASE}/sub-accounts/${plain.subAccountId}`, { memo: 'x' }).expect(403);
      await sub.call('get', `${BASE}/sub-accounts/${plain.subAccountId}`).expect(200);
    });

    it('policy changes take effect on the next call (compiled sets are invalidated)', async () => {
      const sub = await subAccountSigner(app, []);
      await sub.call('get', `${BASE}/sub-accounts`).expect(403);
      await root.call('post', `${BASE}/sub-accounts/${sub.subAccountId}/policies`, { policyIds: ['NCP_SUB_ACCOUNT_VIEWER'] }).expect(200);
      await sub.call('get', `${BASE}/sub-accounts`).expect(200);
      await root.call('delete', `${BASE}/sub-accounts/${sub.subAccountId}/policies/NCP_SUB_ACCOUNT_VIEWER`).expect(200);
      await sub.call('get', `${BASE}/sub-accounts`).expect(403);
    });

    it('refuses to attach a policy that does not exist', async () => {
      const sub = await subAccountSigner(app, []);
      const res = await root.call('post', `${BASE}/sub-accounts/${sub.subAccountId}/policies`, { policyIds: ['no-such-policy'] }).expect(400);
      expect(res.body.error.fieldErrors[0].message).to.contain('no-such-policy');
    });
  });

  it('suspension disconnects at once: sessions end and API keys stop working', async () => {
    const sub = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
    await createSession({ accountId: ACCOUNT, kind: 'SubAccount', subAccountId: sub.subAccountId, credentialGeneration: 0, mfa: false, mustChangePassword: false, idleTimeoutSec: 600, sourceIp: '127.0.0.1' });
    expect(await ConsoleSession.countDocuments({ accountId: ACCOUNT, subAccountId: sub.subAccountId })).to.equal(1);
    await sub.call('get', `${BASE}/sub-accounts`).expect(200);
    await root.call('put', `${BASE}/sub-accounts/${sub.subAccountId}/status`, { status: 'suspended' }).expect(200);
    expect(await ConsoleSession.countDocuments({ accountId: ACCOUNT, subAccountId: sub.subAccountId })).to.equal(0);
    const res = await sub.call('get', `${BASE}/sub-accounts`).expect(403);
    expect(res.body.error.detail).to.contain('suspended');
    await root.call('put', `${BASE}/sub-accounts/${sub.subAccountId}/status`, { status: 'active' }).expect(200);
    await sub.call('get', `${BASE}/sub-accounts`).expect(200);
  });

  it('deleting a sub account removes its keys: its signature no longer authenticates', async () => {
    const sub = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
    await root.call('delete', `${BASE}/sub-accounts/${sub.subAccountId}`).expect(204);
    await sub.call('get', `${BASE}/sub-accounts`).expect(401);
    await root.call('get', `${BASE}/sub-accounts/${sub.subAccountId}`).expect(404);
  });

  it('limits are atomic: concurrent takers never overshoot', async () => {
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => acquireQuota(`test:${t.dbName}`, 5, 'things')));
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(5);
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(rejected).to.have.length(7);
    expect(rejected[0]!.reason.code).to.equal('LIMIT_EXCEEDED');
  });
});
