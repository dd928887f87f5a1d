import { randomBytes, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import mongoose from 'mongoose';
import request from 'supertest';
import { ChangeStamps, accountScope } from '../../../src/iam/change-stamps.js';
import { buildRoleNrn } from '../../../src/iam/nrn.js';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { RoleServerBinding } from '../../../src/iam/roles/role-server-binding.model.js';
import { ROLE_LIMIT, Role } from '../../../src/iam/roles/role.model.js';
import { provisionSsoRole, removeSsoRole, ssoRoleId } from '../../../src/iam/roles/sso-role.service.js';
import { ConsoleSession } from '../../../src/iam/sessions/console-session.model.js';
import { createSession } from '../../../src/iam/sessions/session.service.js';
import { StsCredential, stsSecretContext } from '../../../src/iam/sts/sts-credential.model.js';
import { findManagedPolicy } from '../../../src/policy/index.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { testApp, testKeyring } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, signer, subAccountSigner, type Signer, type TestSubAccount } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/subaccount';
const FOREIGN = 2000002;
const VIEWER_ID = findManagedPolicy('NCP_SUB_ACCOUNT_VIEWER')!.id;
const MANAGER_ID = findManagedPolicy('NCP_SUB_ACCOUNT_MANAGER')!.id;

interface RoleBody {
  roleId: string;
  nrn: string;
  roleName: string;
  roleType: string;
  status: string;
  policyIds: string[];
  targetAccounts: number[];
  sessionExpirationSec: number | null;
}

let nameSeq = 0;
const uniqueName = (prefix = 'role') => `${prefix}${++nameSeq}${randomBytes(2).toString('hex')}`;

describe('Sub Account API: roles', function () {
  this.timeout(30_000);
  useTestDatabase('roles');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;

  before(async () => {
    root = await rootSigner(app);
  });

  async function createRole(body: Record<string, unknown>, as: Signer = root): Promise<RoleBody> {
    const res = await as.call('post', `${BASE}/roles`, { roleName: uniqueName(), roleType: 'Account', ...body });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as RoleBody;
  }

  /** A console session of a sub account, as the console login creates it (cookie + synchronizer token). */
  async function consoleOf(sub: { subAccountId: string }, accountId = ACCOUNT) {
    const { token, session } = await createSession({
      accountId,
      kind: 'SubAccount',
      subAccountId: sub.subAccountId,
      credentialGeneration: 0,
      mfa: false,
      mustChangePassword: false,
      idleTimeoutSec: 600,
      sourceIp: '127.0.0.1',
    });
    const cookie = `gh_console=${token}`;
    return {
      session,
      get: (path: string) => request(app).get(path).set('Cookie', cookie),
      post: (path: string, body: object = {}, csrf = true) => {
        const t = request(app).post(path).set('Cookie', cookie);
        return (csrf ? t.set('X-CSRF-Token', session.csrfToken) : t).send(body);
      },
    };
  }

  /** STS temporary credentials issued for a role (as the STS module stores them), and a signer using them. */
  async function roleStsSigner(roleId: string, sub: TestSubAccount): Promise<Signer> {
    const role = await Role.findOne({ accountId: ACCOUNT, roleId }).orFail().lean();
    const accessKey = ('GHSTS' + randomBytes(12).toString('hex').toUpperCase()).slice(0, 24);
    const secret = randomBytes(30).toString('base64url');
    await StsCredential.create({
      accountId: ACCOUNT,
      accessKey,
      secretEncrypted: testKeyring().encrypt(secret, stsSecretContext(accessKey)),
      subAccountId: sub.subAccountId,
      subAccountGeneration: 0,
      roleId,
      roleGeneration: role.credentialGeneration,
      sourceIdentityId: sub.subAccountId,
      sourceIdentityType: 'SubAccount',
      expiresAt: new Date(Date.now() + 3600_000),
    });
    return signer(app, accessKey, secret);
  }

  describe('CRUD', () => {
    it('creates an account role: NRN, this account as target, default session expiry, managed policy stored by id, audit event', async () => {
      const res = await root
        .call('post', `${BASE}/roles`, { roleName: 'Ops-Admin', roleType: 'Account', description: 'on call', policyIds: ['NCP_SUB_ACCOUNT_VIEWER'], tags: [{ key: 'team', value: 'ops' }] })
        .expect(201);
      const role = res.body as RoleBody;
      expect(role).to.include({ roleName: 'Ops-Admin', roleType: 'Account', status: 'active', sessionExpirationSec: 3600 });
      expect(role.nrn).to.equal(`nrn:PUB:SubAccount::${ACCOUNT}:Role/${role.roleId}`);
      expect(role.targetAccounts).to.deep.equal([ACCOUNT]);
      expect(role.policyIds).to.deep.equal([VIEWER_ID]);
      const stored = await Role.findOne({ accountId: ACCOUNT, roleId: role.roleId }).orFail().lean();
      expect(stored.roleNameKey).to.equal('ops-admin');
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/createRole', result: 'success' }).orFail();
      expect(ev.nrn, 'the create is audited with the NRN it made').to.equal(role.nrn);
      expect(ev.actor?.kind).to.equal('Root');
    });

    it('refuses SSO roles through the API, with a field error, and writes nothing', async () => {
      const before = await Role.countDocuments({ accountId: ACCOUNT });
      const res = await root.call('post', `${BASE}/roles`, { roleName: 'sneaky-sso', roleType: 'SSO' }).expect(400);
      expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
      const err = res.body.error.fieldErrors.find((f: { field: string }) => f.field === 'body.roleType');
      expect(err.message).to.contain('Single Sign-On assignments');
      expect(await Role.countDocuments({ accountId: ACCOUNT })).to.equal(before);
    });

    it('validates name, session expiry choices and unknown fields; writes nothing', async () => {
      const before = await Role.countDocuments({ accountId: ACCOUNT });
      const res = await root.call('post', `${BASE}/roles`, { roleName: '9bad name', roleType: 'Account', sessionExpirationSec: 1200, isAdmin: true }).expect(400);
      const fields = res.body.error.fieldErrors.map((f: { field: string }) => f.field);
      expect(fields).to.include.members(['body.roleName', 'body.sessionExpirationSec']);
      // Unknown fields are refused (mass assignment), reported on the body itself.
      expect(fields).to.include('body');
      const server = await root.call('post', `${BASE}/roles`, { roleName: 'srv-expiry', roleType: 'Server', sessionExpirationSec: 600 }).expect(400);
      expect(server.body.error.fieldErrors[0]).to.deep.include({ field: 'body.sessionExpirationSec' });
      const badPolicy = await root.call('post', `${BASE}/roles`, { roleName: 'with-ghost', roleType: 'Service', policyIds: ['no-such-policy'] }).expect(400);
      expect(badPolicy.body.error.fieldErrors[0].message).to.contain('no-such-policy');
      expect(await Role.countDocuments({ accountId: ACCOUNT })).to.equal(before);
    });

    it('refuses a duplicate name case-insensitively (409) and gives the quota unit back', async () => {
      const quota = () => mongoose.connection.collection<{ _id: string; n: number }>('quotas').findOne({ _id: `roles:${ACCOUNT}` });
      const used = (await quota())?.n;
      const res = await root.call('post', `${BASE}/roles`, { roleName: 'OPS-ADMIN', roleType: 'Service' }).expect(409);
      expect(res.body.error.errorCode).to.equal('CONFLICT');
      expect((await quota())?.n).to.equal(used);
    });

    it('refuses the role after the limit (LIMIT_EXCEEDED), counted atomically', async () => {
      const quotas = mongoose.connection.collection<{ _id: string; n: number }>('quotas');
      const key = `roles:${ACCOUNT}`;
      const used = (await quotas.findOne({ _id: key }))!.n;
      await quotas.updateOne({ _id: key }, { $set: { n: ROLE_LIMIT } });
      try {
        const res = await root.call('post', `${BASE}/roles`, { roleName: 'one-too-many', roleType: 'Service' }).expect(409);
        expect(res.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
        expect(await Role.countDocuments({ accountId: ACCOUNT, roleNameKey: 'one-too-many' })).to.equal(0);
      } finally {
        await quotas.updateOne({ _id: key }, { $set: { n: used } });
      }
    });

    it('lists with paging and a roleType filter; the detail names policies, targets and the NRN', async () => {
      const server = await createRole({ roleType: 'Server' });
      await createRole({ roleType: 'Service' });
      const page1 = await root.call('get', `${BASE}/roles?pageSize=1&pageNo=0`).expect(200);
      expect(page1.body).to.include({ pageNo: 0, pageSize: 1 });
      expect(page1.body.totalElements).to.be.at.least(3);
      expect(page1.body.items).to.have.length(1);
      const servers = await root.call('get', `${BASE}/roles?roleType=Server&pageSize=100`).expect(200);
      expect(servers.body.items.map((r: RoleBody) => r.roleType)).to.satisfy((ts: string[]) => ts.every((t) => t === 'Server'));
      expect(servers.body.items.map((r: RoleBody) => r.roleId)).to.include(server.roleId);
      expect(server.sessionExpirationSec).to.equal(null);
      await root.call('get', `${BASE}/roles?roleType=Admin`).expect(400);

      const acct = await createRole({ policyIds: ['NCP_SUB_ACCOUNT_VIEWER'] });
      const detail = await root.call('get', `${BASE}/roles/${acct.roleId}`).expect(200);
      expect(detail.body.nrn).to.equal(buildRoleNrn(ACCOUNT, acct.roleId));
      expect(detail.body.policies).to.deep.equal([{ policyId: VIEWER_ID, policyName: 'NCP_SUB_ACCOUNT_VIEWER', policyType: 'SystemManaged' }]);
      expect(detail.body.targets).to.deep.equal({ accounts: [{ memberNo: ACCOUNT, accountName: 'Test' }], serverNrns: [] });
      expect(detail.body).to.include({ status: 'active', sessionExpirationSec: 3600, lastUseTime: null });
    });

    it('updates description and session expiry of account roles; refuses session expiry for others', async () => {
      const acct = await createRole({});
      const res = await root.call('put', `${BASE}/roles/${acct.roleId}`, { description: 'break glass', sessionExpirationSec: 10800 }).expect(200);
      expect(res.body).to.include({ description: 'break glass', sessionExpirationSec: 10800 });
      await root.call('put', `${BASE}/roles/${acct.roleId}`, { sessionExpirationSec: 7200 }).expect(400);
      await root.call('put', `${BASE}/roles/${acct.roleId}`, { roleName: 'renamed' }).expect(400);
      const svc = await createRole({ roleType: 'Service' });
      const refused = await root.call('put', `${BASE}/roles/${svc.roleId}`, { sessionExpirationSec: 600 }).expect(400);
      expect(refused.body.error.fieldErrors[0].field).to.equal('body.sessionExpirationSec');
      expect((await Role.findOne({ accountId: ACCOUNT, roleId: svc.roleId }).orFail().lean()).sessionExpirationSec).to.equal(3600);
    });

    it('attaches and detaches policies; unknown policies and unattached ones are refused', async () => {
      const acct = await createRole({});
      const added = await root.call('post', `${BASE}/roles/${acct.roleId}/policies`, { policyIds: ['NCP_SUB_ACCOUNT_VIEWER', VIEWER_ID] }).expect(200);
      expect(added.body.policyIds).to.deep.equal([VIEWER_ID]);
      await root.call('post', `${BASE}/roles/${acct.roleId}/policies`, { policyIds: ['ghost'] }).expect(400);
      await root.call('delete', `${BASE}/roles/${acct.roleId}/policies/NCP_SUB_ACCOUNT_MANAGER`).expect(404);
      const removed = await root.call('delete', `${BASE}/roles/${acct.roleId}/policies/NCP_SUB_ACCOUNT_VIEWER`).expect(200);
      expect(removed.body.policyIds).to.deep.equal([]);
    });

    it('deletes a role with its temporary credentials and switched sessions; then 404', async () => {
      const acct = await createRole({ policyIds: ['NCP_SUB_ACCOUNT_VIEWER'] });
      const sub = await subAccountSigner(app, [allow(['Change/switchRole'], 'SubAccount', [acct.nrn])]);
      const sts = await roleStsSigner(acct.roleId, sub);
      await sts.call('get', `${BASE}/sub-accounts`).expect(200);
      const c = await consoleOf(sub);
      await c.post(`${BASE}/roles/${acct.roleId}/switch`).expect(200);
      await root.call('delete', `${BASE}/roles/${acct.roleId}`).expect(204);
      expect(await ConsoleSession.countDocuments({ accountId: ACCOUNT, tokenHash: c.session.tokenHash })).to.equal(0);
      await root.call('get', `${BASE}/roles/${acct.roleId}`).expect(404);
      expect(await StsCredential.countDocuments({ accountId: ACCOUNT, roleId: acct.roleId })).to.equal(0);
      await sts.call('get', `${BASE}/sub-accounts`).expect(401);
      await root.call('delete', `${BASE}/roles/${acct.roleId}`).expect(404);
    });

    it('answers 404 for an unknown role after authorization, 400 for a malformed id', async () => {
      const res = await root.call('get', `${BASE}/roles/00000000-0000-4000-8000-000000000000`).expect(404);
      expect(res.body.error.errorCode).to.equal('NOT_FOUND');
      const bad = await root.call('get', `${BASE}/roles/not-a-role`).expect(400);
      expect(bad.body.error.fieldErrors[0].field).to.equal('params.roleId');
    });
  });

  describe('authorization', () => {
    it('403 without the action (audited as a denial of it), allowed with exactly it', async () => {
      const viewer = await subAccountSigner(app, [allow(['View/getRoleList', 'View/getRoleDetail'])]);
      await viewer.call('get', `${BASE}/roles`).expect(200);
      const res = await viewer.call('post', `${BASE}/roles`, { roleName: 'viewer-made', roleType: 'Service' }).expect(403);
      expect(res.body.error.errorCode).to.equal('FORBIDDEN');
      expect(JSON.stringify(res.body)).not.to.match(/policyId|statement/i);
      expect(await Role.countDocuments({ accountId: ACCOUNT, roleNameKey: 'viewer-made' })).to.equal(0);
      const denial = await HistoryEvent.findOne({ accountId: ACCOUNT, 'actor.id': viewer.subAccountId, result: 'denied' }).orFail();
      expect(denial.action).to.equal('SubAccount:Change/createRole');

      const creator = await subAccountSigner(app, [allow(['Change/createRole'])]);
      await creator.call('post', `${BASE}/roles`, { roleName: 'creator-made', roleType: 'Service' }).expect(201);
      await creator.call('get', `${BASE}/roles`).expect(403);
    });

    it('authorizes on the role’s NRN: a policy naming one role does not reach another', async () => {
      const a = await createRole({});
      const b = await createRole({});
      const sub = await subAccountSigner(app, [allow(['Change/suspendRole'], 'SubAccount', [a.nrn])]);
      await sub.call('put', `${BASE}/roles/${a.roleId}/status`, { status: 'suspended' }).expect(200);
      await sub.call('put', `${BASE}/roles/${b.roleId}/status`, { status: 'suspended' }).expect(403);
      expect((await Role.findOne({ accountId: ACCOUNT, roleId: b.roleId }).orFail().lean()).status).to.equal('active');
    });
  });

  describe('SSO roles are managed by Single Sign-On only', () => {
    const stamps = new ChangeStamps();
    const stampOf = async (accountId: number) =>
      (await mongoose.connection.collection<{ _id: string; n: number }>('change_stamps').findOne({ _id: accountScope(accountId) }))?.n ?? 0;

    it('provisionSsoRole creates the assignment’s role once (idempotent, concurrent-safe) and bumps the change stamp', async () => {
      const before = await stampOf(ACCOUNT);
      const input = { accountId: ACCOUNT, assignmentId: 'asg-1', roleName: 'SSO_Admins_asg1', policyIds: ['NCP_SUB_ACCOUNT_VIEWER'], sessionExpirationSec: 28800 };
      const [a, b] = await Promise.all([provisionSsoRole(input, stamps), provisionSsoRole(input, stamps)]);
      expect(a.roleId).to.equal(b.roleId);
      expect(a.roleId).to.equal(ssoRoleId(ACCOUNT, 'asg-1'));
      expect(a).to.include({ roleType: 'SSO', ssoAssignmentId: 'asg-1', sessionExpirationSec: 28800, status: 'active' });
      expect(await Role.countDocuments({ accountId: ACCOUNT, ssoAssignmentId: 'asg-1' })).to.equal(1);
      expect(await stampOf(ACCOUNT)).to.be.greaterThan(before);

      // Re-provisioning brings the role in line with the assignment (policies, session length).
      const again = await provisionSsoRole({ ...input, policyIds: ['NCP_SUB_ACCOUNT_MANAGER'], sessionExpirationSec: 3600 }, stamps);
      expect(again.roleId).to.equal(a.roleId);
      expect(again.policyIds).to.deep.equal([MANAGER_ID]);
      expect(again.sessionExpirationSec).to.equal(3600);
      expect(await Role.countDocuments({ accountId: ACCOUNT, ssoAssignmentId: 'asg-1' })).to.equal(1);
      // The same assignment id in another account is another role.
      expect(ssoRoleId(FOREIGN, 'asg-1')).not.to.equal(a.roleId);
    });

    it('provisionSsoRole refuses bad input and unknown policies, writing nothing; a name clash is a CONFLICT', async () => {
      const base = { accountId: ACCOUNT, assignmentId: 'asg-bad', roleName: 'SSO_Bad', policyIds: [] as string[], sessionExpirationSec: 3600 };
      for (const bad of [{ sessionExpirationSec: 60 }, { sessionExpirationSec: 50_000 }, { roleName: ' padded' }, { roleName: 'x'.repeat(65) }, { assignmentId: 'a b' }, { policyIds: ['ghost-policy'] }]) {
        let caught: unknown;
        await provisionSsoRole({ ...base, ...bad }, stamps).catch((e: unknown) => (caught = e));
        expect((caught as { code?: string })?.code, JSON.stringify(bad)).to.equal('VALIDATION_FAILED');
      }
      expect(await Role.countDocuments({ accountId: ACCOUNT, roleType: 'SSO', ssoAssignmentId: { $in: ['asg-bad', 'a b'] } })).to.equal(0);
      const taken = await createRole({ roleType: 'Service' });
      let clash: unknown;
      await provisionSsoRole({ ...base, roleName: taken.roleName.toUpperCase() }, stamps).catch((e: unknown) => (clash = e));
      expect((clash as { code?: string })?.code).to.equal('CONFLICT');
      expect(await Role.countDocuments({ accountId: ACCOUNT, ssoAssignmentId: 'asg-bad' })).to.equal(0);
    });

    it('the API lists and shows SSO roles but refuses to change or delete them', async () => {
      const sso = await provisionSsoRole({ accountId: ACCOUNT, assignmentId: 'asg-api', roleName: 'SSO_Readers', policyIds: [], sessionExpirationSec: 3600 }, stamps);
      const list = await root.call('get', `${BASE}/roles?roleType=SSO&pageSize=100`).expect(200);
      expect(list.body.items.map((r: RoleBody) => r.roleId)).to.include(sso.roleId);
      await root.call('get', `${BASE}/roles/${sso.roleId}`).expect(200);
      for (const [method, path, body] of [
        ['put', `/roles/${sso.roleId}`, { description: 'x' }],
        ['delete', `/roles/${sso.roleId}`, undefined],
        ['post', `/roles/${sso.roleId}/policies`, { policyIds: ['NCP_SUB_ACCOUNT_MANAGER'] }],
        ['put', `/roles/${sso.roleId}/status`, { status: 'suspended' }],
        ['post', `/roles/${sso.roleId}/target-accounts`, {}],
      ] as const) {
        const res = await root.call(method, `${BASE}${path}`, body).expect(400);
        expect(res.body.error.detail, `${method} ${path}`).to.contain('SSO role');
      }
      const stored = await Role.findOne({ accountId: ACCOUNT, roleId: sso.roleId }).orFail().lean();
      expect(stored).to.deep.include({ description: '', status: 'active', policyIds: [], targetAccounts: [] });
    });

    it('removeSsoRole deletes the role, ends its sessions and credentials, and is idempotent', async () => {
      const sub = await subAccountSigner(app, []);
      const sso = await provisionSsoRole({ accountId: ACCOUNT, assignmentId: 'asg-gone', roleName: 'SSO_Gone', policyIds: ['NCP_SUB_ACCOUNT_VIEWER'], sessionExpirationSec: 3600 }, stamps);
      const sts = await roleStsSigner(sso.roleId, sub);
      await sts.call('get', `${BASE}/sub-accounts`).expect(200);
      const c = await consoleOf(sub);
      await ConsoleSession.updateOne({ accountId: ACCOUNT, tokenHash: c.session.tokenHash }, { $set: { switchedRoleId: sso.roleId } });
      const before = await stampOf(ACCOUNT);
      expect(await removeSsoRole(ACCOUNT, 'asg-gone', stamps)).to.equal(true);
      expect(await stampOf(ACCOUNT)).to.be.greaterThan(before);
      expect(await Role.countDocuments({ accountId: ACCOUNT, roleId: sso.roleId })).to.equal(0);
      expect(await StsCredential.countDocuments({ accountId: ACCOUNT, roleId: sso.roleId })).to.equal(0);
      expect(await ConsoleSession.countDocuments({ accountId: ACCOUNT, tokenHash: c.session.tokenHash })).to.equal(0);
      await sts.call('get', `${BASE}/sub-accounts`).expect(401);
      expect(await removeSsoRole(ACCOUNT, 'asg-gone', stamps)).to.equal(false);
    });
  });

  describe('server roles', () => {
    const server = (n: number, memberNo = ACCOUNT) => `nrn:PUB:VPCServer:KR:${memberNo}:Server/${n}`;

    it('attaches server NRNs, lists and shows them as server instances, detaches; one role per server', async () => {
      const a = await createRole({ roleType: 'Server' });
      const b = await createRole({ roleType: 'Server' });
      const attached = await root.call('post', `${BASE}/roles/${a.roleId}/servers`, { serverNrns: [server(1), server(2), server(1)] }).expect(200);
      expect(attached.body.targets.serverNrns).to.deep.equal([server(1), server(2)]);
      // Again: idempotent.
      await root.call('post', `${BASE}/roles/${a.roleId}/servers`, { serverNrns: [server(2)] }).expect(200);

      // server 3 is free but server 1 belongs to role a: nothing of this call stays attached.
      const clash = await root.call('post', `${BASE}/roles/${b.roleId}/servers`, { serverNrns: [server(3), server(1)] }).expect(409);
      expect(clash.body.error.detail).to.contain(server(1));
      expect(await RoleServerBinding.countDocuments({ accountId: ACCOUNT, roleId: b.roleId })).to.equal(0);

      const list = await root.call('get', `${BASE}/server-instances`).expect(200);
      expect(list.body.items.map((s: { serverNrn: string }) => s.serverNrn)).to.include.members([server(1), server(2)]);
      const one = await root.call('get', `${BASE}/server-instances/${encodeURIComponent(server(1))}`).expect(200);
      expect(one.body).to.include({ serverNrn: server(1), roleId: a.roleId, roleName: a.roleName, roleNrn: a.nrn });
      await root.call('get', `${BASE}/server-instances/${encodeURIComponent(server(99))}`).expect(404);
      await root.call('get', `${BASE}/server-instances/not-an-nrn`).expect(400);

      // A server role still on servers cannot be deleted (AWS: DeleteConflict).
      const refused = await root.call('delete', `${BASE}/roles/${a.roleId}`).expect(409);
      expect(refused.body.error.detail).to.contain(server(2));

      await root.call('delete', `${BASE}/roles/${a.roleId}/servers/${encodeURIComponent(server(1))}`).expect(200);
      await root.call('delete', `${BASE}/roles/${a.roleId}/servers/${encodeURIComponent(server(1))}`).expect(404);
      await root.call('post', `${BASE}/roles/${b.roleId}/servers`, { serverNrns: [server(1)] }).expect(200);
    });

    it('concurrent attaches of one server to two roles: exactly one wins', async () => {
      const a = await createRole({ roleType: 'Server' });
      const b = await createRole({ roleType: 'Server' });
      const results = await Promise.all([a, b].map((r) => root.call('post', `${BASE}/roles/${r.roleId}/servers`, { serverNrns: [server(40), server(41)] })));
      expect(results.map((r) => r.status).sort()).to.deep.equal([200, 409]);
      const holders = await RoleServerBinding.find({ accountId: ACCOUNT, serverNrn: { $in: [server(40), server(41)] } }).lean();
      expect(holders).to.have.length(2);
      expect(new Set(holders.map((h) => h.roleId)).size).to.equal(1);
    });

    it('takes over a server left bound to a deleted role', async () => {
      const gone = '00000000-0000-4000-8000-0000000000aa';
      await RoleServerBinding.create({ accountId: ACCOUNT, serverNrn: server(50), roleId: gone });
      const r = await createRole({ roleType: 'Server' });
      await root.call('post', `${BASE}/roles/${r.roleId}/servers`, { serverNrns: [server(50)] }).expect(200);
      expect((await RoleServerBinding.findOne({ accountId: ACCOUNT, serverNrn: server(50) }).orFail().lean()).roleId).to.equal(r.roleId);
    });

    it('refuses servers of other accounts, non-server NRNs, and servers on non-server roles', async () => {
      const r = await createRole({ roleType: 'Server' });
      const foreign = await root.call('post', `${BASE}/roles/${r.roleId}/servers`, { serverNrns: [server(7, FOREIGN)] }).expect(400);
      expect(foreign.body.error.fieldErrors[0].message).to.contain(String(ACCOUNT));
      const notServer = await root.call('post', `${BASE}/roles/${r.roleId}/servers`, { serverNrns: [buildRoleNrn(ACCOUNT, r.roleId)] }).expect(400);
      expect(notServer.body.error.fieldErrors[0].field).to.equal('body.serverNrns.0');
      const acct = await createRole({});
      await root.call('post', `${BASE}/roles/${acct.roleId}/servers`, { serverNrns: [server(8)] }).expect(400);
      expect(await RoleServerBinding.countDocuments({ accountId: ACCOUNT, serverNrn: { $in: [server(7, FOREIGN), server(8)] } })).to.equal(0);
    });
  });

  describe('target accounts', () => {
    before(async () => {
      await rootSigner(app, FOREIGN); // account "Test", root login id "root2000002"
    });

    it('attaches this account by default (idempotent) and a foreign account named by account name and root login id', async () => {
      const r = await createRole({});
      await root.call('delete', `${BASE}/roles/${r.roleId}/target-accounts/${ACCOUNT}`).expect(200);
      const self = await root.call('post', `${BASE}/roles/${r.roleId}/target-accounts`, {}).expect(200);
      expect(self.body.targetAccounts).to.deep.equal([ACCOUNT]);
      await root.call('post', `${BASE}/roles/${r.roleId}/target-accounts`, {}).expect(200);
      const foreign = await root.call('post', `${BASE}/roles/${r.roleId}/target-accounts`, { accountName: 'Test', loginId: `root${FOREIGN}` }).expect(200);
      expect(foreign.body.targetAccounts).to.deep.equal([ACCOUNT, FOREIGN]);
      const detail = await root.call('get', `${BASE}/roles/${r.roleId}`).expect(200);
      expect(detail.body.targets.accounts).to.deep.include({ memberNo: FOREIGN, accountName: 'Test' });
    });

    it('refuses a wrong account name or login id with one answer that does not say which part was wrong', async () => {
      const r = await createRole({});
      const wrongName = await root.call('post', `${BASE}/roles/${r.roleId}/target-accounts`, { accountName: 'Other', loginId: `root${FOREIGN}` }).expect(404);
      const wrongLogin = await root.call('post', `${BASE}/roles/${r.roleId}/target-accounts`, { accountName: 'Test', loginId: 'nobody-here' }).expect(404);
      expect(wrongName.body.error).to.deep.equal(wrongLogin.body.error);
      const half = await root.call('post', `${BASE}/roles/${r.roleId}/target-accounts`, { accountName: 'Test' }).expect(400);
      expect(half.body.error.fieldErrors[0].field).to.equal('body.loginId');
      expect((await Role.findOne({ accountId: ACCOUNT, roleId: r.roleId }).orFail().lean()).targetAccounts).to.deep.equal([ACCOUNT]);
      const svc = await createRole({ roleType: 'Service' });
      await root.call('post', `${BASE}/roles/${svc.roleId}/target-accounts`, {}).expect(400);
    });

    it('detaching a target ends the role’s sessions (its generation moves); an absent target is 404', async () => {
      const r = await createRole({});
      const gen = (await Role.findOne({ accountId: ACCOUNT, roleId: r.roleId }).orFail().lean()).credentialGeneration;
      await root.call('delete', `${BASE}/roles/${r.roleId}/target-accounts/${FOREIGN}`).expect(404);
      await root.call('delete', `${BASE}/roles/${r.roleId}/target-accounts/${ACCOUNT}`).expect(200);
      expect((await Role.findOne({ accountId: ACCOUNT, roleId: r.roleId }).orFail().lean()).credentialGeneration).to.equal(gen + 1);
    });
  });

  describe('suspension', () => {
    it('ends console sessions switched into the role and its STS credentials at once, also after reactivation', async () => {
      const r = await createRole({ policyIds: ['NCP_SUB_ACCOUNT_VIEWER'] });
      const sub = await subAccountSigner(app, [allow(['Change/switchRole'], 'SubAccount', [r.nrn])]);
      const sts = await roleStsSigner(r.roleId, sub);
      await sts.call('get', `${BASE}/sub-accounts`).expect(200);
      const c = await consoleOf(sub);
      await c.post(`${BASE}/roles/${r.roleId}/switch`).expect(200);
      await c.get(`${BASE}/sub-accounts`).expect(200);

      const res = await root.call('put', `${BASE}/roles/${r.roleId}/status`, { status: 'suspended' }).expect(200);
      expect(res.body.status).to.equal('suspended');
      const revoked = await sts.call('get', `${BASE}/sub-accounts`).expect(401);
      expect(revoked.body.error.detail).to.contain('revoked');
      expect(await ConsoleSession.countDocuments({ accountId: ACCOUNT, tokenHash: c.session.tokenHash })).to.equal(0);
      await c.get(`${BASE}/sub-accounts`).expect(401);

      await root.call('put', `${BASE}/roles/${r.roleId}/status`, { status: 'active' }).expect(200);
      await sts.call('get', `${BASE}/sub-accounts`).expect(401);
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/suspendRole', nrn: r.nrn, result: 'success' });
      expect(ev).to.not.equal(null);
    });
  });

  describe('switch role', () => {
    it('end to end: switch, act with the role’s policies only, role management refused, return restores the sub account', async () => {
      // The role may list sub accounts only when the caller is a role session sourced from this sub account.
      const r = await createRole({ policyIds: ['NCP_SUB_ACCOUNT_MANAGER'], sessionExpirationSec: 1800 });
      const sub = await subAccountSigner(app, [allow(['Change/switchRole'], 'SubAccount', [r.nrn])]);
      const c = await consoleOf(sub);
      await c.get(`${BASE}/sub-accounts`).expect(403);

      const noCsrf = await c.post(`${BASE}/roles/${r.roleId}/switch`, {}, false).expect(403);
      expect(noCsrf.body.error.detail).to.contain('CSRF');

      const t0 = Date.now();
      const sw = await c.post(`${BASE}/roles/${r.roleId}/switch`).expect(200);
      expect(sw.body).to.include({ roleId: r.roleId, nrn: r.nrn, accountId: ACCOUNT, sourceIdentityId: sub.subAccountId });
      const expiresAt = Date.parse(sw.body.expiresAt);
      expect(expiresAt).to.be.within(t0 + 1800_000 - 5000, Date.now() + 1800_000 + 5000);
      const stored = await ConsoleSession.findOne({ accountId: ACCOUNT, tokenHash: c.session.tokenHash }).orFail().lean();
      expect(stored.switchedRoleId).to.equal(r.roleId);
      expect(stored.switchedRoleExpiresAt?.getTime()).to.equal(expiresAt);
      expect((await Role.findOne({ accountId: ACCOUNT, roleId: r.roleId }).orFail().lean()).lastUseTime).to.be.instanceOf(Date);

      // The role's policies now decide; the audit trail names the role and its source identity.
      await c.get(`${BASE}/sub-accounts`).expect(200);
      const created = await c.post(`${BASE}/sub-accounts`, { loginId: `via-role-${randomBytes(2).toString('hex')}`, name: 'Via Role', password: 'a long enough password' }).expect(201);
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/createSubAccount', 'actor.kind': 'Role', 'actor.id': r.roleId }).orFail();
      expect(ev.actor?.sourceIdentityId).to.equal(sub.subAccountId);
      expect(created.body.subAccount.loginId).to.match(/^via-role-/);

      // Role management is blocked while switched, although the role's policy allows it.
      for (const call of [c.get(`${BASE}/roles`), c.get(`${BASE}/roles/${r.roleId}`), c.post(`${BASE}/roles`, { roleName: 'from-role', roleType: 'Service' }), c.post(`${BASE}/roles/${r.roleId}/switch`)]) {
        const res = await call.expect(403);
        expect(res.body.error.detail).to.contain('return to the sub account');
      }
      expect(await Role.countDocuments({ accountId: ACCOUNT, roleNameKey: 'from-role' })).to.equal(0);

      await c.post(`${BASE}/roles/return`, {}, false).expect(403);
      const back = await c.post(`${BASE}/roles/return`).expect(200);
      expect(back.body).to.deep.equal({ subAccountId: sub.subAccountId, returnedFrom: { roleId: r.roleId, nrn: r.nrn } });
      expect((await ConsoleSession.findOne({ accountId: ACCOUNT, tokenHash: c.session.tokenHash }).orFail().lean()).switchedRoleId).to.equal(null);
      await c.get(`${BASE}/sub-accounts`).expect(403);
      const again = await c.post(`${BASE}/roles/return`).expect(200);
      expect(again.body.returnedFrom).to.equal(null);
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, action: 'SubAccount:returnToSubAccount', nrn: r.nrn })).to.equal(1);
    });

    it('the role session carries ncp:principalType = IamRole and ncp:sourceIdentityId = the sub account', async () => {
      const r = await createRole({});
      const sub = await subAccountSigner(app, [allow(['Change/switchRole'], 'SubAccount', [r.nrn])]);
      const other = await subAccountSigner(app, [allow(['Change/switchRole'], 'SubAccount', [r.nrn])]);
      // The role may list sub accounts only as a role session whose source identity is `sub`.
      const policyId = randomUUID();
      await Policy.create({
        accountId: ACCOUNT,
        policyId,
        name: `p${policyId.slice(0, 8)}`,
        nameKey: `p${policyId.slice(0, 8)}`,
        document: {
          permissions: [
            {
              effect: 'Allow',
              targets: [{ product: 'SubAccount', actions: ['View/getSubAccountList'], resourceNrns: ['*'] }],
              condition: { StringEquals: { 'ncp:principalType': ['IamRole'], 'ncp:sourceIdentityId': [sub.subAccountId] } },
            },
          ],
        },
      });
      const mine = await consoleOf(sub);
      const theirs = await consoleOf(other);
      await mine.post(`${BASE}/roles/${r.roleId}/switch`).expect(200);
      await theirs.post(`${BASE}/roles/${r.roleId}/switch`).expect(200);
      await mine.get(`${BASE}/sub-accounts`).expect(403);
      // Attaching the policy takes effect on the next call (the change stamp moved).
      await root.call('post', `${BASE}/roles/${r.roleId}/policies`, { policyIds: [policyId] }).expect(200);
      await mine.get(`${BASE}/sub-accounts`).expect(200);
      await theirs.get(`${BASE}/sub-accounts`).expect(403);
      // The sub account itself (not a role session) is not IamRole.
      await root.call('post', `${BASE}/sub-accounts/${sub.subAccountId}/policies`, { policyIds: [policyId] }).expect(200);
      await mine.post(`${BASE}/roles/return`).expect(200);
      await mine.get(`${BASE}/sub-accounts`).expect(403);
    });

    it('is for sub accounts in the console only: root and access-key callers get 403 with a clear message', async () => {
      const r = await createRole({});
      const rootRes = await root.call('post', `${BASE}/roles/${r.roleId}/switch`, {}).expect(403);
      expect(rootRes.body.error.detail).to.contain('only to sub accounts');
      const keyed = await subAccountSigner(app, [allow(['Change/switchRole'])]);
      const keyRes = await keyed.call('post', `${BASE}/roles/${r.roleId}/switch`, {}).expect(403);
      expect(keyRes.body.error.detail).to.contain('console');
      const keyReturn = await keyed.call('post', `${BASE}/roles/return`, {}).expect(403);
      expect(keyReturn.body.error.detail).to.contain('console');
      const rootReturn = await root.call('post', `${BASE}/roles/return`, {}).expect(403);
      expect(rootReturn.body.error.detail).to.contain('only to sub accounts');
    });

    it('refuses without Change/switchRole on the role, and for suspended, non-account, untrusting and unknown roles', async () => {
      const r = await createRole({});
      const none = await subAccountSigner(app, [allow(['Change/switchRole'], 'SubAccount', [buildRoleNrn(ACCOUNT, '00000000-0000-4000-8000-000000000001')])]);
      const cNone = await consoleOf(none);
      await cNone.post(`${BASE}/roles/${r.roleId}/switch`).expect(403);
      expect((await ConsoleSession.findOne({ accountId: ACCOUNT, tokenHash: cNone.session.tokenHash }).orFail().lean()).switchedRoleId).to.equal(null);

      const sub = await subAccountSigner(app, [allow(['Change/switchRole'])]);
      const c = await consoleOf(sub);
      const svc = await createRole({ roleType: 'Service' });
      const notAccount = await c.post(`${BASE}/roles/${svc.roleId}/switch`).expect(400);
      expect(notAccount.body.error.detail).to.contain('only account roles');

      const suspended = await createRole({});
      await root.call('put', `${BASE}/roles/${suspended.roleId}/status`, { status: 'suspended' }).expect(200);
      expect((await c.post(`${BASE}/roles/${suspended.roleId}/switch`).expect(403)).body.error.detail).to.contain('suspended');

      const untrusting = await createRole({});
      await root.call('delete', `${BASE}/roles/${untrusting.roleId}/target-accounts/${ACCOUNT}`).expect(200);
      expect((await c.post(`${BASE}/roles/${untrusting.roleId}/switch`).expect(403)).body.error.detail).to.contain('target account');

      await c.post(`${BASE}/roles/00000000-0000-4000-8000-000000000002/switch`).expect(404);
      expect((await ConsoleSession.findOne({ accountId: ACCOUNT, tokenHash: c.session.tokenHash }).orFail().lean()).switchedRoleId).to.equal(null);
    });

    it('when the role session expires, the user is back in the sub account (the role’s rights are gone)', async () => {
      const r = await createRole({ policyIds: ['NCP_SUB_ACCOUNT_VIEWER'] });
      const sub = await subAccountSigner(app, [allow(['Change/switchRole'], 'SubAccount', [r.nrn])]);
      const c = await consoleOf(sub);
      await c.post(`${BASE}/roles/${r.roleId}/switch`).expect(200);
      await c.get(`${BASE}/sub-accounts`).expect(200);
      await ConsoleSession.updateOne({ accountId: ACCOUNT, tokenHash: c.session.tokenHash }, { $set: { switchedRoleExpiresAt: new Date(Date.now() - 1000) } });
      // the sub account itself holds only switchRole: the role's viewer rights no longer apply
      await c.get(`${BASE}/sub-accounts`).expect(403);
      await c.post(`${BASE}/roles/return`).expect((res) => expect(res.status).to.be.oneOf([200, 204]));
    });

    describe('across accounts', () => {
      before(async () => {
        await rootSigner(app, FOREIGN);
      });

      it('a foreign account’s sub account switches into a role that names its account, and acts in the owner account', async () => {
        const r = await createRole({ policyIds: ['NCP_SUB_ACCOUNT_VIEWER'] });
        await root.call('post', `${BASE}/roles/${r.roleId}/target-accounts`, { accountName: 'Test', loginId: `root${FOREIGN}` }).expect(200);
        // The foreign account gives its sub account Change/switchRole on the role's NRN (reference §3).
        const visitor = await subAccountSigner(app, [allow(['Change/switchRole'], 'SubAccount', [r.nrn])], { accountId: FOREIGN });
        const c = await consoleOf(visitor, FOREIGN);
        const sw = await c.post(`${BASE}/roles/${r.roleId}/switch`).expect(200);
        expect(sw.body.accountId).to.equal(ACCOUNT);
        const list = await c.get(`${BASE}/sub-accounts?pageSize=100`).expect(200);
        expect(list.body.items.every((s: { nrn: string }) => s.nrn.includes(`::${ACCOUNT}:`))).to.equal(true);
        expect(list.body.items.map((s: { subAccountId: string }) => s.subAccountId)).not.to.include(visitor.subAccountId);
        // Both trails record the switch.
        expect(await HistoryEvent.countDocuments({ accountId: FOREIGN, action: 'SubAccount:Change/switchRole', nrn: r.nrn, result: 'success' })).to.equal(1);
        expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, action: 'SubAccount:Change/switchRole', nrn: r.nrn, 'actor.id': visitor.subAccountId })).to.equal(1);

        // Detaching the foreign account ends the visitor's role session at once.
        await root.call('delete', `${BASE}/roles/${r.roleId}/target-accounts/${FOREIGN}`).expect(200);
        await c.get(`${BASE}/sub-accounts`).expect(401);
      });

      it('a role of another account that does not name the caller’s account is not found', async () => {
        const r = await createRole({});
        const visitor = await subAccountSigner(app, [allow(['Change/switchRole'])], { accountId: FOREIGN });
        const c = await consoleOf(visitor, FOREIGN);
        await c.post(`${BASE}/roles/${r.roleId}/switch`).expect(404);
      });
    });
  });
});
