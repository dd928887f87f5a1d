/**
 * The console's TOTP step (security-bar §4 "TOTP" and "MFA enrollment"; §6 items 41-43): a code
 * is required when a device is enrolled, each code works once (sequentially and in parallel),
 * wrong codes are limited, a sub account whose MFA is mandatory enrolls a device confirmed by its
 * first code, and the pending sign-in is server-side, short-lived and bound to its identity.
 */
import { expect } from 'chai';
import supertest from 'supertest';
import { Account, rootMfaContext } from '../../../src/iam/accounts/account.model.js';
import { LoginChallenge } from '../../../src/iam/auth/login-challenge.model.js';
import { LoginThrottle } from '../../../src/iam/auth/login-throttle.model.js';
import { identityThrottleKey } from '../../../src/iam/auth/login-throttle.js';
import { TOTP_PERIOD_SEC, newTotpSecret, totpCode } from '../../../src/iam/mfa/totp.js';
import { ConsoleSession } from '../../../src/iam/sessions/console-session.model.js';
import { SubAccount, subAccountMfaContext } from '../../../src/iam/sub-accounts/sub-account.model.js';
import { testApp, testKeyring } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import {
  PASSWORD,
  browser,
  makeAccount,
  makeAlias,
  makeSubAccount,
  setCookie,
  submit,
  tokenHashOf,
  type Browser,
} from './console-helpers.js';

/** A code that is valid now and stays valid for the next few seconds (not about to roll over). */
async function freshCode(secret: string): Promise<string> {
  const intoStep = (Date.now() / 1000) % TOTP_PERIOD_SEC;
  if (intoStep > TOTP_PERIOD_SEC - 3) await new Promise((r) => setTimeout(r, (TOTP_PERIOD_SEC - intoStep + 0.2) * 1000));
  return totpCode(secret);
}

/** A code that is certainly wrong now (one of the current window ±1 step would be accepted). */
async function wrongCode(secret: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const valid = new Set(await Promise.all([-30, 0, 30].map((d) => totpCode(secret, now + d))));
  for (let i = 0; ; i++) {
    const c = String(i).padStart(6, '0');
    if (!valid.has(c)) return c;
  }
}

