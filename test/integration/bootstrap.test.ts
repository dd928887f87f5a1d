import { expect } from 'chai';
import { AccessKey, accessKeySecretContext } from '../../src/iam/access-keys/access-key.model.js';
import { Account } from '../../src/iam/accounts/account.model.js';
import { bootstrap, MAIN_ACCOUNT_MEMBER_NO } from '../../src/iam/bootstrap.js';
import { verifyPassword } from '../../src/shared/password-hash.js';
import { silentLogger, testConfig, testKeyring } from '../helpers/app.js';
import { useTestDatabase } from '../helpers/db.js';

describe('bootstrap of the main account', function () {
  this.timeout(30_000);
  useTestDatabase('bootstrap');
  const keyring = testKeyring();

  it('creates the main account once with the given root password, even when started concurrently', async () => {
    const config = testConfig({ GATEHOUSE_ROOT_PASSWORD: 'correct horse battery staple' });
    const results = await Promise.all([bootstrap(config, keyring, silentLogger), bootstrap(config, keyring, silentLogger), bootstrap(config, keyring, silentLogger)]);
    expect(results.filter((r) => r.created)).to.have.length(1);
    expect(results.every((r) => r.generatedPassword === undefined)).to.equal(true);
    expect(await Account.countDocuments({})).to.equal(1);
    const acc = await Account.findOne({ memberNo: MAIN_ACCOUNT_MEMBER_NO }).select('+rootPasswordHash').orFail();
    expect(await verifyPassword(acc.rootPasswordHash, 'correct horse battery staple')).to.equal(true);
    expect(await verifyPassword(acc.rootPasswordHash, 'correct horse battery stapl')).to.equal(false);
    expect(acc.rootPasswordGenerated).to.equal(false);
  });

  it('is idempotent: a restart with another password does not overwrite the account', async () => {
    const res = await bootstrap(testConfig({ GATEHOUSE_ROOT_PASSWORD: 'another password 123' }), keyring, silentLogger);
    expect(res.created).to.equal(false);
    const acc = await Account.findOne({ memberNo: MAIN_ACCOUNT_MEMBER_NO }).select('+rootPasswordHash').orFail();
    expect(await verifyPassword(acc.rootPasswordHash, 'correct horse battery staple')).to.equal(true);
  });

  it('stores the configured root access key with its secret encrypted, and follows a changed secret', async () => {
    const env = { GATEHOUSE_ROOT_ACCESS_KEY: 'GHTESTACCESSKEY00001', GATEHOUSE_ROOT_SECRET_KEY: 'a'.repeat(40) };
    await bootstrap(testConfig(env), keyring, silentLogger);
    await bootstrap(testConfig(env), keyring, silentLogger);
    const keys = await AccessKey.find({ accountId: MAIN_ACCOUNT_MEMBER_NO }).select('+secretEncrypted');
    expect(keys).to.have.length(1);
    const key = keys[0]!;
    expect(key.owner?.type).to.equal('root');
    expect(key.secretEncrypted).not.to.contain('a'.repeat(40));
    expect(keyring.decrypt(key.secretEncrypted, accessKeySecretContext('GHTESTACCESSKEY00001'))).to.equal('a'.repeat(40));

    await bootstrap(testConfig({ ...env, GATEHOUSE_ROOT_SECRET_KEY: 'b'.repeat(40) }), keyring, silentLogger);
    const rotated = await AccessKey.findOne({ accountId: MAIN_ACCOUNT_MEMBER_NO, accessKey: 'GHTESTACCESSKEY00001' }).select('+secretEncrypted').orFail();
    expect(keyring.decrypt(rotated.secretEncrypted, accessKeySecretContext('GHTESTACCESSKEY00001'))).to.equal('b'.repeat(40));
  });

  it('generates a strong password when none is configured and reports it once', async () => {
    await Account.deleteMany({ memberNo: MAIN_ACCOUNT_MEMBER_NO });
    const first = await bootstrap(testConfig(), keyring, silentLogger);
    expect(first.generatedPassword).to.match(/^[A-Za-z0-9_-]{24}$/);
    const second = await bootstrap(testConfig(), keyring, silentLogger);
    expect(second.generatedPassword).to.equal(undefined);
    const acc = await Account.findOne({ memberNo: MAIN_ACCOUNT_MEMBER_NO }).select('+rootPasswordHash').orFail();
    expect(acc.rootPasswordGenerated).to.equal(true);
    expect(await verifyPassword(acc.rootPasswordHash, first.generatedPassword!)).to.equal(true);
  });
});
