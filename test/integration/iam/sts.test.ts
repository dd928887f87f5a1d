/**
 * STS temporary credentials (reference/ncloud-model.md §3 "STS"; seed S1 View/getStsSessionToken):
 * who may obtain them, the request and response shapes, MFA with replay protection and an
 * attempt limit, and `ncp:MultiFactorAuthPresent` on the credentials. Expiry and revocation on
 * suspension and password reset are in test/security/signature.test.ts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { MFA_MAX_FAILURES } from '../../../src/iam/sts/totp-guard.model.js';
import { STS_KEY_PREFIX, StsCredential, stsSecretContext } from '../../../src/iam/sts/sts-credential.model.js';
import { totpCode, newTotpSecret, TOTP_PERIOD_SEC } from '../../../src/iam/mfa/totp.js';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { Role } from '../../../src/iam/roles/role.model.js';
import { SubAccount, subAccountMfaContext } from '../../../src/iam/sub-accounts/sub-account.model.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { testApp, testKeyring } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, signer, subAccountSigner, type Signer, type TestSubAccount } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const STS = '/api/v1/sts/credentials';
const LIST = '/api/v1/subaccount/sub-accounts?pageSize=1';
const ACTION = 'SubAccount:View/getStsSessionToken';

/** A policy allowing View/getSubAccountList only when MFA was presented. */
const listOnlyWithMfa = {
  document: {
    permissions: [
      {
        effect: 'Allow',
        targets: [{ product: 'SubAccount', actions: ['View/getSubAccountList'], resourceNrns: ['*'] }],
        condition: { Bool: { 'ncp:MultiFactorAuthPresent': ['true'] } },
      },
    ],
  },
};

