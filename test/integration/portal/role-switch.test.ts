/**
 * Switch role from the user portal (issue 7 "User portal"; ARCHITECTURE.md "role switch";
 * reference/ncloud-model.md §2A steps 6-8): console and API access allowed and refused by the
 * assignment's IP ACLs, with the client IP taken through trusted proxies only (security-bar §6
 * item 39); the console session and the STS credentials act with exactly the permission set's
 * policies as `ncp:principalType = IamRole`, `ncp:sourceIdentityId` = the SSO user; they stop
 * at the role's expiry, with the SSO session (console), and when the assignment is suspended;
 * CSRF (item 44) and another tenant's assignment (item 45).
 */
import { expect } from 'chai';
import request from 'supertest';
import { endSsoSession } from '../../../src/auth/sso-session.js';
import { ConsoleSession } from '../../../src/iam/sessions/console-session.model.js';
import { hashToken } from '../../../src/iam/sessions/session.service.js';
import { StsCredential } from '../../../src/iam/sts/sts-credential.model.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { testApp, testConfig } from '../../helpers/app.js';
import { ACCOUNT, rootSigner, signer, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';
import {
  BASE_URL,
  ORIGIN,
  consoleCookieOf,
  createAssignment,
  createIpAcl,
  createPermissionSet,
  createTenant,
  createUser,
  signedIn,
  textOf,
  userPolicy,
  type TestSession,
} from './portal-fixtures.js';

const OTHER_ACCOUNT = 2_000_002;
const OFFICE_IP = '203.0.113.5';
const HOME_IP = '198.51.100.9';
const env = { GATEHOUSE_BASE_URL: BASE_URL, TRUST_PROXY: '1' };

describe('portal: switch role (console and API)', function () {
  this.timeout(90_000);
  useTestDatabase('portalswitch');
  const app = testApp({ env, db: { ping: async () => true } });
  // The same deployment without a trusted proxy: X-Forwarded-For is the client's word, ignored.
  const appNoProxy = testApp({ env: { GATEHOUSE_BASE_URL: BASE_URL }, db: { ping: async () => true } });
  const config = testConfig(env);
  let root: Signer;
  let tenantId: string;
  let alice: { userId: string; loginId: string };
  let bob: { userId: string; loginId: string };
  /** console from the office network only, API from the home network only */
  let restricted: { assignmentId: string; roleId: string; roleNrn: string };
  let open: { assignmentId: string; roleId: string; roleNrn: string };
  let consoleOnly: { assignmentId: string; roleId: string; roleNrn: string };
  let foreignAssignmentId: string;

  const portal = (path: string) => `/tenants/${tenantId}/portal${path}`;
  const post = (s: TestSession, path: string, opts: { ip?: string; csrf?: string | null; origin?: string | null; target?: typeof app } = {}) => {
    let t = request(opts.target ?? app).post(`/tenants/${s.tenantId}/portal${path}`).set('Cookie', s.cookie).type('form');
    if (opts.origin !== null) t = t.set('Origin', opts.origin ?? ORIGIN);
    if (opts.ip) t = t.set('X-Forwarded-For', opts.ip);
    return t.send(opts.csrf === null ? {} : { _csrf: opts.csrf ?? s.csrf });
  };
  /** An admin API call with the console cookie (and its CSRF header for writes). */
  const adminCall = (cookie: string, method: 'get' | 'post', path: string, opts: { ip?: string; csrf?: string; body?: object } = {}) => {
    let t = request(app)[method](path).set('Cookie', cookie);
    if (opts.ip) t = t.set('X-Forwarded-For', opts.ip);
    if (opts.csrf) t = t.set('X-CSRF-Token', opts.csrf);
    return opts.body ? t.send(opts.body) : t;
  };
  const consoleCsrf = async (consoleCookie: string) =>
    (await ConsoleSession.findOne({ tokenHash: hashToken(consoleCookie.split('=')[1]!) }).setOptions({ unscoped: true }).orFail().lean()).csrfToken;

  before(async () => {
    root = await rootSigner(app);
    tenantId = await createTenant(ACCOUNT, 'portalco');
    alice = await createUser(ACCOUNT, tenantId, { firstName: 'Alice' });
    bob = await createUser(ACCOUNT, tenantId, { firstName: 'Bob' });
    // The permission set's policy: group list for everyone in the role; user list only when the
    // caller is a role session whose source identity is Alice (ncp:principalType/sourceIdentityId).
    await userPolicy(ACCOUNT, 'PortalPolicy', {
      permissions: [
        { effect: 'Allow', targets: [{ product: 'SSO', actions: ['View/getGroupList'], resourceNrns: ['*'] }] },
        {
          effect: 'Allow',
          targets: [{ product: 'SSO', actions: ['View/getUserList'], resourceNrns: ['*'] }],
          condition: { StringEquals: { 'ncp:principalType': ['IamRole'], 'ncp:sourceIdentityId': [alice.userId] } },
        },
      ],
    });
    const setId = await createPermissionSet(root, 'PortalOps', { userCreatedPolicyNames: ['PortalPolicy'] });
    const office = await createIpAcl(root, 'office', ['203.0.113.0/24']);
    const home = await createIpAcl(root, 'home', ['198.51.100.0/24']);
    restricted = await createAssignment(root, { assignmentName: 'Restricted', permissionSetId: setId, consoleAccessAllowed: true, apiAccessAllowed: true }, [alice.userId, bob.userId]);
    await root
      .call('put', `${SSO_API_PREFIX}/assignments/${restricted.assignmentId}/ip-acls`, { consoleAccessRestricted: true, consoleAccessIpAclIds: [office], apiAccessRestricted: true, apiAccessIpAclIds: [home] })
      .expect(200);
    open = await createAssignment(root, { assignmentName: 'Open', permissionSetId: setId, consoleAccessAllowed: true, apiAccessAllowed: true }, [alice.userId, bob.userId]);
    consoleOnly = await createAssignment(root, { assignmentName: 'ConsoleOnly', permissionSetId: setId, consoleAccessAllowed: true, apiAccessAllowed: false }, [alice.userId]);

    // Another account's tenant with an assignment of its own.
    const otherRoot = await rootSigner(app, OTHER_ACCOUNT);
    const otherTenant = await createTenant(OTHER_ACCOUNT, 'otherco');
    const otherUser = await createUser(OTHER_ACCOUNT, otherTenant);
    const otherSet = await createPermissionSet(otherRoot, 'OtherSet', { systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] });
    foreignAssignmentId = (await createAssignment(otherRoot, { assignmentName: 'Foreign', permissionSetId: otherSet }, [otherUser.userId])).assignmentId;
  });

  describe('the portal page', () => {
    it('without a session, starts the sign-in and comes back to the portal', async () => {
      const res = await request(app).get(portal('')).expect(303);
      expect(res.headers.location).to.match(new RegExp(`^/tenants/${tenantId}/login\\?interaction=[A-Za-z0-9_-]{22}$`));
    });

    it('lists the accounts and roles with console/API buttons only where the assignment allows them, and the applications’ empty state', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const res = await request(app).get(portal('')).set('Cookie', s.cookie).set('X-Forwarded-For', OFFICE_IP).expect(200);
      expect(res.headers['cache-control']).to.equal('no-store');
      expect(res.headers['content-security-policy']).to.contain("frame-ancestors 'none'");
      expect(textOf(res.text, 'user-name')).to.equal('Alice');
      expect(textOf(res.text, 'apps-empty')).to.contain('appear here when your administrator assigns them');
      expect(res.text).to.contain(restricted.roleNrn).and.contain(open.roleNrn).and.contain(consoleOnly.roleNrn);
      expect(res.text).to.contain(`action="/tenants/${tenantId}/portal/roles/${consoleOnly.assignmentId}/console"`);
      expect(res.text, 'no API button where the assignment does not allow API access').to.not.contain(`/roles/${consoleOnly.assignmentId}/api`);
      // From the office the restricted console is offered; its API (home network only) is not.
      expect(res.text).to.contain(`/roles/${restricted.assignmentId}/console"`);
      expect(res.text).to.not.contain(`/roles/${restricted.assignmentId}/api"`);
      expect(res.text).to.contain(`action="/tenants/${tenantId}/logout"`);
      expect(res.text).to.contain(`name="_csrf" value="${s.csrf}"`);
      expect(res.text, 'no inline script or style').to.not.match(/<script|style=/);
      await request(app).get(portal('/assets/portal.css')).expect(200).expect('content-type', /css/);
    });
  });

  describe('console', () => {
    it('allowed from an address inside the console IP ACLs (X-Forwarded-For of the trusted hop): a console session as the role, 303 /console', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const res = await post(s, `/roles/${restricted.assignmentId}/console`, { ip: OFFICE_IP }).expect(303);
      expect(res.headers.location).to.equal('/console');
      const cookie = consoleCookieOf(res);
      const stored = await ConsoleSession.findOne({ tokenHash: hashToken(cookie.split('=')[1]!) }).setOptions({ unscoped: true }).orFail().lean();
      expect(stored).to.include({ kind: 'SsoRole', accountId: ACCOUNT, switchedRoleId: restricted.roleId, ssoTenantId: tenantId, ssoUserId: alice.userId, ssoSessionId: s.sessionId, subAccountId: null });
      // one hour: the SSO role's session duration
      expect(stored.absoluteExpiresAt.getTime() - Date.now()).to.be.within(3590_000, 3600_000);
      // The SSO session records the permission set (reference §2A step 7).
      const sso = await SsoUserSession.findOne({ tenantId, sessionId: s.sessionId }).orFail().lean();
      expect(sso.permissionSetName).to.equal('PortalOps');
      // The console page shows who is acting.
      const page = await request(app).get('/console').set('Cookie', cookie).set('X-Forwarded-For', OFFICE_IP).expect(200);
      expect(textOf(page.text, 'who')).to.match(/^[0-9a-f]{8}@example\.com \(SSO user, as role GatehouseSSO_PortalOps_[0-9a-f]+\)$/);
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/switchRole', nrn: restricted.roleNrn }).orFail().lean();
      expect(ev.actor).to.include({ kind: 'Role', sourceIdentityId: alice.userId });
    });

    it('refused (403, no session) from an address outside the console IP ACLs, and for a spoofed X-Forwarded-For entry behind the trusted hop', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const before = await ConsoleSession.countDocuments({ kind: 'SsoRole' }).setOptions({ unscoped: true });
      const res = await post(s, `/roles/${restricted.assignmentId}/console`, { ip: HOME_IP }).expect(403);
      expect(textOf(res.text, 'error-message')).to.contain('not allowed from your network address');
      // The client wrote the office address first; the trusted proxy appended the real one.
      await post(s, `/roles/${restricted.assignmentId}/console`, { ip: `${OFFICE_IP}, ${HOME_IP}` }).expect(403);
      expect(res.headers['set-cookie'] ?? []).to.satisfy((c: string[]) => !c.some((x) => x.startsWith('gh_console=')));
      expect(await ConsoleSession.countDocuments({ kind: 'SsoRole' }).setOptions({ unscoped: true })).to.equal(before);
    });

    it('X-Forwarded-For from an untrusted hop does not pass the console IP ACLs', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      await post(s, `/roles/${restricted.assignmentId}/console`, { ip: OFFICE_IP, target: appNoProxy }).expect(403);
    });

    it('the role session authorizes admin API calls with exactly the permission set’s policies, conditions on ncp:principalType and ncp:sourceIdentityId included', async () => {
      const sa = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const aliceConsole = consoleCookieOf(await post(sa, `/roles/${open.assignmentId}/console`).expect(303));
      const sb = await signedIn(config, ACCOUNT, tenantId, bob.userId);
      const bobConsole = consoleCookieOf(await post(sb, `/roles/${open.assignmentId}/console`).expect(303));

      await adminCall(aliceConsole, 'get', `${SSO_API_PREFIX}/groups`).expect(200);
      await adminCall(bobConsole, 'get', `${SSO_API_PREFIX}/groups`).expect(200);
      // IamRole + Alice as the source identity: allowed; Bob in the same role: denied.
      await adminCall(aliceConsole, 'get', `${SSO_API_PREFIX}/users`).expect(200);
      const denied = await adminCall(bobConsole, 'get', `${SSO_API_PREFIX}/users`).expect(403);
      expect(denied.body.error.errorCode).to.equal('FORBIDDEN');
      // An action the permission set does not grant.
      const csrf = await consoleCsrf(aliceConsole);
      await adminCall(aliceConsole, 'post', `${SSO_API_PREFIX}/groups`, { csrf, body: { groupName: 'nope' } }).expect(403);
      // A role session cannot mint STS credentials or "return to a sub account".
      await adminCall(aliceConsole, 'post', '/api/v1/sts/credentials', { csrf, body: { durationSec: 900 } }).expect(403);
    });

    it('signing out of the console ends the role session and goes back to the portal; the SSO session stays', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const cookie = consoleCookieOf(await post(s, `/roles/${open.assignmentId}/console`).expect(303));
      const home = await request(app).get('/console').set('Cookie', cookie).expect(200);
      const csrf = /name="_csrf" value="([^"]+)"/.exec(home.text)![1]!;
      const setCookies = ([] as string[]).concat(home.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!);
      const out = await request(app)
        .post('/console/logout')
        .set('Cookie', [cookie, ...setCookies].join('; '))
        .set('Origin', ORIGIN)
        .type('form')
        .send({ _csrf: csrf })
        .expect(303);
      expect(out.headers.location).to.equal(`/tenants/${tenantId}/portal`);
      await adminCall(cookie, 'get', `${SSO_API_PREFIX}/groups`).expect(401);
      await request(app).get(portal('')).set('Cookie', s.cookie).expect(200);
    });

    it('a restricted role session is refused from another address on every request', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const cookie = consoleCookieOf(await post(s, `/roles/${restricted.assignmentId}/console`, { ip: OFFICE_IP }).expect(303));
      await adminCall(cookie, 'get', `${SSO_API_PREFIX}/groups`, { ip: OFFICE_IP }).expect(200);
      await adminCall(cookie, 'get', `${SSO_API_PREFIX}/groups`, { ip: HOME_IP }).expect(403);
    });

    it('ending the SSO session ends the role’s console session; so does the SSO session vanishing elsewhere, or the role’s duration elapsing', async () => {
      const s1 = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const c1 = consoleCookieOf(await post(s1, `/roles/${open.assignmentId}/console`).expect(303));
      await adminCall(c1, 'get', `${SSO_API_PREFIX}/groups`).expect(200);
      expect(await endSsoSession(tenantId, s1.sessionId, 'logout')).to.equal(true);
      await adminCall(c1, 'get', `${SSO_API_PREFIX}/groups`).expect(401);
      expect(await ConsoleSession.countDocuments({ ssoSessionId: s1.sessionId }).setOptions({ unscoped: true }), 'deleted by the session-end listener').to.equal(0);
      const page = await request(app).get('/console').set('Cookie', c1).expect(303);
      expect(page.headers.location).to.equal('/console/login');

      // Another process deleted the SSO session (no listener here): the check on use refuses.
      const s2 = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const c2 = consoleCookieOf(await post(s2, `/roles/${open.assignmentId}/console`).expect(303));
      await SsoUserSession.deleteOne({ tenantId, sessionId: s2.sessionId });
      await adminCall(c2, 'get', `${SSO_API_PREFIX}/groups`).expect(401);

      const s3 = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const c3 = consoleCookieOf(await post(s3, `/roles/${open.assignmentId}/console`).expect(303));
      await ConsoleSession.updateOne({ tokenHash: hashToken(c3.split('=')[1]!) }, { $set: { switchedRoleExpiresAt: new Date(Date.now() - 1000) } }).setOptions({ unscoped: true });
      await adminCall(c3, 'get', `${SSO_API_PREFIX}/groups`).expect(401);
    });

    it('suspending the user ends the role session (credential generation)', async () => {
      const carol = await createUser(ACCOUNT, tenantId);
      await root.call('post', `${SSO_API_PREFIX}/assignments/${open.assignmentId}/targets`, { targetType: 'user', targetIds: [carol.userId] }).expect(200);
      const s = await signedIn(config, ACCOUNT, tenantId, carol.userId);
      const c = consoleCookieOf(await post(s, `/roles/${open.assignmentId}/console`).expect(303));
      await adminCall(c, 'get', `${SSO_API_PREFIX}/groups`).expect(200);
      await SsoUser.updateOne({ tenantId, userId: carol.userId }, { $set: { status: 'SUSPENDED' }, $inc: { credentialGeneration: 1 } });
      await adminCall(c, 'get', `${SSO_API_PREFIX}/groups`).expect(401);
    });
  });

  describe('API', () => {
    it('allowed from inside the API IP ACLs: credentials shown once (no-store) that sign as the role with the permission set’s policies', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const res = await post(s, `/roles/${restricted.assignmentId}/api`, { ip: HOME_IP }).expect(200);
      expect(res.headers['cache-control']).to.equal('no-store');
      const accessKey = textOf(res.text, 'access-key');
      const secret = textOf(res.text, 'secret-key');
      expect(textOf(res.text, 'role-nrn')).to.equal(restricted.roleNrn);
      const cred = await StsCredential.findOne({ accessKey }).select('+secretEncrypted').setOptions({ unscoped: true }).orFail().lean();
      expect(cred).to.include({ accountId: ACCOUNT, roleId: restricted.roleId, sourceIdentityId: alice.userId, sourceIdentityType: 'SsoUser', ssoTenantId: tenantId, subAccountId: null });
      expect(cred.expiresAt.getTime() - Date.now()).to.be.within(3590_000, 3600_000);
      expect(cred.secretEncrypted, 'stored encrypted').to.not.contain(secret);

      const key = signer(app, accessKey, secret);
      const from = { 'x-forwarded-for': HOME_IP };
      await key.call('get', `${SSO_API_PREFIX}/groups`, undefined, from).expect(200);
      await key.call('get', `${SSO_API_PREFIX}/users`, undefined, from).expect(200);
      await key.call('post', `${SSO_API_PREFIX}/groups`, { groupName: 'nope' }, from).expect(403);
      // Outside the API IP ACLs the same credentials are refused.
      await key.call('get', `${SSO_API_PREFIX}/groups`, undefined, { 'x-forwarded-for': OFFICE_IP }).expect(403);
      // ...and they stop at expiry.
      await StsCredential.updateOne({ accessKey }, { $set: { expiresAt: new Date(Date.now() - 1000) } }).setOptions({ unscoped: true });
      const expired = await key.call('get', `${SSO_API_PREFIX}/groups`, undefined, from).expect(401);
      expect(expired.body.error.errorCode).to.equal('UNAUTHENTICATED');
    });

    it('a policy condition on ncp:sourceIdentityId tells the users of one role apart', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, bob.userId);
      const res = await post(s, `/roles/${open.assignmentId}/api`).expect(200);
      const key = signer(app, textOf(res.text, 'access-key'), textOf(res.text, 'secret-key'));
      await key.call('get', `${SSO_API_PREFIX}/groups`).expect(200);
      await key.call('get', `${SSO_API_PREFIX}/users`).expect(403);
    });

    it('refused outside the API IP ACLs, behind a spoofed X-Forwarded-For, from an untrusted hop, and where the assignment or the user does not allow API access', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const before = await StsCredential.countDocuments({ roleId: restricted.roleId, accountId: ACCOUNT });
      await post(s, `/roles/${restricted.assignmentId}/api`, { ip: OFFICE_IP }).expect(403);
      await post(s, `/roles/${restricted.assignmentId}/api`, { ip: `${HOME_IP}, ${OFFICE_IP}` }).expect(403);
      await post(s, `/roles/${restricted.assignmentId}/api`, { ip: HOME_IP, target: appNoProxy }).expect(403);
      expect(await StsCredential.countDocuments({ roleId: restricted.roleId, accountId: ACCOUNT })).to.equal(before);
      const res = await post(s, `/roles/${consoleOnly.assignmentId}/api`).expect(403);
      expect(textOf(res.text, 'error-message')).to.equal('API: this assignment does not allow it');
      const dave = await createUser(ACCOUNT, tenantId, { api: false });
      await root.call('post', `${SSO_API_PREFIX}/assignments/${open.assignmentId}/targets`, { targetType: 'user', targetIds: [dave.userId] }).expect(200);
      const sd = await signedIn(config, ACCOUNT, tenantId, dave.userId);
      await post(sd, `/roles/${open.assignmentId}/api`).expect(403);
    });
  });

  describe('suspension, isolation and CSRF', () => {
    it('a suspended assignment disappears from the portal, its switch is refused and its live role sessions and credentials end', async () => {
      const set = await createPermissionSet(root, 'Suspendable', { userCreatedPolicyNames: ['PortalPolicy'] });
      const a = await createAssignment(root, { assignmentName: 'Suspendable', permissionSetId: set, apiAccessAllowed: true }, [alice.userId]);
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const c = consoleCookieOf(await post(s, `/roles/${a.assignmentId}/console`).expect(303));
      const apiPage = await post(s, `/roles/${a.assignmentId}/api`).expect(200);
      const key = signer(app, textOf(apiPage.text, 'access-key'), textOf(apiPage.text, 'secret-key'));
      await key.call('get', `${SSO_API_PREFIX}/groups`).expect(200);

      await root.call('put', `${SSO_API_PREFIX}/assignments/${a.assignmentId}/status`, { status: 'SUSPENDED' }).expect(200);
      const page = await request(app).get(portal('')).set('Cookie', s.cookie).expect(200);
      expect(page.text).to.not.contain(a.roleNrn);
      await post(s, `/roles/${a.assignmentId}/console`).expect(404);
      await post(s, `/roles/${a.assignmentId}/api`).expect(404);
      await adminCall(c, 'get', `${SSO_API_PREFIX}/groups`).expect(401);
      await key.call('get', `${SSO_API_PREFIX}/groups`).expect(401);
    });

    it('deleting the assignment ends its role’s console sessions and credentials', async () => {
      const set = await createPermissionSet(root, 'Deletable', { userCreatedPolicyNames: ['PortalPolicy'] });
      const a = await createAssignment(root, { assignmentName: 'Deletable', permissionSetId: set, apiAccessAllowed: true }, [alice.userId]);
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const c = consoleCookieOf(await post(s, `/roles/${a.assignmentId}/console`).expect(303));
      const apiPage = await post(s, `/roles/${a.assignmentId}/api`).expect(200);
      const key = signer(app, textOf(apiPage.text, 'access-key'), textOf(apiPage.text, 'secret-key'));
      await adminCall(c, 'get', `${SSO_API_PREFIX}/groups`).expect(200);
      await root.call('delete', `${SSO_API_PREFIX}/assignments/${a.assignmentId}`).expect((r) => expect(r.status).to.be.oneOf([200, 204]));
      await adminCall(c, 'get', `${SSO_API_PREFIX}/groups`).expect(401);
      await key.call('get', `${SSO_API_PREFIX}/groups`).expect(401);
      await post(s, `/roles/${a.assignmentId}/console`).expect(404);
    });

    it('another tenant’s assignment id, an unknown id and a malformed id → 404, nothing issued', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const before = await ConsoleSession.countDocuments({ kind: 'SsoRole' }).setOptions({ unscoped: true });
      await post(s, `/roles/${foreignAssignmentId}/console`).expect(404);
      await post(s, `/roles/${foreignAssignmentId}/api`).expect(404);
      await post(s, '/roles/00000000-0000-4000-8000-000000000000/console').expect(404);
      await post(s, '/roles/%24ne/console').expect(404);
      expect(await ConsoleSession.countDocuments({ kind: 'SsoRole' }).setOptions({ unscoped: true })).to.equal(before);
    });

    it('a session of one tenant is not a session of another tenant', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const res = await request(app).get('/tenants/otherco/portal').set('Cookie', s.cookie).expect(303);
      expect(res.headers.location).to.match(/\/login\?interaction=/);
    });

    it('CSRF: a POST without the token, with another session’s token, with a foreign Origin or with no origin information → 403, nothing issued', async () => {
      const s = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const other = await signedIn(config, ACCOUNT, tenantId, alice.userId);
      const before = await ConsoleSession.countDocuments({ kind: 'SsoRole' }).setOptions({ unscoped: true });
      const noToken = await post(s, `/roles/${open.assignmentId}/console`, { csrf: null }).expect(403);
      expect(textOf(noToken.text, 'error-message')).to.contain('expired or was not sent from the portal');
      await post(s, `/roles/${open.assignmentId}/console`, { csrf: other.csrf }).expect(403);
      await post(s, `/roles/${open.assignmentId}/api`, { origin: 'https://evil.example' }).expect(403);
      await post(s, `/roles/${open.assignmentId}/api`, { origin: null }).expect(403);
      expect(await ConsoleSession.countDocuments({ kind: 'SsoRole' }).setOptions({ unscoped: true })).to.equal(before);
      // Sec-Fetch-Site: same-origin stands in for the Origin a no-referrer page's form post lacks.
      await request(app).post(portal(`/roles/${open.assignmentId}/console`)).set('Cookie', s.cookie).set('Sec-Fetch-Site', 'same-origin').type('form').send({ _csrf: s.csrf }).expect(303);
    });

    it('a POST without a session goes back to the portal', async () => {
      const res = await request(app).post(portal(`/roles/${open.assignmentId}/console`)).set('Origin', ORIGIN).type('form').send({ _csrf: 'x' }).expect(303);
      expect(res.headers.location).to.equal(`/tenants/${tenantId}/portal`);
    });
  });
});
