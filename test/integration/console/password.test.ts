/**
 * Password change from the console (`/console/password`): forced before anything else when the
 * password expired (Account.settings.passwordExpiryDays), was reset by an admin
 * (needPasswordReset) or generated at bootstrap (root); while forced, the admin API refuses the
 * session (403) — including the settings route whose path also ends in "/password". A change
 * ends every other session of the identity and replaces the current one.
 */
import { expect } from 'chai';
import supertest from 'supertest';
import { Account } from '../../../src/iam/accounts/account.model.js';
import { IDENTITY_RULE } from '../../../src/iam/auth/login-throttle.js';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { ConsoleSession } from '../../../src/iam/sessions/console-session.model.js';
import { SubAccount } from '../../../src/iam/sub-accounts/sub-account.model.js';
import { verifyPassword } from '../../../src/shared/password-hash.js';
import { testApp } from '../../helpers/app.js';
import { allow } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';
import { PASSWORD, browser, makeAccount, makeAlias, makeSubAccount, setCookie, submit, tokenHashOf } from './console-helpers.js';

const API = '/api/v1/subaccount';
const NEW_PASSWORD = 'a brand new passphrase';
const DAY_MS = 86_400_000;

describe('Console password change', function () {
  this.timeout(60_000);
  useTestDatabase('consolepassword');
  const app = testApp({ db: { ping: async () => true } });

  async function sessionOf(accountId: number, token: string) {
    return ConsoleSession.findOne({ accountId, tokenHash: tokenHashOf(token) }).lean();
  }

  async function viewerSub(accountId: number, overrides: Record<string, unknown>) {
    await Policy.updateOne(
      { accountId, policyId: 'list-subs' },
      {
        $setOnInsert: {
          accountId,
          policyId: 'list-subs',
          name: 'listsubs',
          nameKey: 'listsubs',
          document: allow(['View/getSubAccountList']).document,
        },
      },
      { upsert: true },
    );
    return makeSubAccount(accountId, { policyIds: ['list-subs'], ...overrides });
  }

  it('forces a change when the password is older than passwordExpiryDays; until then the API answers 403', async () => {
    const acc = await makeAccount({ settings: { passwordExpiryDays: 90 } });
    const alias = await makeAlias(acc.memberNo);
    const sub = await viewerSub(acc.memberNo, { passwordChangedAt: new Date(Date.now() - 100 * DAY_MS) });
    // Another browser signed in earlier: it must be signed out by the change.
    const other = browser(app);
    const otherToken = setCookie(
      await submit(other, `/console/login/${alias}`, { loginId: sub.loginId, password: PASSWORD }).expect(303, '/console/password'),
      'gh_console',
    )!.value;

    const agent = browser(app);
    const signIn = await submit(agent, `/console/login/${alias}`, { loginId: sub.loginId, password: PASSWORD }).expect(
      303,
      '/console/password',
    );
    const token = setCookie(signIn, 'gh_console')!.value;
    expect((await sessionOf(acc.memberNo, token))!.mustChangePassword).to.equal(true);
    await agent.get('/console').expect(303).expect('Location', '/console/password');
    const page = await agent.get('/console/password').expect(200);
    expect(page.text).to.contain('Your password has expired or was reset');
    const api = await supertest(app).get(`${API}/sub-accounts`).set('Cookie', `gh_console=${token}`).expect(403);
    expect(api.body.error.detail).to.contain('password must be changed');

    // Bad input changes nothing.
    const form = (fields: Record<string, string>) => submit(agent, '/console/password', fields);
    expect(
      (await form({ currentPassword: 'not it at all', newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }).expect(400)).text,
    ).to.contain('current password is not correct');
    expect((await form({ currentPassword: PASSWORD, newPassword: 'short', confirmPassword: 'short' }).expect(400)).text).to.contain(
      'at least 12 characters',
    );
    expect(
      (await form({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD, confirmPassword: `${NEW_PASSWORD}!` }).expect(400)).text,
    ).to.contain('differ');
    expect((await form({ currentPassword: PASSWORD, newPassword: PASSWORD, confirmPassword: PASSWORD }).expect(400)).text).to.contain(
      'different from the current one',
    );
    const unchanged = await SubAccount.findOne({ accountId: acc.memberNo, subAccountId: sub.subAccountId }).select('+passwordHash').lean();
    expect(await verifyPassword(unchanged!.passwordHash, PASSWORD)).to.equal(true);
    expect(unchanged!.credentialGeneration).to.equal(0);

    const changed = await form({ currentPassword: PASSWORD, newPassword: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }).expect(
      303,
      '/console',
    );
    const newToken = setCookie(changed, 'gh_console')!.value;
    expect(newToken).not.to.equal(token);
    const replaced = await sessionOf(acc.memberNo, newToken);
    expect(replaced).to.include({ mustChangePassword: false, credentialGeneration: 1 });
    expect(await sessionOf(acc.memberNo, token)).to.equal(null);
    expect(await sessionOf(acc.memberNo, otherToken)).to.equal(null);
    await other.get('/console').expect(303).expect('Location', '/console/login');

    const stored = await SubAccount.findOne({ accountId: acc.memberNo, subAccountId: sub.subAccountId }).select('+passwordHash').lean();
    expect(await verifyPassword(stored!.passwordHash, NEW_PASSWORD)).to.equal(true);
    expect(stored!.passwordChangedAt!.getTime()).to.be.greaterThan(Date.now() - 60_000);
    await agent.get('/console').expect(200);
    await supertest(app).get(`${API}/sub-accounts`).set('Cookie', `gh_console=${newToken}`).expect(200);
    // The next sign-in is not forced any more.
    await submit(browser(app), `/console/login/${alias}`, { loginId: sub.loginId, password: NEW_PASSWORD }).expect(303, '/console');
  });

  it('does not force a change for a password younger than passwordExpiryDays', async () => {
    const acc = await makeAccount({ settings: { passwordExpiryDays: 90 } });
    const alias = await makeAlias(acc.memberNo);
    const sub = await makeSubAccount(acc.memberNo, { passwordChangedAt: new Date(Date.now() - 80 * DAY_MS) });
    await submit(browser(app), `/console/login/${alias}`, { loginId: sub.loginId, password: PASSWORD }).expect(303, '/console');
  });

  it('forces a change after an admin reset (needPasswordReset) and clears the flag', async () => {
    const acc = await makeAccount();
    const alias = await makeAlias(acc.memberNo);
    const sub = await makeSubAccount(acc.memberNo, { needPasswordReset: true });
    const agent = browser(app);
    await submit(agent, `/console/login/${alias}`, { loginId: sub.loginId, password: PASSWORD }).expect(303, '/console/password');
    await submit(agent, '/console/password', {
      currentPassword: PASSWORD,
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
    }).expect(303, '/console');
    const stored = await SubAccount.findOne({ accountId: acc.memberNo, subAccountId: sub.subAccountId }).lean();
    expect(stored!.needPasswordReset).to.equal(false);
  });

  it('forces root to replace a generated password; the settings route ending in /password is refused until then', async () => {
    const acc = await makeAccount({ rootPasswordGenerated: true });
    const agent = browser(app);
    const token = setCookie(
      await submit(agent, '/console/login', { loginId: acc.rootLoginId, password: PASSWORD }).expect(303, '/console/password'),
      'gh_console',
    )!.value;
    const { csrfToken } = (await sessionOf(acc.memberNo, token))!;
    const refused = await supertest(app)
      .put(`${API}/settings/password`)
      .set('Cookie', `gh_console=${token}`)
      .set('X-CSRF-Token', csrfToken)
      .send({ passwordExpiryDays: 60 })
      .expect(403);
    expect(refused.body.error.detail).to.contain('password must be changed');
    expect((await Account.findOne({ memberNo: acc.memberNo }).lean())!.settings!.passwordExpiryDays).to.equal(null);

    const changed = await submit(agent, '/console/password', {
      currentPassword: PASSWORD,
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
    }).expect(303, '/console');
    const newToken = setCookie(changed, 'gh_console')!.value;
    const stored = await Account.findOne({ memberNo: acc.memberNo }).lean();
    expect(stored).to.include({ rootPasswordGenerated: false, rootCredentialGeneration: 1 });
    const fresh = (await sessionOf(acc.memberNo, newToken))!;
    await supertest(app)
      .put(`${API}/settings/password`)
      .set('Cookie', `gh_console=${newToken}`)
      .set('X-CSRF-Token', fresh.csrfToken)
      .send({ passwordExpiryDays: 60 })
      .expect(200);
  });

  it('lets a signed-in user change the password at will, and counts wrong current passwords toward the lockout', async () => {
    const acc = await makeAccount();
    const agent = browser(app);
    await submit(agent, '/console/login', { loginId: acc.rootLoginId, password: PASSWORD }).expect(303, '/console');
    const page = await agent.get('/console/password').expect(200);
    expect(page.text).not.to.contain('has expired or was reset');
    for (let i = 0; i < IDENTITY_RULE.limit; i++) {
      await submit(agent, '/console/password', {
        currentPassword: `guess ${i}`,
        newPassword: NEW_PASSWORD,
        confirmPassword: NEW_PASSWORD,
      }).expect(400);
    }
    // Locked: even the right current password gets the same answer, and sign-in is locked too.
    const locked = await submit(agent, '/console/password', {
      currentPassword: PASSWORD,
      newPassword: NEW_PASSWORD,
      confirmPassword: NEW_PASSWORD,
    }).expect(400);
    expect(locked.text).to.contain('current password is not correct');
    await submit(browser(app), '/console/login', { loginId: acc.rootLoginId, password: PASSWORD }).expect(401);
  });

  it('sends a signed-out browser to sign-in instead of the password page', async () => {
    await supertest(app).get('/console/password').expect(303).expect('Location', '/console/login');
  });
});