describe('STS: temporary credentials', function () {
  this.timeout(30_000);
  useTestDatabase('sts');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;

  before(async () => {
    root = await rootSigner(app);
  });

  const stsUser = (extra: Parameters<typeof subAccountSigner>[1] = [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]) =>
    subAccountSigner(app, [allow(['View/getStsSessionToken']), ...extra]);

  async function enrollMfa(sub: TestSubAccount): Promise<string> {
    const secret = newTotpSecret();
    await SubAccount.updateOne(
      { accountId: ACCOUNT, subAccountId: sub.subAccountId },
      {
        $set: {
          mfaSecretEncrypted: testKeyring().encrypt(secret, subAccountMfaContext(sub.subAccountId)),
          mfaEnabled: true,
          mfaLastStep: 0,
        },
      },
    );
    return secret;
  }

  /** A 6-digit code valid in none of the steps the server accepts now. */
  async function wrongCode(secret: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const valid = new Set(await Promise.all([-2, -1, 0, 1, 2].map((d) => totpCode(secret, now + d * TOTP_PERIOD_SEC))));
    let c = 123456;
    while (valid.has(String(c).padStart(6, '0'))) c = (c + 7919) % 1_000_000;
    return String(c).padStart(6, '0');
  }

  const credentialsOf = (sub: TestSubAccount) =>
    StsCredential.countDocuments({ accountId: ACCOUNT, subAccountId: sub.subAccountId }).setOptions({ includeExpired: true });

  it('issues credentials: Ncloud’s response shape, default 3600 s, secret shown once and stored encrypted with the generation', async () => {
    const sub = await stsUser();
    const res = await sub.call('post', STS, {}).expect(200);
    expect(Object.keys(res.body).sort()).to.deep.equal(['accessKey', 'createTime', 'expireTime', 'keySecret', 'useMfa']);
    expect(res.body.accessKey).to.match(new RegExp(`^${STS_KEY_PREFIX}[A-Z0-9]{15}$`));
    expect(res.body.keySecret).to.match(/^[A-Za-z0-9]{40}$/);
    expect(res.body.useMfa).to.equal(false);
    expect(Date.parse(res.body.expireTime) - Date.parse(res.body.createTime)).to.equal(3600_000);
    expect(Date.parse(res.body.createTime)).to.be.closeTo(Date.now(), 60_000);

    const stored = await StsCredential.findOne({ accountId: ACCOUNT, accessKey: res.body.accessKey })
      .select('+secretEncrypted')
      .lean()
      .orFail();
    expect(stored).to.include({ subAccountId: sub.subAccountId, subAccountGeneration: 0, useMfa: false, roleId: null });
    expect(stored.expiresAt.toISOString()).to.equal(res.body.expireTime);
    expect(stored.secretEncrypted).not.to.contain(res.body.keySecret);
    expect(testKeyring().decrypt(stored.secretEncrypted, stsSecretContext(res.body.accessKey))).to.equal(res.body.keySecret);

    const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: ACTION, 'actor.id': sub.subAccountId }).lean().orFail();
    expect(ev).to.include({ result: 'success', nrn: `nrn:PUB:SubAccount::${ACCOUNT}:SubAccount/${sub.subAccountId}` });
    expect(JSON.stringify(ev)).not.to.contain(res.body.keySecret);
  });

  it('the credentials sign requests as the sub account, with its policies', async () => {
    const sub = await stsUser();
    const { accessKey, keySecret } = (await sub.call('post', STS, { durationSec: 900 }).expect(200)).body;
    const temp = signer(app, accessKey, keySecret);
    await temp.call('get', LIST).expect(200);
    await temp
      .call('post', '/api/v1/subaccount/sub-accounts', { loginId: 'viewer-cannot', name: 'Nope', password: 'a long enough password' })
      .expect(403);
  });

  it('takes durationSec 600-43200 and rejects anything else (400, field error) without storing', async () => {
    const sub = await stsUser();
    const min = (await sub.call('post', STS, { durationSec: 600 }).expect(200)).body;
    expect(Date.parse(min.expireTime) - Date.parse(min.createTime)).to.equal(600_000);
    const max = (await sub.call('post', STS, { durationSec: 43_200 }).expect(200)).body;
    expect(Date.parse(max.expireTime) - Date.parse(max.createTime)).to.equal(43_200_000);
    for (const body of [
      { durationSec: 599 },
      { durationSec: 43_201 },
      { durationSec: 1800.5 },
      { durationSec: '3600' },
      { durationSec: 3600, expireTime: 'never' },
    ]) {
      const res = await sub.call('post', STS, body).expect(400);
      expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
      expect(res.body.error.fieldErrors[0].field).to.match(/^body/);
    }
    expect(await credentialsOf(sub)).to.equal(2);
  });

  it('refuses the main account (403, clear message)', async () => {
    const res = await root.call('post', STS, {}).expect(403);
    expect(res.body.error.errorCode).to.equal('FORBIDDEN');
    expect(res.body.error.detail).to.contain('sub accounts only');
    expect(await StsCredential.countDocuments({ accountId: ACCOUNT, subAccountId: null })).to.equal(0);
  });

  it('refuses a sub account without View/getStsSessionToken (403)', async () => {
    const sub = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
    const res = await sub.call('post', STS, {}).expect(403);
    expect(res.body.error.errorCode).to.equal('FORBIDDEN');
    expect(await credentialsOf(sub)).to.equal(0);
  });

  it('refuses temporary credentials asking for more (no renewal past expiry)', async () => {
    const sub = await stsUser();
    const { accessKey, keySecret } = (await sub.call('post', STS, {}).expect(200)).body;
    const res = await signer(app, accessKey, keySecret).call('post', STS, {}).expect(403);
    expect(res.body.error.detail).to.contain('cannot be used to obtain new ones');
    expect(await credentialsOf(sub)).to.equal(1);
  });

  it('refuses a role session (no role chaining)', async () => {
    const sub = await stsUser();
    const policyId = randomUUID();
    const name = `sts${randomBytes(4).toString('hex')}`;
    await Policy.create({ accountId: ACCOUNT, policyId, name, nameKey: name, document: allow(['View/getStsSessionToken']).document });
    const roleId = randomUUID();
    await Role.create({
      accountId: ACCOUNT,
      roleId,
      roleName: 'chainer',
      roleNameKey: 'chainer',
      roleType: 'Account',
      policyIds: [policyId],
      targetAccounts: [ACCOUNT],
    });
    // Role STS credentials as a role switch issues them (authenticate.ts resolves them to the role).
    const accessKey = `${STS_KEY_PREFIX}ROLE${randomBytes(6).toString('hex').toUpperCase()}`.slice(0, 20);
    const secret = randomBytes(30).toString('base64url');
    await StsCredential.create({
      accountId: ACCOUNT,
      accessKey,
      secretEncrypted: testKeyring().encrypt(secret, stsSecretContext(accessKey)),
      subAccountId: sub.subAccountId,
      roleId,
      sourceIdentityType: 'SubAccount',
      expiresAt: new Date(Date.now() + 600_000),
    });
    const before = await StsCredential.countDocuments({ accountId: ACCOUNT });
    const res = await signer(app, accessKey, secret).call('post', STS, {}).expect(403);
    expect(res.body.error.detail).to.contain('role session');
    expect(await StsCredential.countDocuments({ accountId: ACCOUNT })).to.equal(before);
  });

  it('refuses a sub account without API access (the credentials could never be used)', async () => {
    const sub = await stsUser();
    await SubAccount.updateOne({ accountId: ACCOUNT, subAccountId: sub.subAccountId }, { $set: { canAPIGatewayAccess: false } });
    // Its key is refused by authentication already; the service refuses too (console callers).
    const res = await sub.call('post', STS, {}).expect(403);
    expect(res.body.error.detail).to.contain('API access');
    expect(await credentialsOf(sub)).to.equal(0);
  });

  describe('MFA', () => {
    it('a valid code gives useMfa credentials: allowed by a Bool ncp:MultiFactorAuthPresent policy, which denies the plain key and plain STS', async () => {
      const sub = await stsUser([listOnlyWithMfa]);
      const secret = await enrollMfa(sub);
      const serialNumber = `nrn:PUB:SubAccount::${ACCOUNT}:SubAccount/${sub.subAccountId}`;
      const withMfa = (await sub.call('post', STS, { serialNumber, tokenCode: await totpCode(secret) }).expect(200)).body;
      expect(withMfa.useMfa).to.equal(true);
      const stored = await StsCredential.findOne({ accountId: ACCOUNT, accessKey: withMfa.accessKey }).lean().orFail();
      expect(stored.useMfa).to.equal(true);
      await signer(app, withMfa.accessKey, withMfa.keySecret).call('get', LIST).expect(200);

      const denied = await sub.call('get', LIST).expect(403);
      expect(denied.body.error.errorCode).to.equal('FORBIDDEN');
      const plain = (await sub.call('post', STS, {}).expect(200)).body;
      expect(plain.useMfa).to.equal(false);
      await signer(app, plain.accessKey, plain.keySecret).call('get', LIST).expect(403);
    });

    it('a wrong code is 401, stores nothing, and is audited as a failure', async () => {
      const sub = await stsUser();
      const secret = await enrollMfa(sub);
      const res = await sub.call('post', STS, { tokenCode: await wrongCode(secret) }).expect(401);
      expect(res.body.error.errorCode).to.equal('UNAUTHENTICATED');
      expect(await credentialsOf(sub)).to.equal(0);
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: ACTION, 'actor.id': sub.subAccountId }).lean().orFail();
      expect(ev).to.include({ result: 'failed', errorCode: 'UNAUTHENTICATED' });
    });

    it('a code is accepted once: a replay is 401, and of two concurrent uses exactly one succeeds', async () => {
      const sub = await stsUser();
      const secret = await enrollMfa(sub);
      const code = await totpCode(secret);
      await sub.call('post', STS, { tokenCode: code }).expect(200);
      const replay = await sub.call('post', STS, { tokenCode: code }).expect(401);
      expect(replay.body.error.errorCode).to.equal('UNAUTHENTICATED');
      expect(await credentialsOf(sub)).to.equal(1);

      const other = await stsUser();
      const otherSecret = await enrollMfa(other);
      const shared = await totpCode(otherSecret);
      const both = await Promise.all([other.call('post', STS, { tokenCode: shared }), other.call('post', STS, { tokenCode: shared })]);
      expect(both.map((r) => r.status).sort()).to.deep.equal([200, 401]);
      expect(await credentialsOf(other)).to.equal(1);
    });

    it('an earlier step cannot be used after a later one (the last step only moves forward)', async () => {
      const sub = await stsUser();
      const secret = await enrollMfa(sub);
      const now = Math.floor(Date.now() / 1000);
      await sub.call('post', STS, { tokenCode: await totpCode(secret, now + TOTP_PERIOD_SEC) }).expect(200);
      await sub.call('post', STS, { tokenCode: await totpCode(secret, now) }).expect(401);
    });

    it('refuses a code when the sub account has no MFA device (401)', async () => {
      const sub = await stsUser();
      const res = await sub.call('post', STS, { tokenCode: '123456' }).expect(401);
      expect(res.body.error.detail).to.contain('no MFA device');
      expect(await credentialsOf(sub)).to.equal(0);
    });

    it('serialNumber must name the caller’s device and needs a tokenCode (400)', async () => {
      const sub = await stsUser();
      const secret = await enrollMfa(sub);
      const wrongDevice = await sub
        .call('post', STS, { serialNumber: `nrn:PUB:SubAccount::${ACCOUNT}:SubAccount/${randomUUID()}`, tokenCode: await totpCode(secret) })
        .expect(400);
      expect(wrongDevice.body.error.fieldErrors[0].field).to.equal('body.serialNumber');
      const noCode = await sub
        .call('post', STS, { serialNumber: `nrn:PUB:SubAccount::${ACCOUNT}:SubAccount/${sub.subAccountId}` })
        .expect(400);
      expect(noCode.body.error.fieldErrors[0].field).to.equal('body.tokenCode');
      const malformed = await sub.call('post', STS, { tokenCode: '12ab56' }).expect(400);
      expect(malformed.body.error.fieldErrors[0].field).to.equal('body.tokenCode');
      expect(await credentialsOf(sub)).to.equal(0);
      // The code was not consumed by the refused calls.
      await sub.call('post', STS, { tokenCode: await totpCode(secret) }).expect(200);
    });

    it('parallel guesses cannot exceed the attempt limit', async () => {
      const sub = await stsUser();
      const secret = await enrollMfa(sub);
      const bad = await wrongCode(secret);
      const results = await Promise.all(Array.from({ length: 2 * MFA_MAX_FAILURES }, () => sub.call('post', STS, { tokenCode: bad })));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((x) => x === 401)).to.have.length(MFA_MAX_FAILURES);
      expect(statuses.filter((x) => x === 429)).to.have.length(MFA_MAX_FAILURES);
    });

    it(`locks the factor after ${MFA_MAX_FAILURES} wrong codes (429, even for a right code) until the window ends`, async () => {
      const sub = await stsUser();
      const secret = await enrollMfa(sub);
      const bad = await wrongCode(secret);
      for (let i = 0; i < MFA_MAX_FAILURES; i++) await sub.call('post', STS, { tokenCode: bad }).expect(401);
      const locked = await sub.call('post', STS, { tokenCode: await totpCode(secret) }).expect(429);
      expect(locked.body.error.errorCode).to.equal('RATE_LIMITED');
      expect(await credentialsOf(sub)).to.equal(0);
      // Another sub account's factor is not affected.
      const other = await stsUser();
      await other.call('post', STS, { tokenCode: await totpCode(await enrollMfa(other)) }).expect(200);
      // When the window has passed (moved back in the database to simulate time), codes work again.
      const attempts = mongoose.connection.collection('totp_attempts');
      const factor = { accountId: ACCOUNT, factor: `SubAccount:${sub.subAccountId}` };
      expect(await attempts.countDocuments(factor)).to.equal(MFA_MAX_FAILURES);
      await attempts.updateMany(factor, { $set: { expiresAt: new Date(Date.now() - 1000) } });
      await sub.call('post', STS, { tokenCode: await totpCode(secret) }).expect(200);
      expect(await credentialsOf(sub)).to.equal(1);
      // A right code frees every slot.
      expect(await attempts.countDocuments(factor)).to.equal(0);
    });
  });
});
