/**
 * Signed admin API requests (reference/ncloud-model.md §5; issue 5 "Done when"; security-bar §4
 * "IP allow-list vs X-Forwarded-For" and §6 item 39): Ncloud signature v2 is accepted only when
 * it covers exactly the method, path, query, timestamp (±5 minutes) and an active key; the
 * sub account's apiAllowSources is enforced on the client address seen through trusted proxies
 * only; STS temporary credentials stop at expiry, at suspension and at a password reset.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import type { Express } from 'express';
import request from 'supertest';
import { signRequest } from '../../src/iam/authn/signature.js';
import { StsCredential } from '../../src/iam/sts/sts-credential.model.js';
import { SubAccount } from '../../src/iam/sub-accounts/sub-account.model.js';
import { testApp } from '../helpers/app.js';
import { ACCOUNT, allow, rootSigner, signer, subAccountSigner, type Signer, type TestSubAccount } from '../helpers/admin.js';
import { useTestDatabase } from '../helpers/db.js';

const BASE = '/api/v1/subaccount';
const LIST = `${BASE}/sub-accounts?pageSize=1`;
const MINUTE = 60_000;

interface RawSigned {
  key: string;
  secret: string;
  method?: 'get' | 'post' | 'put' | 'delete';
  path: string;
  /** What the signature covers, when it differs from what is sent. */
  signMethod?: string;
  signPath?: string;
  timestamp?: string;
  omit?: 'signature' | 'timestamp';
}

/** A request signed the way an API client signs it, with each part open to tampering. */
function rawSigned(app: Express, r: RawSigned): request.Test {
  const method = r.method ?? 'get';
  const ts = r.timestamp ?? String(Date.now());
  const sig = signRequest(r.secret, r.signMethod ?? method.toUpperCase(), r.signPath ?? r.path, ts, r.key);
  let t = request(app)[method](r.path).set('x-ncp-iam-access-key', r.key);
  if (r.omit !== 'timestamp') t = t.set('x-ncp-apigw-timestamp', ts);
  if (r.omit !== 'signature') t = t.set('x-ncp-apigw-signature-v2', sig);
  return t;
}

function expectUnauthenticated(res: request.Response): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(401);
  expect(res.body).to.have.all.keys('error');
  expect(res.body.error).to.include({ errorCode: 'UNAUTHENTICATED' });
  expect(res.body.error).to.have.all.keys('errorCode', 'message', 'detail', 'fieldErrors');
  expect(res.body.error.fieldErrors).to.deep.equal([]);
}

function expectForbidden(res: request.Response): void {
  expect(res.status, JSON.stringify(res.body)).to.equal(403);
  expect(res.body.error).to.include({ errorCode: 'FORBIDDEN' });
  expect(res.body.error).to.have.all.keys('errorCode', 'message', 'detail', 'fieldErrors');
}

