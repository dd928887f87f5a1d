/**
 * The SSO user API (seed S4 "User" actions) through signed requests against the real engine:
 * CRUD and input rules, case-insensitive login ids under concurrent creates, the tenant's user
 * limit, bulk create and bulk delete with per-row authorization and results, status, tags and tag
 * conditions, allowed source IPs, the admin TOTP device, active sessions, membership from the
 * user's side, 403s with nothing written, and isolation between accounts (security-bar §4, §6
 * items 35-37, 41-42, 45-46).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { newTotpSecret, totpCode } from '../../../src/iam/mfa/totp.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { quotaUsed } from '../../../src/shared/quota.js';
import { verifyPassword } from '../../../src/shared/password-hash.js';
import { SsoGroup } from '../../../src/sso/groups/group.model.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { SsoUser, ssoUserMfaContext, ssoUserQuotaKey } from '../../../src/sso/users/user.model.js';
import { ACCOUNT, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { testApp, testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/sso';
const OTHER_ACCOUNT = 2000002;
const LIMITED_ACCOUNT = 2000003;
const NO_TENANT_ACCOUNT = 2000004;

type Body = { error: { errorCode: string; fieldErrors: { field: string; message: string }[] } };
const fieldsOf = (body: Body) => body.error.fieldErrors.map((f) => f.field);
const tags = (o: Record<string, string>) => Object.entries(o).map(([key, value]) => ({ key, value }));

/** The account's tenant, created directly (the tenant API is another route file's subject). */
async function seedTenant(accountId: number, extra: Record<string, unknown> = {}): Promise<string> {
  const tenantId = randomUUID();
  const alias = `t${accountId}`;
  await Tenant.create({ accountId, tenantId, tenantAlias: alias, aliasKey: alias, termsAcceptedAt: new Date(), ...extra });
  return tenantId;
}

/** A policy document allowing these SSO actions, optionally on given NRNs and with a condition. */
function ssoPolicy(actions: string[], opts: { nrns?: string[]; condition?: unknown; effect?: 'Allow' | 'Deny' } = {}) {
  return {
    document: {
      permissions: [
        {
          effect: opts.effect ?? 'Allow',
          targets: [{ product: 'SSO', actions, resourceNrns: opts.nrns ?? ['*'] }],
          ...(opts.condition ? { condition: opts.condition } : {}),
        },
      ],
    },
  };
}

