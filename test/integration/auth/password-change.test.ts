/**
 * `changeOwnPassword` (the portal's profile page calls it) against the real engine: the current
 * password verified with argon2id, wrong ones counted and locked out, the tenant's policy, the new
 * hash over NFKC, the generation moved with the caller's session kept and the others ended, and a
 * concurrent credential change never overwritten.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { changeOwnPassword } from '../../../src/auth/password-change.service.js';
import { hashUserPassword, verifyUserPassword } from '../../../src/auth/password-policy.js';
import { createSsoSession, findSsoSession } from '../../../src/auth/sso-session.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { ACCOUNT } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const OLD = 'an old but decent passphrase';
const NEW = 'violet lantern across the quiet harbour';

describe('passwords: a signed-in user changes their own password', function () {
  this.timeout(60_000);
  useTestDatabase('pwchange');
  const tenantId = randomUUID();

  before(async () => {
    await Tenant.create({ accountId: ACCOUNT, tenantId, tenantAlias: 'pwchange', aliasKey: 'pwchange', termsAcceptedAt: new Date() });
  });

  /** A user with a password, made directly (the create API has its own tests). */
  async function user(loginId: string, extra: Record<string, unknown> = {}) {
    const userId = randomUUID();
    await SsoUser.create({
      accountId: ACCOUNT,
      tenantId,
      userId,
      loginId,
      loginIdKey: loginId.toLowerCase(),
      passwordHash: await hashUserPassword(OLD),
      passwordChangedAt: new Date(Date.now() - 1000),
      needPasswordReset: true,
      userProfile: { firstName: 'Bartholomew', email: `${loginId}` },
      ...extra,
    });
    return userId;
  }
  const session = (userId: string, credentialGeneration = 0) =>
    createSsoSession({ accountId: ACCOUNT, tenantId, userId, credentialGeneration, amr: ['pwd'], acr: 'pwd', idleTimeoutSec: 3600, clientIp: '127.0.0.1' });
  const stored = (userId: string) => SsoUser.findOne({ tenantId, userId }).select('+passwordHash').lean();

  it('changes the password, keeps the calling session, ends the others and moves the generation', async () => {
    const userId = await user('change1@example.com');
    const mine = await session(userId);
    const other = await session(userId);
    const result = await changeOwnPassword(tenantId, userId, OLD, NEW, { keepSessionId: mine.session.sessionId });
    expect(result).to.deep.equal({ ok: true, endedSessions: 1 });

    const after = await stored(userId);
    expect(after?.credentialGeneration).to.equal(1);
    expect(after?.needPasswordReset).to.equal(false);
    expect(after?.passwordChangedAt?.getTime()).to.be.closeTo(Date.now(), 5000);
    expect(await verifyUserPassword(after!.passwordHash!, NEW)).to.equal(true);
    expect(await verifyUserPassword(after!.passwordHash!, OLD)).to.equal(false);
    expect(await findSsoSession(tenantId, mine.token)).to.not.equal(null);
    expect(await findSsoSession(tenantId, other.token)).to.equal(null);
  });

  it('without a session to keep, ends them all', async () => {
    const userId = await user('change2@example.com');
    const s = await session(userId);
    expect(await changeOwnPassword(tenantId, userId, OLD, NEW)).to.deep.equal({ ok: true, endedSessions: 1 });
    expect(await findSsoSession(tenantId, s.token)).to.equal(null);
  });

  it('refuses a wrong current password and a weak new one, changing nothing', async () => {
    const userId = await user('change3@example.com');
    const before = await stored(userId);
    expect(await changeOwnPassword(tenantId, userId, 'not the password', NEW)).to.deep.equal({ ok: false, field: 'currentPassword', error: 'wrongPassword' });
    // Not trimmed: the current password with a trailing space is wrong.
    expect((await changeOwnPassword(tenantId, userId, `${OLD} `, NEW)).ok).to.equal(false);
    expect(await changeOwnPassword(tenantId, userId, OLD, 'bartholomew the great')).to.deep.equal({
      ok: false,
      field: 'newPassword',
      error: 'policy',
      reasons: ['contextWord'],
      minLength: 12,
    });
    expect((await changeOwnPassword(tenantId, userId, OLD, 'qwertyuiop123')).ok).to.equal(false);
    const after = await stored(userId);
    expect(after?.passwordHash).to.equal(before?.passwordHash);
    expect(after?.credentialGeneration).to.equal(before?.credentialGeneration);
  });

  it('locks the form after 5 wrong current passwords, even for the right one', async () => {
    const userId = await user('change4@example.com');
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await changeOwnPassword(tenantId, userId, `wrong ${i}`, NEW));
    expect(results.slice(0, 4).every((r) => !r.ok && r.error === 'wrongPassword')).to.equal(true);
    expect(results[4]).to.deep.include({ ok: false, error: 'throttled' });
    expect(await changeOwnPassword(tenantId, userId, OLD, NEW)).to.deep.equal({ ok: false, field: 'currentPassword', error: 'throttled' });
    expect(await verifyUserPassword((await stored(userId))!.passwordHash!, OLD)).to.equal(true);
  });

  it('a user without a local password (federated) cannot use it; a concurrent credential change is not overwritten', async () => {
    const federated = await user('fed@example.com', { passwordHash: null });
    expect(await changeOwnPassword(tenantId, federated, OLD, NEW)).to.deep.include({ ok: false, error: 'wrongPassword' });

    const userId = await user('change5@example.com');
    const [a, b] = await Promise.allSettled([changeOwnPassword(tenantId, userId, OLD, NEW), changeOwnPassword(tenantId, userId, OLD, `${NEW} two`)]);
    // Exactly one change wins; the other is refused (CONFLICT when both read the same generation).
    const outcomes = [a, b].map((r) => (r.status === 'fulfilled' ? (r.value.ok ? 'changed' : r.value.error) : (r.reason as { code?: string }).code));
    expect(outcomes.filter((o) => o === 'changed'), outcomes.join()).to.have.length(1);
    expect(outcomes.filter((o) => o !== 'changed')[0]).to.be.oneOf(['CONFLICT', 'wrongPassword']);
    expect((await stored(userId))?.credentialGeneration).to.equal(1);
  });
});
