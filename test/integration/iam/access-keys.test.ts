/**
 * Access keys of sub accounts (seed S1 SubAccount group; reference/ncloud-model.md §3): at most
 * 2 per sub account (atomically), the secret shown once and stored only encrypted, status
 * changes and deletion take effect on the next signed request.
 */
import { expect } from 'chai';
import request from 'supertest';
import { AccessKey, accessKeySecretContext } from '../../../src/iam/access-keys/access-key.model.js';
import { ACCESS_KEY_PREFIX } from '../../../src/iam/access-keys/access-key.service.js';
import { STS_KEY_PREFIX } from '../../../src/iam/sts/sts-credential.model.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { testApp, testKeyring } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, signer, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/subaccount';
const UNKNOWN_SUB = '00000000-0000-4000-8000-000000000000';

describe('Sub Account API: access keys', function () {
  this.timeout(30_000);
  useTestDatabase('accesskeys');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;
  let n = 0;

  before(async () => {
    root = await rootSigner(app);
  });

  /** A sub account made through the API (so it holds no fixture key), with API access and the viewer policy. */
  async function newSubAccount(): Promise<string> {
    n++;
    const res = await root
      .call('post', `${BASE}/sub-accounts`, {
        loginId: `keyholder${n}`,
        name: `Key holder ${n}`,
        password: 'a long enough password',
        canAPIGatewayAccess: true,
      })
      .expect(201);
    const id = res.body.subAccount.subAccountId as string;
    await root.call('post', `${BASE}/sub-accounts/${id}/policies`, { policyIds: ['NCP_SUB_ACCOUNT_VIEWER'] }).expect(200);
    return id;
  }

  const keysPath = (subAccountId: string) => `${BASE}/sub-accounts/${subAccountId}/access-keys`;

  it('creates a key: a 20-character id, the secret once in the response, stored only encrypted, audited without it', async () => {
    const subId = await newSubAccount();
    const res = await root.call('post', keysPath(subId)).expect(201);
    expect(res.body.accessKey).to.match(new RegExp(`^${ACCESS_KEY_PREFIX}[A-Z0-9]{16}$`));
    expect(res.body.accessKey.startsWith(STS_KEY_PREFIX)).to.equal(false);
    expect(res.body.secretKey).to.match(/^[A-Za-z0-9]{40}$/);
    expect(res.body).to.include({ status: 'active', lastUseTime: null });
    expect(Date.parse(res.body.createTime)).to.be.closeTo(Date.now(), 60_000);

    const stored = await AccessKey.findOne({ accountId: ACCOUNT, accessKey: res.body.accessKey })
      .select('+secretEncrypted')
      .lean()
      .orFail();
    expect(stored.owner).to.deep.equal({ type: 'subAccount', id: subId });
    expect(stored.secretEncrypted).not.to.contain(res.body.secretKey);
    expect(testKeyring().decrypt(stored.secretEncrypted, accessKeySecretContext(res.body.accessKey))).to.equal(res.body.secretKey);
    // The ciphertext is bound to its key id: copied onto another key it does not decrypt.
    expect(() => testKeyring().decrypt(stored.secretEncrypted, accessKeySecretContext('GHAKOTHERKEY00000000'))).to.throw();

    const list = await root.call('get', keysPath(subId)).expect(200);
    expect(list.body.totalElements).to.equal(1);
    expect(list.body.items).to.deep.equal([
      { accessKey: res.body.accessKey, status: 'active', createTime: res.body.createTime, lastUseTime: null },
    ]);
    expect(JSON.stringify(list.body)).not.to.contain(res.body.secretKey);
    expect(JSON.stringify(list.body)).not.to.match(/secret/i);

    const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/createSubAccountAccessKey', result: 'success' })
      .lean()
      .orFail();
    expect(ev.nrn).to.equal(`nrn:PUB:SubAccount::${ACCOUNT}:SubAccount/${subId}`);
    expect(JSON.stringify(ev)).not.to.contain(res.body.secretKey);
  });

  it('the new key signs requests, and its last use is recorded (at most once a minute)', async () => {
    const subId = await newSubAccount();
    const created = (await root.call('post', keysPath(subId)).expect(201)).body;
    const key = signer(app, created.accessKey, created.secretKey);
    await key.call('get', `${BASE}/sub-accounts?pageSize=1`).expect(200);
    const first = (await root.call('get', keysPath(subId)).expect(200)).body.items[0].lastUseTime as string;
    expect(Date.parse(first)).to.be.closeTo(Date.now(), 60_000);
    await key.call('get', `${BASE}/sub-accounts?pageSize=1`).expect(200);
    const second = (await root.call('get', keysPath(subId)).expect(200)).body.items[0].lastUseTime as string;
    expect(second, 'a use within the minute writes nothing').to.equal(first);
    // Once the recorded use is older than a minute, the next use moves it.
    await AccessKey.updateOne(
      { accountId: ACCOUNT, accessKey: created.accessKey },
      { $set: { lastUsedAt: new Date(Date.now() - 120_000) } },
    );
    await key.call('get', `${BASE}/sub-accounts?pageSize=1`).expect(200);
    const third = (await root.call('get', keysPath(subId)).expect(200)).body.items[0].lastUseTime as string;
    expect(Date.parse(third)).to.be.closeTo(Date.now(), 60_000);
  });

  it('refuses a third key (409 LIMIT_EXCEEDED) and writes nothing; deleting one frees its place', async () => {
    const subId = await newSubAccount();
    const a = (await root.call('post', keysPath(subId)).expect(201)).body;
    await root.call('post', keysPath(subId)).expect(201);
    const third = await root.call('post', keysPath(subId)).expect(409);
    expect(third.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
    expect(third.body.error.detail).to.contain('at most 2');
    expect(await AccessKey.countDocuments({ accountId: ACCOUNT, 'owner.id': subId })).to.equal(2);
    const failed = await HistoryEvent.countDocuments({
      accountId: ACCOUNT,
      action: 'SubAccount:Change/createSubAccountAccessKey',
      result: 'failed',
      errorCode: 'LIMIT_EXCEEDED',
    });
    expect(failed).to.be.at.least(1);

    await root.call('delete', `${keysPath(subId)}/${a.accessKey}`).expect(204);
    await root.call('post', keysPath(subId)).expect(201);
    expect(await AccessKey.countDocuments({ accountId: ACCOUNT, 'owner.id': subId })).to.equal(2);
  });

  it('concurrent creates never make a third key', async () => {
    const subId = await newSubAccount();
    const results = await Promise.all(Array.from({ length: 8 }, () => root.call('post', keysPath(subId))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).to.deep.equal([201, 201, 409, 409, 409, 409, 409, 409]);
    expect(await AccessKey.countDocuments({ accountId: ACCOUNT, 'owner.id': subId })).to.equal(2);
    const slots = (await AccessKey.find({ accountId: ACCOUNT, 'owner.id': subId }).lean()).map((k) => k.slot).sort();
    expect(slots).to.deep.equal(['0', '1']);
  });

  it('deactivating a key stops its signatures at once (401); reactivating restores them', async () => {
    const subId = await newSubAccount();
    const created = (await root.call('post', keysPath(subId)).expect(201)).body;
    const key = signer(app, created.accessKey, created.secretKey);
    const off = await root.call('put', `${keysPath(subId)}/${created.accessKey}`, { status: 'inactive' }).expect(200);
    expect(off.body).to.include({ accessKey: created.accessKey, status: 'inactive' });
    const refused = await key.call('get', `${BASE}/sub-accounts`).expect(401);
    expect(refused.body.error.errorCode).to.equal('UNAUTHENTICATED');
    await root.call('put', `${keysPath(subId)}/${created.accessKey}`, { status: 'active' }).expect(200);
    await key.call('get', `${BASE}/sub-accounts`).expect(200);
  });

  it('rejects a bad status or key id (400, field errors) and changes nothing', async () => {
    const subId = await newSubAccount();
    const created = (await root.call('post', keysPath(subId)).expect(201)).body;
    const bad = await root.call('put', `${keysPath(subId)}/${created.accessKey}`, { status: 'disabled', secretKey: 'x' }).expect(400);
    expect(bad.body.error.errorCode).to.equal('VALIDATION_FAILED');
    expect(bad.body.error.fieldErrors.map((f: { field: string }) => f.field)).to.include('body.status');
    const badId = await root.call('put', `${keysPath(subId)}/not-a-key`, { status: 'inactive' }).expect(400);
    expect(badId.body.error.fieldErrors.map((f: { field: string }) => f.field)).to.include('params.accessKey');
    expect((await AccessKey.findOne({ accountId: ACCOUNT, accessKey: created.accessKey }).lean().orFail()).status).to.equal('active');
  });

  it('deleting a key ends its signatures (401); a second delete is 404', async () => {
    const subId = await newSubAccount();
    const created = (await root.call('post', keysPath(subId)).expect(201)).body;
    const key = signer(app, created.accessKey, created.secretKey);
    await key.call('get', `${BASE}/sub-accounts`).expect(200);
    await root.call('delete', `${keysPath(subId)}/${created.accessKey}`).expect(204);
    await key.call('get', `${BASE}/sub-accounts`).expect(401);
    const again = await root.call('delete', `${keysPath(subId)}/${created.accessKey}`).expect(404);
    expect(again.body.error.errorCode).to.equal('NOT_FOUND');
  });

  it('answers 404 for an unknown sub account, and for a key named under a sub account that does not own it', async () => {
    for (const [method, path] of [
      ['get', keysPath(UNKNOWN_SUB)],
      ['post', keysPath(UNKNOWN_SUB)],
    ] as const) {
      const res = await root.call(method, path).expect(404);
      expect(res.body.error.errorCode).to.equal('NOT_FOUND');
    }
    expect(await AccessKey.countDocuments({ accountId: ACCOUNT, 'owner.id': UNKNOWN_SUB })).to.equal(0);
    const owner = await newSubAccount();
    const other = await newSubAccount();
    const created = (await root.call('post', keysPath(owner)).expect(201)).body;
    await root.call('put', `${keysPath(other)}/${created.accessKey}`, { status: 'inactive' }).expect(404);
    await root.call('delete', `${keysPath(other)}/${created.accessKey}`).expect(404);
    expect((await AccessKey.findOne({ accountId: ACCOUNT, accessKey: created.accessKey }).lean().orFail()).status).to.equal('active');
  });

  it('is gated on the sub account’s NRN: self-service keys through ${ncp:principaluuid}, nobody else’s', async () => {
    const self = `nrn:PUB:SubAccount::${ACCOUNT}:SubAccount/\${ncp:principaluuid}`;
    const actions = [
      'View/getSubAccountAccessKey',
      'Change/createSubAccountAccessKey',
      'Change/deleteSubAccountAccessKey',
      'Change/manageSubAccountAccessKeyState',
    ];
    const selfService = await subAccountSigner(app, [allow(actions, 'SubAccount', [self])]);
    const victim = await newSubAccount();
    const mine = await selfService.call('post', keysPath(selfService.subAccountId)).expect(201);
    await selfService.call('get', keysPath(selfService.subAccountId)).expect(200);
    await selfService.call('put', `${keysPath(selfService.subAccountId)}/${mine.body.accessKey}`, { status: 'inactive' }).expect(200);
    const denied = await selfService.call('post', keysPath(victim)).expect(403);
    expect(denied.body.error.errorCode).to.equal('FORBIDDEN');
    await selfService.call('get', keysPath(victim)).expect(403);
    expect(await AccessKey.countDocuments({ accountId: ACCOUNT, 'owner.id': victim })).to.equal(0);
    // A principal with no access-key action at all
    const viewer = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
    await viewer.call('post', keysPath(victim)).expect(403);
  });

  it('keys outside the per-sub-account limit (root keys, upserted like bootstrap does) never collide on the slot index', async () => {
    for (const accessKey of ['GHROOTBOOTSTRAP00001', 'GHROOTBOOTSTRAP00002']) {
      await AccessKey.updateOne(
        { accountId: ACCOUNT, accessKey },
        {
          $set: { secretEncrypted: testKeyring().encrypt('s', accessKeySecretContext(accessKey)), status: 'active' },
          $setOnInsert: { owner: { type: 'root', id: null } },
        },
        { upsert: true },
      );
    }
    const slots = (
      await AccessKey.find({ accountId: ACCOUNT, accessKey: { $in: ['GHROOTBOOTSTRAP00001', 'GHROOTBOOTSTRAP00002'] } }).lean()
    ).map((k) => k.slot);
    expect(slots).to.have.length(2);
    for (const s of slots) expect(s).to.match(/^free:/);
    expect(slots[0]).not.to.equal(slots[1]);
  });

  it('refuses unauthenticated calls (401, error shape)', async () => {
    const subId = await newSubAccount();
    const res = await request(app).post(keysPath(subId)).expect(401);
    expect(res.body.error.errorCode).to.equal('UNAUTHENTICATED');
    expect(await AccessKey.countDocuments({ accountId: ACCOUNT, 'owner.id': subId })).to.equal(0);
  });
});
