/**
 * security-bar §4 "NoSQL injection" and "Mass assignment": hostile shapes in admin API input are
 * refused at the edge (zod, strict objects, the simple query parser) and never reach a filter or
 * an update; nothing is written.
 */
import { expect } from 'chai';
import { SubAccount } from '../../src/iam/sub-accounts/sub-account.model.js';
import { testApp } from '../helpers/app.js';
import { ACCOUNT, rootSigner, type Signer } from '../helpers/admin.js';
import { useTestDatabase } from '../helpers/db.js';

const BASE = '/api/v1/subaccount/sub-accounts';

describe('security: hostile admin API input', function () {
  this.timeout(30_000);
  useTestDatabase('hostileinput');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;
  let victimId: string;

  before(async () => {
    root = await rootSigner(app);
    victimId = (await root.call('post', BASE, { loginId: 'victim', name: 'Victim', password: 'a long enough password' }).expect(201)).body.subAccount.subAccountId;
  });

  it('refuses operator objects where strings are expected (NoSQL injection) and stores nothing', async () => {
    const res = await root.call('post', BASE, { loginId: { $gt: '' }, name: 'X', password: 'a long enough password' }).expect(400);
    expect(res.body.error.fieldErrors.map((f: { field: string }) => f.field)).to.include('body.loginId');
    expect(await SubAccount.countDocuments({ accountId: ACCOUNT })).to.equal(1);
  });

  it('keeps bracketed query parameters as plain strings (no `?a[$ne]=` objects)', async () => {
    const res = await root.call('get', `${BASE}?searchLoginId[$ne]=nobody`).expect(200);
    // Parsed as the literal key "searchLoginId[$ne]", which is not a filter: the listing is unfiltered, not inverted.
    expect(res.body.totalElements).to.equal(1);
    const injected = await root.call('get', `${BASE}?searchLoginId=${encodeURIComponent('.*')}`).expect(200);
    expect(injected.body.totalElements, 'regex metacharacters are escaped').to.equal(0);
  });

  it('refuses unknown fields instead of assigning them (mass assignment), and refuses owner changes', async () => {
    const res = await root.call('put', `${BASE}/${victimId}`, { memo: 'x', accountId: 999, status: 'active', passwordHash: 'x', policyIds: ['NCP_ADMINISTRATOR'] }).expect(400);
    expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
    const stored = await SubAccount.findOne({ accountId: ACCOUNT, subAccountId: victimId }).orFail();
    expect(stored.memo).to.equal('');
    expect(stored.policyIds).to.deep.equal([]);
  });

  it('does not let __proto__ keys pollute prototypes', async () => {
    await root
      .call('put', `${BASE}/${victimId}`, JSON.parse('{"memo":"ok","__proto__":{"polluted":true}}'))
      .expect((r) => expect([200, 400]).to.include(r.status));
    expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
  });

  it('refuses path ids that are not ids before touching the database', async () => {
    const res = await root.call('get', `${BASE}/${encodeURIComponent('{"$ne":null}')}`).expect(400);
    expect(res.body.error.fieldErrors[0].field).to.equal('params.subAccountId');
  });

  it('answers a deeply nested body with a clear 400, and the process keeps serving', async () => {
    const deep = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
    const res = await root.call('put', `${BASE}/${victimId}`, undefined, { 'Content-Type': 'application/json' }).send(deep);
    expect([400, 413]).to.include(res.status);
    await root.call('get', BASE).expect(200);
  });
});