describe('security: signed API requests (signature v2, apiAllowSources, STS lifetime)', function () {
  this.timeout(30_000);
  useTestDatabase('signature');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;
  let sub: TestSubAccount;

  before(async () => {
    root = await rootSigner(app);
    sub = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
  });

  describe('signature v2', () => {
    it('accepts a correctly signed request', async () => {
      await rawSigned(app, { key: sub.accessKey, secret: sub.secret, path: LIST }).expect(200);
    });

    const tampered: [string, (s: TestSubAccount) => Partial<RawSigned>][] = [
      ['a wrong secret', () => ({ secret: randomBytes(30).toString('base64url') })],
      ['a changed path', (s) => ({ path: `${BASE}/sub-accounts/${s.subAccountId}`, signPath: LIST })],
      ['a changed query', () => ({ path: `${BASE}/sub-accounts?pageSize=2`, signPath: LIST })],
      ['an added query', () => ({ path: `${LIST}&searchLoginId=root`, signPath: LIST })],
      [
        'a changed method',
        (s) => ({
          method: 'delete',
          path: `${BASE}/sub-accounts/${s.subAccountId}`,
          signPath: `${BASE}/sub-accounts/${s.subAccountId}`,
          signMethod: 'GET',
        }),
      ],
      ['a timestamp 6 minutes in the past', () => ({ timestamp: String(Date.now() - 6 * MINUTE) })],
      ['a timestamp 6 minutes in the future', () => ({ timestamp: String(Date.now() + 6 * MINUTE) })],
      ['a malformed timestamp', () => ({ timestamp: new Date().toISOString() })],
      ['a timestamp in seconds, not milliseconds', () => ({ timestamp: String(Math.floor(Date.now() / 1000)) })],
      ['an unknown key', () => ({ key: 'GHAKUNKNOWN000000000' })],
      ['a missing signature header', () => ({ omit: 'signature' })],
      ['a missing timestamp header', () => ({ omit: 'timestamp' })],
    ];
    for (const [what, change] of tampered) {
      it(`rejects ${what} (401, error shape)`, async () => {
        expectUnauthenticated(await rawSigned(app, { key: sub.accessKey, secret: sub.secret, path: LIST, ...change(sub) }));
      });
    }

    it('a signature for a GET replayed as DELETE changes nothing', async () => {
      const victim = await subAccountSigner(app, []);
      const path = `${BASE}/sub-accounts/${victim.subAccountId}`;
      expectUnauthenticated(await rawSigned(app, { key: root.accessKey, secret: root.secret, path, method: 'delete', signMethod: 'GET' }));
      expect(await SubAccount.countDocuments({ accountId: ACCOUNT, subAccountId: victim.subAccountId })).to.equal(1);
    });

    it('accepts a timestamp 4 minutes off either way (inside the ±5 minute window)', async () => {
      await rawSigned(app, { key: sub.accessKey, secret: sub.secret, path: LIST, timestamp: String(Date.now() - 4 * MINUTE) }).expect(200);
      await rawSigned(app, { key: sub.accessKey, secret: sub.secret, path: LIST, timestamp: String(Date.now() + 4 * MINUTE) }).expect(200);
    });

    it('rejects a key made inactive through the API (401), and accepts it again once reactivated', async () => {
      const holder = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
      const keyPath = `${BASE}/sub-accounts/${holder.subAccountId}/access-keys/${holder.accessKey}`;
      await root.call('put', keyPath, { status: 'inactive' }).expect(200);
      expectUnauthenticated(await holder.call('get', LIST));
      await root.call('put', keyPath, { status: 'active' }).expect(200);
      await holder.call('get', LIST).expect(200);
    });
  });

  describe('apiAllowSources and X-Forwarded-For', () => {
    const allowSources = (s: TestSubAccount, apiAllowSources: string[]) =>
      root.call('put', `${BASE}/sub-accounts/${s.subAccountId}/allow-sources`, { useApiAllowSource: true, apiAllowSources }).expect(200);

    it('refuses a source outside apiAllowSources (403) and accepts one inside (200)', async () => {
      const limited = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }], { apiAllowSources: ['203.0.113.0/24'] });
      const res = await limited.call('get', LIST);
      expectForbidden(res);
      expect(res.body.error.detail).to.contain('apiAllowSources');
      await allowSources(limited, ['127.0.0.1']);
      await limited.call('get', LIST).expect(200);
    });

    it('with the default TRUST_PROXY=false, X-Forwarded-For cannot claim an allowed address (403)', async () => {
      const limited = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
      await allowSources(limited, ['198.51.100.7']);
      expectForbidden(await limited.call('get', LIST, undefined, { 'X-Forwarded-For': '198.51.100.7' }));
      expectForbidden(await limited.call('get', LIST, undefined, { 'X-Forwarded-For': '198.51.100.7, 198.51.100.7' }));
    });

    it('with TRUST_PROXY=1, the hop the proxy appended counts, not a client-supplied left-most entry', async () => {
      const behindProxy = testApp({ env: { TRUST_PROXY: '1' }, db: { ping: async () => true } });
      const limited = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
      await allowSources(limited, ['198.51.100.7']);
      const viaProxy = signer(behindProxy, limited.accessKey, limited.secret);
      // The client is 198.51.100.7; whatever it put in front, the proxy appended its address last.
      await viaProxy.call('get', LIST, undefined, { 'X-Forwarded-For': '203.0.113.66, 198.51.100.7' }).expect(200);
      // The client is 203.0.113.66 and forged the allowed address in front: refused.
      expectForbidden(await viaProxy.call('get', LIST, undefined, { 'X-Forwarded-For': '198.51.100.7, 203.0.113.66' }));
    });
  });

  describe('STS temporary credentials', () => {
    async function withTemporaryCredentials(): Promise<{ owner: TestSubAccount; temp: Signer }> {
      const owner = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }, allow(['View/getStsSessionToken'])]);
      const { accessKey, keySecret } = (await owner.call('post', '/api/v1/sts/credentials', {}).expect(200)).body;
      const temp = signer(app, accessKey, keySecret);
      await temp.call('get', LIST).expect(200);
      return { owner, temp };
    }

    it('are signed like access keys: a wrong secret or a changed query is refused', async () => {
      const { temp } = await withTemporaryCredentials();
      expectUnauthenticated(await rawSigned(app, { key: temp.accessKey, secret: randomBytes(30).toString('base64url'), path: LIST }));
      expectUnauthenticated(
        await rawSigned(app, { key: temp.accessKey, secret: temp.secret, path: `${BASE}/sub-accounts?pageSize=3`, signPath: LIST }),
      );
    });

    it('stop at expiry', async () => {
      const { temp } = await withTemporaryCredentials();
      // Time is simulated by moving the expiry into the past in the database.
      await StsCredential.updateOne(
        { accountId: ACCOUNT, accessKey: temp.accessKey },
        { $set: { expiresAt: new Date(Date.now() - 1000) } },
      );
      expectUnauthenticated(await temp.call('get', LIST));
    });

    it('stop when the sub account is suspended through the API, and stay dead after reactivation', async () => {
      const { owner, temp } = await withTemporaryCredentials();
      await root.call('put', `${BASE}/sub-accounts/${owner.subAccountId}/status`, { status: 'suspended' }).expect(200);
      const suspended = await temp.call('get', LIST);
      expectForbidden(suspended);
      expect(suspended.body.error.detail).to.contain('suspended');
      await root.call('put', `${BASE}/sub-accounts/${owner.subAccountId}/status`, { status: 'active' }).expect(200);
      expectUnauthenticated(await temp.call('get', LIST));
      // The long-term key works again; only what was issued before the suspension is revoked.
      await owner.call('get', LIST).expect(200);
    });

    it('stop when the sub account’s password is reset', async () => {
      const { owner, temp } = await withTemporaryCredentials();
      await root.call('post', `${BASE}/sub-accounts/${owner.subAccountId}/password-reset`, { needPasswordGenerate: true }).expect(200);
      const res = await temp.call('get', LIST);
      expectUnauthenticated(res);
      expect(res.body.error.detail).to.contain('revoked');
      // Credentials issued after the reset carry the new generation and work.
      const fresh = (await owner.call('post', '/api/v1/sts/credentials', {}).expect(200)).body;
      await signer(app, fresh.accessKey, fresh.keySecret).call('get', LIST).expect(200);
    });

    it('stop when the sub account is deleted', async () => {
      const { owner, temp } = await withTemporaryCredentials();
      await root.call('delete', `${BASE}/sub-accounts/${owner.subAccountId}`).expect(204);
      expectUnauthenticated(await temp.call('get', LIST));
    });
  });
});