describe('SSO API: users', function () {
  this.timeout(60_000);
  useTestDatabase('ssousers');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;
  let tenantId: string;

  before(async () => {
    root = await rootSigner(app);
    tenantId = await seedTenant(ACCOUNT);
  });

  const createUser = async (loginId: string, extra: Record<string, unknown> = {}) =>
    (await root.call('post', `${BASE}/users`, { loginId, ...extra }).expect(201)).body as { userId: string; nrn: string; loginId: string };
  const storedUser = (userId: string) => SsoUser.findOne({ tenantId, userId }).select('+passwordHash +mfaSecretEncrypted').lean();
  const userCount = () => SsoUser.countDocuments({ tenantId });

  describe('create, read, update, delete', () => {
    it('creates a user with the Ncloud profile, counts it against the limit and audits the NRN it made', async () => {
      const before = await quotaUsed(ssoUserQuotaKey(tenantId));
      const res = await root
        .call('post', `${BASE}/users`, {
          loginId: 'Alice.Kim@Example.com',
          description: 'platform team',
          userProfile: { firstName: 'Alice', lastName: 'Kim', email: 'alice@example.com', emailVerified: true, phoneCountryCode: '+82', phoneNo: '010-1234-5678', deptName: 'Platform' },
          accessRules: { consoleAccessAllowed: true, apiAccessAllowed: true },
          tags: tags({ team: 'a' }),
        })
        .expect(201);
      const u = res.body;
      expect(u.loginId).to.equal('Alice.Kim@Example.com');
      expect(u.nrn).to.equal(`nrn:PUB:SSO::${ACCOUNT}:User/${u.userId}`);
      expect(u).to.include({ status: 'ACTIVATED', description: 'platform team', mfaEnabled: false, passwordSet: false });
      expect(u.userProfile).to.deep.equal({
        firstName: 'Alice',
        lastName: 'Kim',
        email: 'alice@example.com',
        emailVerified: true,
        empNo: '',
        phoneCountryCode: '+82',
        phoneNo: '010-1234-5678',
        phoneNoVerified: false,
        deptName: 'Platform',
      });
      expect(u.accessRules).to.deep.equal({ consoleAccessAllowed: true, apiAccessAllowed: true });
      expect(u.tags).to.deep.equal(tags({ team: 'a' }));
      const stored = await storedUser(u.userId);
      expect(stored).to.include({ accountId: ACCOUNT, tenantId, loginIdKey: 'alice.kim@example.com' });
      expect(await quotaUsed(ssoUserQuotaKey(tenantId))).to.equal(before + 1);
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SSO:change/createUser', nrn: u.nrn }).orFail().lean();
      expect(ev.result).to.equal('success');
    });

    it('stores an optional initial password as argon2id and never returns it', async () => {
      const res = await root.call('post', `${BASE}/users`, { loginId: 'robot@example.com', password: 'correct horse battery staple' }).expect(201);
      expect(res.body).to.include({ passwordSet: true, needPasswordReset: true });
      expect(JSON.stringify(res.body)).not.to.match(/argon2|passwordHash|correct horse/);
      const stored = await storedUser(res.body.userId);
      expect(stored?.passwordHash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect(await verifyPassword(stored!.passwordHash!, 'correct horse battery staple')).to.equal(true);
      const noReset = await root
        .call('post', `${BASE}/users`, { loginId: 'robot2@example.com', password: ' spaces are kept ', needPasswordReset: false })
        .expect(201);
      expect(noReset.body.needPasswordReset).to.equal(false);
      expect(await verifyPassword((await storedUser(noReset.body.userId))!.passwordHash!, ' spaces are kept ')).to.equal(true);
    });

    it('refuses bad input with field errors and writes nothing (including mass-assigned and operator fields)', async () => {
      const before = await userCount();
      const res = await root
        .call('post', `${BASE}/users`, {
          loginId: 'not-an-email',
          userProfile: { firstName: 'x'.repeat(201), email: 'nope' },
          password: 'short',
          tags: [{ key: 'bad key', value: 'v' }],
          status: 'SUSPENDED',
          tenantId: 'someone-else',
        })
        .expect(400);
      expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
      expect(fieldsOf(res.body)).to.include.members(['body.loginId', 'body.userProfile.firstName', 'body.userProfile.email', 'body.password', 'body.tags.0.key']);
      expect(res.body.error.fieldErrors.some((f: { message: string }) => /status|tenantId/.test(f.message))).to.equal(true);
      await root.call('post', `${BASE}/users`, { loginId: `${'a'.repeat(56)}@x.io` /* 61 characters */ }).expect(400);
      await root.call('post', `${BASE}/users`, { loginId: { $ne: null } }).expect(400);
      await root.call('post', `${BASE}/users`, { loginId: ' padded@example.com' }).expect(400);
      expect(await userCount()).to.equal(before);
      // the bound itself is accepted
      await root.call('post', `${BASE}/users`, { loginId: `${'a'.repeat(55)}@x.io` }).expect(201);
    });

    it('keeps login ids unique case-insensitively under 10 concurrent creates (unique index, one winner)', async () => {
      const variants = ['Race@Example.com', 'race@example.com', 'RACE@EXAMPLE.COM', 'rAce@example.com', 'raCe@Example.com', 'racE@example.COM', 'Race@example.com', 'race@Example.com', 'RACE@example.com', 'race@EXAMPLE.com'];
      const quotaBefore = await quotaUsed(ssoUserQuotaKey(tenantId));
      const results = await Promise.all(variants.map((loginId) => root.call('post', `${BASE}/users`, { loginId })));
      expect(results.filter((r) => r.status === 201)).to.have.length(1);
      const refused = results.filter((r) => r.status === 409);
      expect(refused).to.have.length(9);
      for (const r of refused) expect(r.body.error.errorCode).to.equal('CONFLICT');
      expect(await SsoUser.countDocuments({ tenantId, loginIdKey: 'race@example.com' })).to.equal(1);
      // the refused creates gave their quota unit back
      expect(await quotaUsed(ssoUserQuotaKey(tenantId))).to.equal(quotaBefore + 1);
    });

    it('lists with paging and filters (loginId prefix case-insensitively, status, group)', async () => {
      const a = await createUser('list-one@example.com');
      const b = await createUser('List-Two@example.com');
      await createUser('other-list@example.com');
      const groupId = randomUUID();
      await SsoGroup.create({ accountId: ACCOUNT, tenantId, groupId, groupName: 'listers', nameKey: 'listers' });
      await root.call('post', `${BASE}/users/${b.userId}/groups`, { groupIds: [groupId] }).expect(200);
      await root.call('put', `${BASE}/users/${a.userId}/status`, { status: 'SUSPENDED' }).expect(200);

      const prefix = await root.call('get', `${BASE}/users?loginId=LIST-&pageSize=1`).expect(200);
      expect(prefix.body).to.include({ pageNo: 0, pageSize: 1, totalElements: 2 });
      expect(prefix.body.items.map((u: { loginId: string }) => u.loginId)).to.deep.equal(['list-one@example.com']);
      const second = await root.call('get', `${BASE}/users?loginId=list-&pageSize=1&pageNo=1`).expect(200);
      expect(second.body.items.map((u: { loginId: string }) => u.loginId)).to.deep.equal(['List-Two@example.com']);
      const suspended = await root.call('get', `${BASE}/users?status=SUSPENDED`).expect(200);
      expect(suspended.body.items.map((u: { userId: string }) => u.userId)).to.deep.equal([a.userId]);
      const members = await root.call('get', `${BASE}/users?groupId=${groupId}`).expect(200);
      expect(members.body.items.map((u: { userId: string }) => u.userId)).to.deep.equal([b.userId]);
      // a regex in the prefix is text, not a pattern
      expect((await root.call('get', `${BASE}/users?loginId=.*`).expect(200)).body.totalElements).to.equal(0);
      await root.call('get', `${BASE}/users?pageSize=101`).expect(400);
      await root.call('get', `${BASE}/users?status=DELETED`).expect(400);
    });

    it('reads and updates profile fields one by one; loginId and tags are not accepted by update', async () => {
      const u = await createUser('update-me@example.com', { userProfile: { firstName: 'Up', lastName: 'Date' } });
      const got = await root.call('get', `${BASE}/users/${u.userId}`).expect(200);
      expect(got.body.userProfile.firstName).to.equal('Up');
      const res = await root
        .call('put', `${BASE}/users/${u.userId}`, { userProfile: { deptName: 'Ops' }, accessRules: { apiAccessAllowed: true }, description: 'moved' })
        .expect(200);
      expect(res.body.userProfile).to.include({ firstName: 'Up', lastName: 'Date', deptName: 'Ops' });
      expect(res.body.accessRules).to.deep.equal({ consoleAccessAllowed: true, apiAccessAllowed: true });
      expect(res.body.description).to.equal('moved');
      const refused = await root.call('put', `${BASE}/users/${u.userId}`, { loginId: 'renamed@example.com' }).expect(400);
      expect(refused.body.error.errorCode).to.equal('VALIDATION_FAILED');
      await root.call('put', `${BASE}/users/${u.userId}`, { tags: tags({ team: 'z' }) }).expect(400);
      await root.call('put', `${BASE}/users/${u.userId}`, {}).expect(400);
      const stored = await storedUser(u.userId);
      expect(stored?.loginId).to.equal('update-me@example.com');
      expect(stored?.tags).to.deep.equal([]);
    });

    it('deletes a user with its sessions and gives its quota unit back; then 404', async () => {
      const u = await createUser('delete-me@example.com');
      await SsoUserSession.create({ accountId: ACCOUNT, tenantId, userId: u.userId, sessionId: randomUUID(), expiresAt: new Date(Date.now() + 60_000) });
      const before = await quotaUsed(ssoUserQuotaKey(tenantId));
      await root.call('delete', `${BASE}/users/${u.userId}`).expect(204);
      expect(await quotaUsed(ssoUserQuotaKey(tenantId))).to.equal(before - 1);
      expect(await SsoUserSession.countDocuments({ tenantId, userId: u.userId })).to.equal(0);
      const res = await root.call('get', `${BASE}/users/${u.userId}`).expect(404);
      expect(res.body.error.errorCode).to.equal('NOT_FOUND');
      await root.call('delete', `${BASE}/users/${u.userId}`).expect(404);
      await root.call('get', `${BASE}/users/not-a-uuid`).expect(400);
    });

    it('answers 404 with a hint when the account has no tenant', async () => {
      const other = await rootSigner(app, NO_TENANT_ACCOUNT);
      const res = await other.call('get', `${BASE}/users`).expect(404);
      expect(res.body.error.detail).to.contain('tenant');
    });
  });

  describe('status, tags, allowed sources', () => {
    it('suspending ends the user’s sessions and moves its credential generation; reactivating does not', async () => {
      const u = await createUser('suspend-me@example.com');
      await SsoUserSession.create({ accountId: ACCOUNT, tenantId, userId: u.userId, sessionId: randomUUID(), expiresAt: new Date(Date.now() + 60_000) });
      const res = await root.call('put', `${BASE}/users/${u.userId}/status`, { status: 'SUSPENDED' }).expect(200);
      expect(res.body.status).to.equal('SUSPENDED');
      expect(await SsoUserSession.countDocuments({ tenantId, userId: u.userId })).to.equal(0);
      expect((await storedUser(u.userId))?.credentialGeneration).to.equal(1);
      await root.call('put', `${BASE}/users/${u.userId}/status`, { status: 'ACTIVATED' }).expect(200);
      expect((await storedUser(u.userId))?.credentialGeneration).to.equal(1);
      await root.call('put', `${BASE}/users/${u.userId}/status`, { status: 'DELETED' }).expect(400);
    });

    it('tags: merge by key, at most 20 (nothing changed when over), untag one key, 404 for a missing key', async () => {
      const u = await createUser('tagged@example.com', { tags: tags({ team: 'a', env: 'dev' }) });
      const merged = await root.call('post', `${BASE}/users/${u.userId}/tags`, { tags: tags({ env: 'prod', owner: 'ops@example.com' }) }).expect(200);
      expect(merged.body.tags).to.deep.equal(tags({ team: 'a', env: 'prod', owner: 'ops@example.com' }));
      const many = Array.from({ length: 18 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
      const over = await root.call('post', `${BASE}/users/${u.userId}/tags`, { tags: many }).expect(400);
      expect(fieldsOf(over.body)).to.deep.equal(['body.tags']);
      expect((await storedUser(u.userId))?.tags).to.have.length(3);
      await root.call('post', `${BASE}/users/${u.userId}/tags`, { tags: [{ key: 'k', value: 'has space' }] }).expect(400);
      const untagged = await root.call('delete', `${BASE}/users/${u.userId}/tags/env`).expect(200);
      expect(untagged.body.tags).to.deep.equal(tags({ team: 'a', owner: 'ops@example.com' }));
      await root.call('delete', `${BASE}/users/${u.userId}/tags/env`).expect(404);
    });

    it('concurrent tag requests do not lose each other’s keys (compare-and-set on the revision)', async () => {
      const u = await createUser('tag-race@example.com');
      const results = await Promise.all(Array.from({ length: 5 }, (_, i) => root.call('post', `${BASE}/users/${u.userId}/tags`, { tags: [{ key: `race${i}`, value: String(i) }] })));
      expect(results.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200]);
      const stored = await storedUser(u.userId);
      expect(stored?.tags.map((t) => t.key).sort()).to.deep.equal(['race0', 'race1', 'race2', 'race3', 'race4']);
    });

    it('allowed source IPs are validated and normalised', async () => {
      const u = await createUser('ips@example.com');
      const res = await root
        .call('put', `${BASE}/users/${u.userId}/allow-sources`, { consolePermitIps: ['203.0.113.7/32', '2001:DB8::/32', '203.0.113.7'], useApiAllowSource: true, apiAllowSources: ['10.0.0.0/8'] })
        .expect(200);
      expect(res.body.consolePermitIps).to.deep.equal(['203.0.113.7', '2001:db8::/32']);
      expect(res.body).to.include({ useApiAllowSource: true });
      expect(res.body.apiAllowSources).to.deep.equal(['10.0.0.0/8']);
      const bad = await root.call('put', `${BASE}/users/${u.userId}/allow-sources`, { consolePermitIps: ['10.0.0.0/33', 'example.com'] }).expect(400);
      expect(fieldsOf(bad.body)).to.deep.equal(['body.consolePermitIps.0', 'body.consolePermitIps.1']);
      expect((await storedUser(u.userId))?.consolePermitIps).to.deep.equal(['203.0.113.7', '2001:db8::/32']);
    });
  });

  describe('MFA device (admin)', () => {
    it('refuses a wrong otpNo and stores nothing', async () => {
      const u = await createUser('mfa-wrong@example.com');
      const secret = newTotpSecret();
      const right = await totpCode(secret);
      const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
      const res = await root.call('post', `${BASE}/users/${u.userId}/mfa-devices`, { encodedKey: secret, otpNo: wrong }).expect(400);
      expect(fieldsOf(res.body)).to.deep.equal(['body.otpNo']);
      const stored = await storedUser(u.userId);
      expect(stored).to.include({ mfaEnabled: false, mfaSecretEncrypted: null, mfaLastStep: 0 });
      await root.call('post', `${BASE}/users/${u.userId}/mfa-devices`, { encodedKey: 'not base32!', otpNo: right }).expect(400);
      await root.call('post', `${BASE}/users/${u.userId}/mfa-devices`, { encodedKey: 'JBSWY3DPEHPK3PXP', otpNo: right }).expect(400); // 80 bits < 128
      await root.call('post', `${BASE}/users/${u.userId}/mfa-devices`, { encodedKey: secret, otpNo: '12345' }).expect(400);
      expect((await storedUser(u.userId))?.mfaEnabled).to.equal(false);
    });

    it('registers a device with a current code: key stored encrypted and bound to the user, code consumed; one device per user', async () => {
      const u = await createUser('mfa-ok@example.com');
      const secret = newTotpSecret();
      // authenticator apps show keys lowercased in groups of four: accepted and normalised
      const shown = secret.toLowerCase().replace(/(.{4})/g, '$1 ').trim();
      const res = await root.call('post', `${BASE}/users/${u.userId}/mfa-devices`, { encodedKey: shown, otpNo: await totpCode(secret) }).expect(201);
      expect(res.body.mfaEnabled).to.equal(true);
      expect(res.body.mfaRegisteredAt).to.be.a('string');
      expect(JSON.stringify(res.body)).not.to.contain(secret);
      const stored = await storedUser(u.userId);
      expect(stored?.mfaSecretEncrypted).to.match(/^gh1\./);
      expect(stored?.mfaSecretEncrypted).not.to.contain(secret);
      expect(testKeyring().decrypt(stored!.mfaSecretEncrypted!, ssoUserMfaContext(u.userId))).to.equal(secret);
      expect(() => testKeyring().decrypt(stored!.mfaSecretEncrypted!, ssoUserMfaContext(randomUUID()))).to.throw();
      expect(stored?.mfaLastStep).to.be.at.least(Math.floor(Date.now() / 30_000) - 1);
      // the detail view never shows the key either
      const detail = await root.call('get', `${BASE}/users/${u.userId}`).expect(200);
      expect(JSON.stringify(detail.body)).not.to.match(/mfaSecret|gh1\./);

      const again = await root.call('post', `${BASE}/users/${u.userId}/mfa-devices`, { encodedKey: newTotpSecret(), otpNo: '000000' }).expect(409);
      expect(again.body.error.errorCode).to.equal('CONFLICT');
      await root.call('delete', `${BASE}/users/${u.userId}/mfa-devices`).expect(204);
      expect(await storedUser(u.userId)).to.include({ mfaEnabled: false, mfaSecretEncrypted: null });
      await root.call('delete', `${BASE}/users/${u.userId}/mfa-devices`).expect(404);
    });
  });

  describe('active sessions', () => {
    it('lists unexpired sessions, ends one, then all (expired ones are neither listed nor counted)', async () => {
      const u = await createUser('sessions@example.com');
      const soon = () => new Date(Date.now() + 10 * 60_000);
      const [s1, s2, s3] = [randomUUID(), randomUUID(), randomUUID()];
      await SsoUserSession.create([
        { accountId: ACCOUNT, tenantId, userId: u.userId, sessionId: s1, clientIp: '198.51.100.1', expiresAt: soon(), createdAt: new Date(Date.now() - 2000) },
        { accountId: ACCOUNT, tenantId, userId: u.userId, sessionId: s2, clientIp: '198.51.100.2', permissionSetId: randomUUID(), permissionSetName: 'Admins', expiresAt: soon() },
        { accountId: ACCOUNT, tenantId, userId: u.userId, sessionId: s3, expiresAt: soon() },
        { accountId: ACCOUNT, tenantId, userId: u.userId, sessionId: randomUUID(), expiresAt: new Date(Date.now() - 1000) },
      ]);
      const list = await root.call('get', `${BASE}/users/${u.userId}/sessions`).expect(200);
      expect(list.body.totalElements).to.equal(3);
      const listed = list.body.items.find((s: { sessionId: string }) => s.sessionId === s2);
      expect(listed).to.include({ clientIp: '198.51.100.2', permissionSetName: 'Admins', userId: u.userId });
      expect(listed).to.have.all.keys('sessionId', 'userId', 'clientIp', 'permissionSetId', 'permissionSetName', 'createdAt', 'lastSeenAt', 'expiresAt');

      await root.call('delete', `${BASE}/users/${u.userId}/sessions/${s1}`).expect(204);
      await root.call('delete', `${BASE}/users/${u.userId}/sessions/${s1}`).expect(404);
      await root.call('delete', `${BASE}/users/${u.userId}/sessions/${randomUUID()}`).expect(404);
      const all = await root.call('delete', `${BASE}/users/${u.userId}/sessions`).expect(200);
      expect(all.body).to.deep.equal({ userId: u.userId, expiredSessions: 2 });
      expect(await SsoUserSession.countDocuments({ tenantId, userId: u.userId }).setOptions({ includeExpired: true })).to.equal(0);
      expect((await storedUser(u.userId))?.credentialGeneration).to.equal(1);
      expect((await root.call('get', `${BASE}/users/${u.userId}/sessions`).expect(200)).body.totalElements).to.equal(0);
    });

    it('a session of another user cannot be ended through this user', async () => {
      const a = await createUser('sess-a@example.com');
      const b = await createUser('sess-b@example.com');
      const sessionId = randomUUID();
      await SsoUserSession.create({ accountId: ACCOUNT, tenantId, userId: b.userId, sessionId, expiresAt: new Date(Date.now() + 60_000) });
      await root.call('delete', `${BASE}/users/${a.userId}/sessions/${sessionId}`).expect(404);
      expect(await SsoUserSession.countDocuments({ tenantId, sessionId })).to.equal(1);
    });
  });

  describe('bulk create', () => {
    it('creates the valid rows, reports each invalid one with field errors, and writes nothing else', async () => {
      await createUser('bulk-existing@example.com');
      const before = await userCount();
      const rows = [
        { loginId: 'bulk-1@example.com', userProfile: { firstName: 'One' } },
        { loginId: 'not an email' },
        { loginId: 'BULK-EXISTING@example.com' },
        { loginId: 'bulk-2@example.com', password: 'a long enough password', tags: tags({ team: 'a' }) },
        { loginId: 'Bulk-1@Example.com' },
        'not an object',
        { loginId: 'bulk-3@example.com', isAdmin: true },
      ];
      const res = await root.call('post', `${BASE}/users/bulk`, { users: rows }).expect(200);
      expect(res.body).to.include({ succeeded: 2, failed: 5 });
      const r = res.body.results;
      expect(r.map((x: { index: number }) => x.index)).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
      expect(r[0]).to.include({ loginId: 'bulk-1@example.com' });
      expect(r[0].userId).to.be.a('string');
      expect(r[0].error).to.equal(undefined);
      expect(r[1].error.errorCode).to.equal('VALIDATION_FAILED');
      expect(r[1].error.fieldErrors.map((f: { field: string }) => f.field)).to.deep.equal(['body.users.1.loginId']);
      expect(r[2].error.errorCode).to.equal('CONFLICT');
      expect(r[3].userId).to.be.a('string');
      expect(r[4].error.errorCode, 'a duplicate within the batch: the first row wins').to.equal('CONFLICT');
      expect(r[5]).to.include({ loginId: null });
      expect(r[5].error.errorCode).to.equal('VALIDATION_FAILED');
      expect(r[6].error.errorCode).to.equal('VALIDATION_FAILED');
      expect(await userCount()).to.equal(before + 2);
      expect(await SsoUser.countDocuments({ tenantId, loginIdKey: { $in: ['bulk-3@example.com', 'not an email'] } })).to.equal(0);
      const two = await storedUser(r[3].userId);
      expect(two?.tags).to.deep.equal(tags({ team: 'a' }));
      expect(await verifyPassword(two!.passwordHash!, 'a long enough password')).to.equal(true);
      // each created user is audited with its own NRN; no call-level event
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, action: 'SSO:change/createUser', nrn: r[0].nrn, result: 'success' })).to.equal(1);
    });

    it('takes at most 100 rows per call', async () => {
      const before = await userCount();
      const users = Array.from({ length: 101 }, (_, i) => ({ loginId: `too-many-${i}@example.com` }));
      const res = await root.call('post', `${BASE}/users/bulk`, { users }).expect(400);
      expect(fieldsOf(res.body)).to.deep.equal(['body.users']);
      await root.call('post', `${BASE}/users/bulk`, { users: [] }).expect(400);
      expect(await userCount()).to.equal(before);
    });

    it('authorizes each row with its own tags as ncp:requestTag', async () => {
      const teamA = await subAccountSigner(app, [ssoPolicy(['change/createUser'], { condition: { StringEquals: { 'ncp:requestTag/team': ['a'] } } })]);
      const res = await teamA
        .call('post', `${BASE}/users/bulk`, {
          users: [
            { loginId: 'rt-a@example.com', tags: tags({ team: 'a' }) },
            { loginId: 'rt-b@example.com', tags: tags({ team: 'b' }) },
            { loginId: 'rt-none@example.com' },
          ],
        })
        .expect(200);
      expect(res.body.results.map((x: { error?: { errorCode: string } }) => x.error?.errorCode ?? 'created')).to.deep.equal(['created', 'FORBIDDEN', 'FORBIDDEN']);
      expect(await SsoUser.countDocuments({ tenantId, loginIdKey: { $in: ['rt-b@example.com', 'rt-none@example.com'] } })).to.equal(0);
      expect(await SsoUser.countDocuments({ tenantId, loginIdKey: 'rt-a@example.com' })).to.equal(1);
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, action: 'SSO:change/createUser', result: 'denied', 'actor.id': teamA.subAccountId })).to.equal(2);
      // no row allowed: the call itself is refused
      const none = await teamA.call('post', `${BASE}/users/bulk`, { users: [{ loginId: 'rt-b2@example.com', tags: tags({ team: 'b' }) }] }).expect(403);
      expect(none.body.error.errorCode).to.equal('FORBIDDEN');
      // a Deny on a request tag cannot be slipped past by bulk creating
      const denyProd = await subAccountSigner(app, [
        ssoPolicy(['change/createUser']),
        ssoPolicy(['change/createUser'], { effect: 'Deny', condition: { StringEquals: { 'ncp:requestTag/env': ['prod'] } } }),
      ]);
      const mixed = await denyProd
        .call('post', `${BASE}/users/bulk`, { users: [{ loginId: 'deny-dev@example.com', tags: tags({ env: 'dev' }) }, { loginId: 'deny-prod@example.com', tags: tags({ env: 'prod' }) }] })
        .expect(200);
      expect(mixed.body).to.include({ succeeded: 1, failed: 1 });
      expect(mixed.body.results[1].error.errorCode).to.equal('FORBIDDEN');
    });
  });

  describe('bulk delete', () => {
    it('a principal allowed to delete only users tagged team=a deletes those and gets a 403 row for the others', async () => {
      const a1 = await createUser('bd-a1@example.com', { tags: tags({ team: 'a' }) });
      const a2 = await createUser('bd-a2@example.com', { tags: tags({ team: 'a' }) });
      const b1 = await createUser('bd-b1@example.com', { tags: tags({ team: 'b' }) });
      const untagged = await createUser('bd-none@example.com');
      const deleter = await subAccountSigner(app, [
        ssoPolicy(['change/deleteUser'], { nrns: [`nrn:PUB:SSO::${ACCOUNT}:User/*`], condition: { StringEquals: { 'ncp:resourceTag/team': ['a'] } } }),
      ]);
      const ids = [a1.userId, b1.userId, a2.userId, untagged.userId];
      const res = await deleter.call('post', `${BASE}/users/bulk-delete`, { userIds: ids }).expect(200);
      expect(res.body).to.include({ succeeded: 2, failed: 2 });
      expect(res.body.results.map((x: { index: number; userId: string; deleted: boolean; error?: { errorCode: string } }) => [x.index, x.userId, x.deleted, x.error?.errorCode ?? null])).to.deep.equal([
        [0, a1.userId, true, null],
        [1, b1.userId, false, 'FORBIDDEN'],
        [2, a2.userId, true, null],
        [3, untagged.userId, false, 'FORBIDDEN'],
      ]);
      expect(res.body.results[0].loginId).to.equal('bd-a1@example.com');
      expect(await SsoUser.countDocuments({ tenantId, userId: { $in: [a1.userId, a2.userId] } })).to.equal(0);
      expect(await SsoUser.countDocuments({ tenantId, userId: { $in: [b1.userId, untagged.userId] } })).to.equal(2);
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, action: 'SSO:change/deleteUser', result: 'denied', nrn: b1.nrn })).to.equal(1);
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, action: 'SSO:change/deleteUser', result: 'success', nrn: a1.nrn })).to.equal(1);
      // nothing it may delete: the whole call is 403 and nothing changes
      await deleter.call('post', `${BASE}/users/bulk-delete`, { userIds: [b1.userId] }).expect(403);
      expect(await SsoUser.countDocuments({ tenantId, userId: b1.userId })).to.equal(1);
    });

    it('reports unknown and repeated ids as 404 rows', async () => {
      const u = await createUser('bd-root@example.com');
      const ghost = randomUUID();
      const res = await root.call('post', `${BASE}/users/bulk-delete`, { userIds: [u.userId, ghost, u.userId] }).expect(200);
      expect(res.body.results.map((x: { deleted: boolean; error?: { errorCode: string } }) => x.error?.errorCode ?? x.deleted)).to.deep.equal([true, 'NOT_FOUND', 'NOT_FOUND']);
      await root.call('post', `${BASE}/users/bulk-delete`, { userIds: ['nope'] }).expect(400);
      await root.call('post', `${BASE}/users/bulk-delete`, { userIds: Array.from({ length: 101 }, () => randomUUID()) }).expect(400);
    });
  });

  describe('authorization', () => {
    it('403 without the route’s action, nothing written, denial audited (representative routes)', async () => {
      const u = await createUser('guarded@example.com');
      // every SSO user action except the one each call needs
      const others = (except: string) =>
        subAccountSigner(app, [
          ssoPolicy(
            ['view/getUserList', 'view/getUserDetail', 'change/createUser', 'change/updateUser', 'change/deleteUser', 'change/changeUserStatus', 'change/tagUser', 'Change/addMFADevice', 'change/expireActiveSession', 'change/manageUserAllowSourceSetting', 'change/addUserToGroup'].filter(
              (a) => a.toLowerCase() !== except.toLowerCase(),
            ),
          ),
        ]);
      const before = await userCount();
      await (await others('view/getUserList')).call('get', `${BASE}/users`).expect(403);
      await (await others('change/createUser')).call('post', `${BASE}/users`, { loginId: 'sneaky@example.com' }).expect(403);
      await (await others('change/createUser')).call('post', `${BASE}/users/bulk`, { users: [{ loginId: 'sneaky2@example.com' }] }).expect(403);
      await (await others('change/deleteUser')).call('delete', `${BASE}/users/${u.userId}`).expect(403);
      await (await others('change/changeUserStatus')).call('put', `${BASE}/users/${u.userId}/status`, { status: 'SUSPENDED' }).expect(403);
      const secret = newTotpSecret();
      await (await others('Change/addMFADevice')).call('post', `${BASE}/users/${u.userId}/mfa-devices`, { encodedKey: secret, otpNo: await totpCode(secret) }).expect(403);
      const expirer = await others('change/expireActiveSession');
      const denied = await expirer.call('delete', `${BASE}/users/${u.userId}/sessions`).expect(403);
      expect(denied.body.error.errorCode).to.equal('FORBIDDEN');
      expect(JSON.stringify(denied.body)).not.to.match(/policyId|permissionIndex/);
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, result: 'denied', 'actor.id': expirer.subAccountId, action: 'SSO:change/expireActiveSession', nrn: u.nrn })).to.equal(1);
      expect(await userCount()).to.equal(before);
      const stored = await storedUser(u.userId);
      expect(stored).to.include({ status: 'ACTIVATED', mfaEnabled: false, credentialGeneration: 0 });
      // invalid input from a caller without the action learns nothing about the rules
      const probe = await (await others('change/createUser')).call('post', `${BASE}/users`, { loginId: 'x' }).expect(403);
      expect(probe.body.error.fieldErrors).to.deep.equal([]);
      // NCP_SINGLE_SIGN_ON_VIEWER reads but cannot change
      const viewer = await subAccountSigner(app, [{ managed: 'NCP_SINGLE_SIGN_ON_VIEWER' }]);
      await viewer.call('get', `${BASE}/users/${u.userId}`).expect(200);
      await viewer.call('put', `${BASE}/users/${u.userId}`, { description: 'no' }).expect(403);
    });

    it('tag conditions: ncp:resourceTag allows and denies per user; ncp:requestTag on create', async () => {
      const a = await createUser('cond-a@example.com', { tags: tags({ team: 'a' }) });
      const b = await createUser('cond-b@example.com', { tags: tags({ team: 'b' }) });
      const teamA = await subAccountSigner(app, [
        ssoPolicy(['view/getUserDetail', 'change/updateUser'], { condition: { StringEquals: { 'ncp:resourceTag/team': ['a'] } } }),
        ssoPolicy(['change/createUser'], { condition: { StringEquals: { 'ncp:requestTag/team': ['a'] } } }),
      ]);
      await teamA.call('get', `${BASE}/users/${a.userId}`).expect(200);
      await teamA.call('put', `${BASE}/users/${a.userId}`, { description: 'mine' }).expect(200);
      await teamA.call('get', `${BASE}/users/${b.userId}`).expect(403);
      await teamA.call('put', `${BASE}/users/${b.userId}`, { description: 'not mine' }).expect(403);
      expect((await storedUser(b.userId))?.description).to.equal('');
      await teamA.call('post', `${BASE}/users`, { loginId: 'cond-new-a@example.com', tags: tags({ team: 'a' }) }).expect(201);
      await teamA.call('post', `${BASE}/users`, { loginId: 'cond-new-b@example.com', tags: tags({ team: 'b' }) }).expect(403);
      await teamA.call('post', `${BASE}/users`, { loginId: 'cond-new-none@example.com' }).expect(403);
      expect(await SsoUser.countDocuments({ tenantId, loginIdKey: { $in: ['cond-new-b@example.com', 'cond-new-none@example.com'] } })).to.equal(0);
      // a tag request is judged on the tags it sets too: team=a users cannot be retagged to team=b by this principal
      const tagger = await subAccountSigner(app, [
        ssoPolicy(['change/tagUser'], { condition: { StringEquals: { 'ncp:resourceTag/team': ['a'], 'ncp:requestTag/team': ['a'] } } }),
      ]);
      await tagger.call('post', `${BASE}/users/${a.userId}/tags`, { tags: tags({ team: 'a' }) }).expect(200);
      await tagger.call('post', `${BASE}/users/${a.userId}/tags`, { tags: tags({ team: 'b' }) }).expect(403);
      expect((await storedUser(a.userId))?.tags).to.deep.equal(tags({ team: 'a' }));
    });
  });

  describe('membership from the user’s side', () => {
    it('adds the user to groups (authorized on the user), lists and removes; unknown groups are refused before any write', async () => {
      const u = await createUser('member@example.com');
      const g1 = randomUUID();
      const g2 = randomUUID();
      await SsoGroup.create([
        { accountId: ACCOUNT, tenantId, groupId: g1, groupName: 'Alpha', nameKey: 'alpha' },
        { accountId: ACCOUNT, tenantId, groupId: g2, groupName: 'Beta', nameKey: 'beta' },
      ]);
      const unknown = randomUUID();
      const refused = await root.call('post', `${BASE}/users/${u.userId}/groups`, { groupIds: [g1, unknown] }).expect(400);
      expect(fieldsOf(refused.body)).to.deep.equal(['body.groupIds.1']);
      expect((await storedUser(u.userId))?.groupIds).to.deep.equal([]);

      // allowed on this user's NRN only: the user-side route passes, the group-side route does not
      const onUser = await subAccountSigner(app, [ssoPolicy(['change/addUserToGroup', 'change/removeUserFromGroup'], { nrns: [u.nrn] })]);
      const added = await onUser.call('post', `${BASE}/users/${u.userId}/groups`, { groupIds: [g1, g2, g1] }).expect(200);
      expect(added.body.groupIds).to.have.members([g1, g2]);
      await onUser.call('post', `${BASE}/groups/${g1}/users`, { userIds: [u.userId] }).expect(403);

      const list = await root.call('get', `${BASE}/users/${u.userId}/groups`).expect(200);
      expect(list.body.items.map((g: { groupName: string }) => g.groupName)).to.deep.equal(['Alpha', 'Beta']);
      expect(list.body.totalElements).to.equal(2);

      const removed = await onUser.call('delete', `${BASE}/users/${u.userId}/groups/${g1}`).expect(200);
      expect(removed.body.groupIds).to.deep.equal([g2]);
      await onUser.call('delete', `${BASE}/users/${u.userId}/groups/${g1}`).expect(404);
      await onUser.call('delete', `${BASE}/groups/${g2}/users/${u.userId}`).expect(403);
      expect((await storedUser(u.userId))?.groupIds).to.deep.equal([g2]);
    });
  });

  describe('isolation and limits', () => {
    it('an admin of another account gets 404 for this tenant’s users, and changes nothing', async () => {
      const u = await createUser('isolated@example.com', { tags: tags({ team: 'a' }) });
      await SsoUserSession.create({ accountId: ACCOUNT, tenantId, userId: u.userId, sessionId: randomUUID(), expiresAt: new Date(Date.now() + 60_000) });
      const other = await rootSigner(app, OTHER_ACCOUNT);
      await seedTenant(OTHER_ACCOUNT);
      const secret = newTotpSecret();
      const calls: [method: 'get' | 'put' | 'post' | 'delete', path: string, body?: unknown][] = [
        ['get', `/users/${u.userId}`],
        ['put', `/users/${u.userId}`, { description: 'pwned' }],
        ['put', `/users/${u.userId}/status`, { status: 'SUSPENDED' }],
        ['post', `/users/${u.userId}/tags`, { tags: tags({ team: 'x' }) }],
        ['delete', `/users/${u.userId}/tags/team`],
        ['put', `/users/${u.userId}/allow-sources`, { consolePermitIps: ['0.0.0.0/0'] }],
        ['post', `/users/${u.userId}/mfa-devices`, { encodedKey: secret, otpNo: await totpCode(secret) }],
        ['get', `/users/${u.userId}/sessions`],
        ['delete', `/users/${u.userId}/sessions`],
        ['get', `/users/${u.userId}/groups`],
        ['delete', `/users/${u.userId}`],
      ];
      for (const [method, path, body] of calls) {
        const res = await other.call(method, `${BASE}${path}`, body);
        expect(res.status, `${method} ${path}`).to.equal(404);
      }
      const bulk = await other.call('post', `${BASE}/users/bulk-delete`, { userIds: [u.userId] }).expect(200);
      expect(bulk.body.results[0].error.errorCode).to.equal('NOT_FOUND');
      const list = await other.call('get', `${BASE}/users?loginId=isolated`).expect(200);
      expect(list.body.totalElements).to.equal(0);
      const stored = await storedUser(u.userId);
      expect(stored).to.include({ status: 'ACTIVATED', description: '', mfaEnabled: false, credentialGeneration: 0 });
      expect(stored?.tags).to.deep.equal(tags({ team: 'a' }));
      expect(stored?.consolePermitIps).to.deep.equal([]);
      expect(await SsoUserSession.countDocuments({ tenantId, userId: u.userId })).to.equal(1);
    });

    it('enforces Tenant.userLimit atomically: concurrent creates never overshoot, bulk rows past it fail, a delete frees a slot', async () => {
      const limited = await rootSigner(app, LIMITED_ACCOUNT);
      const limitedTenant = await seedTenant(LIMITED_ACCOUNT, { userLimit: 3 });
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => limited.call('post', `${BASE}/users`, { loginId: `cap-${i}@example.com` })));
      expect(results.filter((r) => r.status === 201)).to.have.length(3);
      const refused = results.filter((r) => r.status === 409);
      expect(refused).to.have.length(3);
      for (const r of refused) expect(r.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
      expect(await SsoUser.countDocuments({ tenantId: limitedTenant })).to.equal(3);
      expect(await quotaUsed(ssoUserQuotaKey(limitedTenant))).to.equal(3);

      const bulk = await limited.call('post', `${BASE}/users/bulk`, { users: [{ loginId: 'cap-bulk@example.com' }] }).expect(200);
      expect(bulk.body.results[0].error.errorCode).to.equal('LIMIT_EXCEEDED');

      const first = results.find((r) => r.status === 201)!.body;
      await limited.call('delete', `${BASE}/users/${first.userId}`).expect(204);
      await limited.call('post', `${BASE}/users`, { loginId: 'cap-after@example.com' }).expect(201);
      expect(await SsoUser.countDocuments({ tenantId: limitedTenant })).to.equal(3);
    });
  });
});