describe('Console sign-in: TOTP second factor', function () {
  this.timeout(60_000);
  useTestDatabase('consolemfa');
  const app = testApp({ db: { ping: async () => true } });

  async function rootWithTotp(): Promise<{ memberNo: number; rootLoginId: string; secret: string }> {
    const secret = newTotpSecret();
    const acc = await makeAccount();
    await Account.updateOne(
      { memberNo: acc.memberNo },
      { $set: { rootMfaEnabled: true, rootMfaSecretEncrypted: testKeyring().encrypt(secret, rootMfaContext(acc.memberNo)) } },
    );
    return { ...acc, secret };
  }

  async function passwordStep(agent: Browser, loginPath: string, loginId: string) {
    const res = await submit(agent, loginPath, { loginId, password: PASSWORD }).expect(303, '/console/login/mfa');
    expect(setCookie(res, 'gh_console'), 'no session before the second factor').to.equal(undefined);
    const pending = setCookie(res, 'gh_console_mfa');
    expect(pending?.attributes)
      .to.match(/HttpOnly/i)
      .and.match(/SameSite=Strict/i)
      .and.match(/Max-Age=300/);
    return pending!.value;
  }

  it('asks an enrolled root for a code before any session exists, then signs in with mfa', async () => {
    const root = await rootWithTotp();
    const agent = browser(app);
    await passwordStep(agent, '/console/login', root.rootLoginId);
    // Half-way is not signed in.
    await agent.get('/console').expect(303).expect('Location', '/console/login');
    expect(await ConsoleSession.countDocuments({ accountId: root.memberNo })).to.equal(0);
    const page = await agent.get('/console/login/mfa').expect(200);
    expect(page.text).to.contain('Verification code').and.not.contain('data:image/png');

    const res = await submit(agent, '/console/login/mfa', { code: await freshCode(root.secret) }).expect(303, '/console');
    const token = setCookie(res, 'gh_console')!.value;
    expect(setCookie(res, 'gh_console_mfa')?.value).to.equal('');
    const session = await ConsoleSession.findOne({ accountId: root.memberNo, tokenHash: tokenHashOf(token) }).lean();
    expect(session!.mfa).to.equal(true);
    expect(await LoginChallenge.countDocuments({ accountId: root.memberNo })).to.equal(0);
    const home = await agent.get('/console').expect(200);
    expect(home.text).to.contain('verified at sign-in');
  });

  it('does not accept a code twice, sequentially', async () => {
    const root = await rootWithTotp();
    const code = await freshCode(root.secret);
    const first = browser(app);
    await passwordStep(first, '/console/login', root.rootLoginId);
    await submit(first, '/console/login/mfa', { code }).expect(303, '/console');

    const second = browser(app);
    await passwordStep(second, '/console/login', root.rootLoginId);
    const replay = await submit(second, '/console/login/mfa', { code }).expect(401);
    expect(replay.text).to.contain('The code is not valid (or was already used)');
    expect(setCookie(replay, 'gh_console')).to.equal(undefined);
    const stored = await Account.findOne({ memberNo: root.memberNo }).lean();
    expect(stored!.rootMfaLastStep).to.be.greaterThan(0);
  });

  it('does not accept a code twice, in parallel: exactly one of two sign-ins gets a session', async () => {
    const root = await rootWithTotp();
    const a = browser(app);
    const b = browser(app);
    await passwordStep(a, '/console/login', root.rootLoginId);
    await passwordStep(b, '/console/login', root.rootLoginId);
    const code = await freshCode(root.secret);
    const statuses = (await Promise.all([submit(a, '/console/login/mfa', { code }), submit(b, '/console/login/mfa', { code })]))
      .map((r) => r.status)
      .sort();
    expect(statuses).to.deep.equal([303, 401]);
    expect(await ConsoleSession.countDocuments({ accountId: root.memberNo })).to.equal(1);
  });

  it('limits wrong codes: the fifth ends the sign-in and locks the identity', async () => {
    const root = await rootWithTotp();
    const agent = browser(app);
    const pending = await passwordStep(agent, '/console/login', root.rootLoginId);
    const bad = await wrongCode(root.secret);
    for (const left of [4, 3, 2, 1]) {
      const res = await submit(agent, '/console/login/mfa', { code: bad }).expect(401);
      expect(res.text).to.contain(`${left} attempt(s) left`);
    }
    const fifth = await submit(agent, '/console/login/mfa', { code: bad }).expect(401);
    expect(fifth.text).to.contain('could not be completed');
    expect(await LoginChallenge.countDocuments({ accountId: root.memberNo, tokenHash: tokenHashOf(pending) })).to.equal(0);
    const counter = await LoginThrottle.findById(identityThrottleKey({ kind: 'Root', loginId: root.rootLoginId })).lean();
    expect(counter!.lockedUntil).to.be.instanceOf(Date);
    // The right code is too late for this sign-in (even with its cookie put back), and the
    // password step is locked for now.
    agent.jar.setCookie(`gh_console_mfa=${pending}; Path=/`, '127.0.0.1', '/');
    const late = await submit(agent, '/console/login', { code: await freshCode(root.secret) }, { postTo: '/console/login/mfa' }).expect(
      401,
    );
    expect(late.text).to.contain('could not be completed');
    await submit(agent, '/console/login', { loginId: root.rootLoginId, password: PASSWORD }).expect(401);
    expect(await ConsoleSession.countDocuments({ accountId: root.memberNo })).to.equal(0);
  });

  it('forgets a pending sign-in after five minutes, and knows nothing of a forged one', async () => {
    const root = await rootWithTotp();
    const agent = browser(app);
    const pending = await passwordStep(agent, '/console/login', root.rootLoginId);
    await LoginChallenge.updateOne(
      { accountId: root.memberNo, tokenHash: tokenHashOf(pending) },
      { $set: { expiresAt: new Date(Date.now() - 1000) } },
    );
    const expired = await agent.get('/console/login/mfa').expect(401);
    expect(expired.text).to.contain('Sign-in expired');
    const late = await submit(agent, '/console/login', {}, { postTo: '/console/login/mfa' }).expect(401);
    expect(late.text).to.contain('could not be completed');

    const forged = await supertest(app)
      .get('/console/login/mfa')
      .set('Cookie', `gh_console_mfa=${'B'.repeat(43)}`)
      .expect(401);
    expect(forged.text).to.contain('Sign-in expired');
  });

  it('drops the sign-in when the sub account is suspended between the two steps', async () => {
    const acc = await makeAccount();
    const alias = await makeAlias(acc.memberNo);
    const secret = newTotpSecret();
    const sub = await makeSubAccount(acc.memberNo);
    await SubAccount.updateOne(
      { accountId: acc.memberNo, subAccountId: sub.subAccountId },
      { $set: { mfaEnabled: true, mfaSecretEncrypted: testKeyring().encrypt(secret, subAccountMfaContext(sub.subAccountId)) } },
    );
    const agent = browser(app);
    await passwordStep(agent, `/console/login/${alias}`, sub.loginId);
    await SubAccount.updateOne(
      { accountId: acc.memberNo, subAccountId: sub.subAccountId },
      { $set: { status: 'suspended' }, $inc: { credentialGeneration: 1 } },
    );
    const res = await submit(agent, '/console/login/mfa', { code: await freshCode(secret) }).expect(401);
    expect(res.text).to.contain('could not be completed');
    expect(await ConsoleSession.countDocuments({ accountId: acc.memberNo })).to.equal(0);
  });

  describe('mandatory MFA for a sub account without a device', () => {
    it('enrolls a device (QR code as a data: image), activates it only with a valid first code, and consumes that code', async () => {
      const acc = await makeAccount();
      const alias = await makeAlias(acc.memberNo);
      const sub = await makeSubAccount(acc.memberNo, { isMfaMandatory: true });
      const agent = browser(app);
      await passwordStep(agent, `/console/login/${alias}`, sub.loginId);
      const page = await agent.get('/console/login/mfa').expect(200);
      expect(page.text).to.contain('Set up two-factor authentication');
      expect(page.text).to.match(/<img src="data:image\/png;base64,[A-Za-z0-9+/=]+"/);
      const secret = /<code class="secret">([A-Z2-7]+)<\/code>/.exec(page.text)?.[1];
      expect(secret, 'the key for manual entry').to.be.a('string');
      // Before confirmation nothing is stored on the sub account.
      let stored = await SubAccount.findOne({ accountId: acc.memberNo, subAccountId: sub.subAccountId })
        .select('+mfaSecretEncrypted')
        .lean();
      expect(stored).to.include({ mfaEnabled: false, mfaSecretEncrypted: null });

      const wrong = await submit(agent, '/console/login/mfa', { code: await wrongCode(secret!) }).expect(401);
      expect(wrong.text).to.contain('Set up two-factor authentication').and.contain(secret!);
      stored = await SubAccount.findOne({ accountId: acc.memberNo, subAccountId: sub.subAccountId }).select('+mfaSecretEncrypted').lean();
      expect(stored!.mfaEnabled).to.equal(false);

      const code = await freshCode(secret!);
      const res = await submit(agent, '/console/login/mfa', { code }).expect(303, '/console');
      const session = await ConsoleSession.findOne({
        accountId: acc.memberNo,
        tokenHash: tokenHashOf(setCookie(res, 'gh_console')!.value),
      }).lean();
      expect(session!.mfa).to.equal(true);
      stored = await SubAccount.findOne({ accountId: acc.memberNo, subAccountId: sub.subAccountId }).select('+mfaSecretEncrypted').lean();
      expect(stored!.mfaEnabled).to.equal(true);
      // Stored envelope-encrypted under the sub account's context, never in clear.
      expect(stored!.mfaSecretEncrypted)
        .to.match(/^gh1\./)
        .and.not.contain(secret!);
      expect(testKeyring().decrypt(stored!.mfaSecretEncrypted!, subAccountMfaContext(sub.subAccountId))).to.equal(secret);
      expect(stored!.mfaLastStep).to.be.greaterThan(0);

      // Next sign-in: the enrolled device is asked for, and the enrollment code cannot be replayed.
      const next = browser(app);
      await passwordStep(next, `/console/login/${alias}`, sub.loginId);
      const verifyPage = await next.get('/console/login/mfa').expect(200);
      expect(verifyPage.text).not.to.contain('data:image/png');
      await submit(next, '/console/login/mfa', { code }).expect(401);
    });

    it('does not ask for a code when MFA is neither enrolled nor mandatory', async () => {
      const acc = await makeAccount();
      const alias = await makeAlias(acc.memberNo);
      const sub = await makeSubAccount(acc.memberNo);
      await submit(browser(app), `/console/login/${alias}`, { loginId: sub.loginId, password: PASSWORD }).expect(303, '/console');
    });
  });
});
