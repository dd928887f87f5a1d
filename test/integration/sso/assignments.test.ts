/**
 * Assignments of Single Sign-On (seed S4 "Assignment" actions; reference/ncloud-model.md §1
 * "Assignment"; ARCHITECTURE.md "Domain"): the SSO role each one provisions in its target account
 * (created with the permission set's policies, re-synced when the set changes, removed with the
 * assignment), crash safety between every pair of steps (the reconciler finishes or rolls back),
 * access resolution directly and through groups, suspension, targets, IP ACLs, organization
 * accounts, gating, tag conditions and isolation from another account (security-bar §6 item 45).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { AdminRouteSpec } from '../../../src/http/admin-route.js';
import { Account } from '../../../src/iam/accounts/account.model.js';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { Role } from '../../../src/iam/roles/role.model.js';
import { catalog, withRelatedActions } from '../../../src/policy/index.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { quotaUsed } from '../../../src/shared/quota.js';
import { accessAllowedFrom, resolveUserAccess } from '../../../src/sso/access/resolve-access.js';
import { provisioningHooks, reconcileAllTenants, reconcileAssignments, type ProvisioningStep } from '../../../src/sso/assignments/assignment-provisioning.js';
import { Assignment, AssignmentTarget } from '../../../src/sso/assignments/assignment.model.js';
import { assignmentRoutes } from '../../../src/sso/assignments/assignment.routes.js';
import { SsoGroup } from '../../../src/sso/groups/group.model.js';
import { PermissionSet } from '../../../src/sso/permission-sets/permission-set.model.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { testApp } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = SSO_API_PREFIX;
const OTHER_ACCOUNT = 2_000_002;
const ORG_ACCOUNT = 3_000_003;
const OUTSIDER_ACCOUNT = 4_000_004;

async function createTenant(accountId: number): Promise<string> {
  const tenantId = randomUUID();
  await Tenant.create({ accountId, tenantId, tenantAlias: `t${accountId}`, aliasKey: `t${accountId}`, termsAcceptedAt: new Date() });
  return tenantId;
}

async function userPolicy(accountId: number, name: string): Promise<string> {
  const policyId = randomUUID();
  await Policy.create({ accountId, policyId, name, nameKey: name.toLowerCase(), document: { permissions: [] } });
  return policyId;
}

async function ssoUser(tenantId: string, groupIds: string[] = [], accountId = ACCOUNT): Promise<string> {
  const userId = randomUUID();
  const loginId = `${userId.slice(0, 8)}@example.com`;
  await SsoUser.create({ accountId, tenantId, userId, loginId, loginIdKey: loginId, groupIds });
  return userId;
}

async function ssoGroup(tenantId: string, accountId = ACCOUNT): Promise<string> {
  const groupId = randomUUID();
  const name = `g${groupId.slice(0, 8)}`;
  await SsoGroup.create({ accountId, tenantId, groupId, groupName: name, nameKey: name });
  return groupId;
}

const crashAfter = (wanted: ProvisioningStep) => {
  provisioningHooks.afterStep = (step) => {
    if (step === wanted) throw new Error(`simulated crash after ${step}`);
  };
};

describe('SSO API: assignments and their SSO roles', function () {
  this.timeout(90_000);
  useTestDatabase('ssoassignments');
  const app = testApp({ db: { ping: async () => true } });
  const stamps = new ChangeStamps();
  let root: Signer;
  let tenantId: string;
  let opsPolicyId: string;
  let viewerSet: string;
  let mixedSet: string;

  const createAssignment = (body: Record<string, unknown>, who: Signer = root) => who.call('post', `${BASE}/assignments`, body);
  const roleOf = (accountId: number, roleId: string) => Role.findOne({ accountId, roleId }).lean();
  const targetsOf = async (assignmentId: string) =>
    (await AssignmentTarget.find({ tenantId, assignmentId }).lean()).map((t) => `${t.targetType}:${t.targetId}`).sort();
  const newSet = async (permissionSetName: string, body: Record<string, unknown>) =>
    (await root.call('post', `${BASE}/permission-sets`, { permissionSetName, ...body }).expect(201)).body.permissionSetId as string;

  before(async () => {
    root = await rootSigner(app);
    tenantId = await createTenant(ACCOUNT);
    opsPolicyId = await userPolicy(ACCOUNT, 'OpsPolicy');
    viewerSet = await newSet('Viewers', { systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] });
    mixedSet = await newSet('Mixed', { systemManagedPolicyIds: ['NCP_INFRA_MANAGER'], userCreatedPolicyNames: ['opspolicy'] });
  });

  afterEach(() => {
    delete provisioningHooks.afterStep;
  });

  describe('provisioning', () => {
    it('creating an assignment provisions an SSO role in the account with the permission set’s policies', async () => {
      const res = await createAssignment({ assignmentName: 'Ops', description: 'operators', permissionSetId: mixedSet, apiAccessAllowed: true, tags: [{ key: 'env', value: 'prod' }] }).expect(201);
      const a = res.body;
      expect(a).to.include({ assignmentName: 'Ops', accountMemberNo: ACCOUNT, permissionSetId: mixedSet, status: 'ACTIVATED', provisioning: 'active', consoleAccessAllowed: true, apiAccessAllowed: true });
      expect(a.nrn).to.equal(`nrn:PUB:SSO::${ACCOUNT}:Assignment/${a.assignmentId}`);
      expect(a.roleNrn).to.equal(`nrn:PUB:SubAccount::${ACCOUNT}:Role/${a.roleId}`);
      const role = await roleOf(ACCOUNT, a.roleId);
      expect(role, 'the SSO role exists').to.not.equal(null);
      expect(role!.roleType).to.equal('SSO');
      expect(role!.ssoAssignmentId).to.equal(a.assignmentId);
      expect(role!.roleName).to.match(/^GatehouseSSO_Mixed_[0-9a-f]{16}$/);
      // managed policy as its id; the user-created name resolved to this account's policy id
      const infra = (await root.call('get', `${BASE}/permission-sets/${mixedSet}`).expect(200)).body.systemManagedPolicyIds[0];
      expect([...role!.policyIds].sort()).to.deep.equal([infra, opsPolicyId].sort());
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SSO:change/createAssignment', nrn: a.nrn }).orFail();
      expect(ev.result).to.equal('success');
    });

    it('400 "The policies do not exist" naming the missing user-created policies, and nothing is created', async () => {
      const set = await newSet('NeedsMissing', { userCreatedPolicyNames: ['OpsPolicy', 'NoSuchPolicy', 'AlsoMissing'] });
      const before = { assignments: await Assignment.countDocuments({ tenantId }), roles: await Role.countDocuments({ accountId: ACCOUNT, roleType: 'SSO' }), quota: await quotaUsed(`ssoAssignments:${tenantId}`) };
      const res = await createAssignment({ assignmentName: 'Missing', permissionSetId: set }).expect(400);
      expect(res.body.error.message).to.equal('The policies do not exist');
      expect(res.body.error.detail).to.contain('NoSuchPolicy').and.contain('AlsoMissing').and.not.contain('OpsPolicy');
      expect(res.body.error.fieldErrors.map((f: { message: string }) => f.message).join(' ')).to.contain('NoSuchPolicy');
      expect(await Assignment.countDocuments({ tenantId })).to.equal(before.assignments);
      expect(await Role.countDocuments({ accountId: ACCOUNT, roleType: 'SSO' })).to.equal(before.roles);
      expect(await quotaUsed(`ssoAssignments:${tenantId}`)).to.equal(before.quota);
    });

    it('a user holding the assignment is resolved directly and through a group; a permission-set change re-syncs the role; suspension hides it; deletion removes the role', async () => {
      const set = await newSet('Lifecycle', { systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] });
      const a = (await createAssignment({ assignmentName: 'Lifecycle', permissionSetId: set, apiAccessAllowed: true }).expect(201)).body;
      const group = await ssoGroup(tenantId);
      const direct = await ssoUser(tenantId);
      const viaGroup = await ssoUser(tenantId, [group]);
      const both = await ssoUser(tenantId, [group]);
      const outsider = await ssoUser(tenantId);
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [direct, both] }).expect(200);
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'group', targetIds: [group] }).expect(200);

      const d = (await resolveUserAccess(tenantId, direct))!;
      expect(d.assignments).to.have.length(1);
      const resolved = d.assignments[0]!;
      expect(resolved).to.deep.include({ assignmentId: a.assignmentId, accountMemberNo: ACCOUNT, via: { direct: true, groupIds: [] } });
      expect(resolved.role).to.deep.equal({ roleId: a.roleId, roleNrn: a.roleNrn });
      expect(resolved.permissionSet).to.deep.equal({ permissionSetId: set, permissionSetName: 'Lifecycle' });
      expect(resolved.console).to.deep.equal({ allowed: true, restricted: false, ipAcls: [] });
      expect(resolved.api.allowed).to.equal(true);
      expect((await resolveUserAccess(tenantId, viaGroup))!.assignments[0]!.via).to.deep.equal({ direct: false, groupIds: [group] });
      expect((await resolveUserAccess(tenantId, both))!.assignments[0]!.via).to.deep.equal({ direct: true, groupIds: [group] });
      expect((await resolveUserAccess(tenantId, outsider))!.assignments).to.deep.equal([]);
      expect(await resolveUserAccess(tenantId, randomUUID())).to.equal(null);

      // re-sync: adding and removing policies of the set changes the role
      const upd = await root.call('put', `${BASE}/permission-sets/${set}`, { userCreatedPolicyNames: ['OpsPolicy'] }).expect(200);
      expect(upd.body.roleSync).to.deep.equal({ synced: 1, failed: [] });
      expect([...(await roleOf(ACCOUNT, a.roleId))!.policyIds]).to.include(opsPolicyId);
      await root.call('delete', `${BASE}/permission-sets/${set}/policies`, { systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] }).expect(200);
      expect([...(await roleOf(ACCOUNT, a.roleId))!.policyIds]).to.deep.equal([opsPolicyId]);

      // suspension hides it from resolution (and so from role switching); reactivation shows it again
      await root.call('put', `${BASE}/assignments/${a.assignmentId}/status`, { status: 'SUSPENDED' }).expect(200);
      expect((await resolveUserAccess(tenantId, direct))!.assignments).to.deep.equal([]);
      expect((await resolveUserAccess(tenantId, viaGroup))!.assignments).to.deep.equal([]);
      expect(await roleOf(ACCOUNT, a.roleId), 'a suspended assignment keeps its role').to.not.equal(null);
      await root.call('put', `${BASE}/assignments/${a.assignmentId}/status`, { status: 'ACTIVATED' }).expect(200);
      expect((await resolveUserAccess(tenantId, direct))!.assignments).to.have.length(1);
      await root.call('put', `${BASE}/assignments/${a.assignmentId}/status`, { status: 'PAUSED' }).expect(400);

      // a suspended user holds nothing
      await SsoUser.updateOne({ tenantId, userId: direct }, { $set: { status: 'SUSPENDED' } });
      expect((await resolveUserAccess(tenantId, direct))!.assignments).to.deep.equal([]);

      await root.call('delete', `${BASE}/assignments/${a.assignmentId}`).expect(204);
      expect(await roleOf(ACCOUNT, a.roleId), 'the role goes with the assignment').to.equal(null);
      expect((await resolveUserAccess(tenantId, viaGroup))!.assignments).to.deep.equal([]);
      await root.call('get', `${BASE}/assignments/${a.assignmentId}`).expect(404);
      await root.call('delete', `${BASE}/assignments/${a.assignmentId}`).expect(404);
    });

    it('a permission-set change that needs a policy missing in a target account is refused and changes nothing', async () => {
      const set = await newSet('GuardedSet', { systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] });
      const a = (await createAssignment({ assignmentName: 'Guarded', permissionSetId: set }).expect(201)).body;
      const res = await root.call('put', `${BASE}/permission-sets/${set}`, { userCreatedPolicyNames: ['NotInAccount'] }).expect(400);
      expect(res.body.error.message).to.equal('The policies do not exist');
      expect((await PermissionSet.findOne({ tenantId, permissionSetId: set }).lean().orFail()).userCreatedPolicyNames).to.deep.equal([]);
      expect([...(await roleOf(ACCOUNT, a.roleId))!.policyIds]).to.have.length(1);
    });
  });

  describe('crash between steps, then the reconciler', () => {
    it('create: crash after the assignment is written (no role yet) → the reconciler provisions the role', async () => {
      crashAfter('assignment-inserted');
      await createAssignment({ assignmentName: 'CrashInsert', permissionSetId: viewerSet }).expect(500);
      delete provisioningHooks.afterStep;
      const stored = await Assignment.findOne({ tenantId, nameKey: 'crashinsert' }).lean().orFail();
      expect(stored.provisioning).to.equal('creating');
      expect(await roleOf(ACCOUNT, stored.roleId)).to.equal(null);
      // not yet resolvable: no role
      const user = await ssoUser(tenantId);
      await AssignmentTarget.create({ tenantId, accountId: ACCOUNT, assignmentId: stored.assignmentId, targetType: 'user', targetId: user });
      expect((await resolveUserAccess(tenantId, user))!.assignments).to.deep.equal([]);
      const report = await reconcileAssignments(tenantId, stamps);
      expect(report.assignmentsSynced).to.be.at.least(1);
      expect((await Assignment.findOne({ tenantId, assignmentId: stored.assignmentId }).lean().orFail()).provisioning).to.equal('active');
      expect(await roleOf(ACCOUNT, stored.roleId)).to.not.equal(null);
      expect((await resolveUserAccess(tenantId, user))!.assignments).to.have.length(1);
    });

    it('create: crash after the role is provisioned → a read of the assignment finishes it', async () => {
      crashAfter('role-provisioned');
      await createAssignment({ assignmentName: 'CrashRole', permissionSetId: viewerSet }).expect(500);
      delete provisioningHooks.afterStep;
      const stored = await Assignment.findOne({ tenantId, nameKey: 'crashrole' }).lean().orFail();
      expect(stored.provisioning).to.equal('creating');
      expect(await roleOf(ACCOUNT, stored.roleId), 'role written before the crash').to.not.equal(null);
      const read = await root.call('get', `${BASE}/assignments/${stored.assignmentId}`).expect(200);
      expect(read.body.provisioning).to.equal('active');
      expect(await Role.countDocuments({ accountId: ACCOUNT, ssoAssignmentId: stored.assignmentId })).to.equal(1);
    });

    it('create: a permanent failure found by the reconciler rolls the assignment back (no role, no document)', async () => {
      const doomedPolicy = await userPolicy(ACCOUNT, 'Doomed');
      const set = await newSet('DoomedSet', { userCreatedPolicyNames: ['Doomed'] });
      crashAfter('assignment-inserted');
      await createAssignment({ assignmentName: 'RollBack', permissionSetId: set }).expect(500);
      delete provisioningHooks.afterStep;
      const stored = await Assignment.findOne({ tenantId, nameKey: 'rollback' }).lean().orFail();
      const quota = await quotaUsed(`ssoAssignments:${tenantId}`);
      await Policy.deleteOne({ accountId: ACCOUNT, policyId: doomedPolicy });
      const report = await reconcileAssignments(tenantId, stamps);
      expect(report.assignmentsRolledBack).to.equal(1);
      expect(await Assignment.countDocuments({ tenantId, assignmentId: stored.assignmentId })).to.equal(0);
      expect(await roleOf(ACCOUNT, stored.roleId)).to.equal(null);
      expect(await quotaUsed(`ssoAssignments:${tenantId}`)).to.equal(quota - 1);
    });

    it('delete: crash after marking (role still there) → hidden at once; the reconciler removes role and document', async () => {
      const a = (await createAssignment({ assignmentName: 'CrashMark', permissionSetId: viewerSet }).expect(201)).body;
      const user = await ssoUser(tenantId);
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [user] }).expect(200);
      const quota = await quotaUsed(`ssoAssignments:${tenantId}`);
      crashAfter('assignment-marked-deleting');
      await root.call('delete', `${BASE}/assignments/${a.assignmentId}`).expect(500);
      delete provisioningHooks.afterStep;
      expect((await Assignment.findOne({ tenantId, assignmentId: a.assignmentId }).lean().orFail()).provisioning).to.equal('deleting');
      expect(await roleOf(ACCOUNT, a.roleId)).to.not.equal(null);
      expect((await resolveUserAccess(tenantId, user))!.assignments, 'a deleting assignment grants nothing').to.deep.equal([]);
      expect((await root.call('get', `${BASE}/assignments`).expect(200)).body.items.map((i: { assignmentId: string }) => i.assignmentId)).to.not.include(a.assignmentId);
      const reports = await reconcileAllTenants(stamps);
      expect(reports.get(tenantId)?.assignmentsDeleted).to.equal(1);
      await root.call('get', `${BASE}/assignments/${a.assignmentId}`).expect(404);
      expect(await Assignment.countDocuments({ tenantId, assignmentId: a.assignmentId })).to.equal(0);
      expect(await roleOf(ACCOUNT, a.roleId)).to.equal(null);
      expect(await quotaUsed(`ssoAssignments:${tenantId}`)).to.equal(quota - 1);
    });

    it('delete: crash after the role is removed → a retried DELETE finishes', async () => {
      const a = (await createAssignment({ assignmentName: 'CrashRemoved', permissionSetId: viewerSet }).expect(201)).body;
      crashAfter('role-removed');
      await root.call('delete', `${BASE}/assignments/${a.assignmentId}`).expect(500);
      delete provisioningHooks.afterStep;
      expect(await roleOf(ACCOUNT, a.roleId)).to.equal(null);
      expect(await Assignment.countDocuments({ tenantId, assignmentId: a.assignmentId })).to.equal(1);
      await root.call('delete', `${BASE}/assignments/${a.assignmentId}`).expect(204);
      expect(await Assignment.countDocuments({ tenantId, assignmentId: a.assignmentId })).to.equal(0);
    });

    it('permission-set change: crash after the set is written, or after its assignments are marked → the reconciler re-syncs every role', async () => {
      const set = await newSet('CrashSync', { systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] });
      const a1 = (await createAssignment({ assignmentName: 'CrashSyncA', permissionSetId: set }).expect(201)).body;
      const a2 = (await createAssignment({ assignmentName: 'CrashSyncB', permissionSetId: set }).expect(201)).body;

      crashAfter('permission-set-written');
      await root.call('put', `${BASE}/permission-sets/${set}`, { userCreatedPolicyNames: ['OpsPolicy'] }).expect(500);
      delete provisioningHooks.afterStep;
      expect((await PermissionSet.findOne({ tenantId, permissionSetId: set }).lean().orFail()).resyncPending).to.equal(true);
      expect([...(await roleOf(ACCOUNT, a1.roleId))!.policyIds], 'stale until reconciled').to.not.include(opsPolicyId);
      let report = await reconcileAssignments(tenantId, stamps);
      expect(report.permissionSetsResynced).to.equal(1);
      for (const a of [a1, a2]) expect([...(await roleOf(ACCOUNT, a.roleId))!.policyIds]).to.include(opsPolicyId);
      expect((await PermissionSet.findOne({ tenantId, permissionSetId: set }).lean().orFail()).resyncPending).to.equal(false);

      crashAfter('resync-requested');
      await root.call('delete', `${BASE}/permission-sets/${set}/policies`, { userCreatedPolicyNames: ['OpsPolicy'] }).expect(500);
      delete provisioningHooks.afterStep;
      expect((await Assignment.findOne({ tenantId, assignmentId: a1.assignmentId }).lean().orFail()).provisioning).to.equal('syncing');
      // still resolvable while syncing: the previous role is a valid grant
      const user = await ssoUser(tenantId);
      await root.call('post', `${BASE}/assignments/${a1.assignmentId}/targets`, { targetType: 'user', targetIds: [user] }).expect(200);
      expect((await resolveUserAccess(tenantId, user))!.assignments).to.have.length(1);
      report = await reconcileAssignments(tenantId, stamps);
      expect(report.assignmentsSynced).to.equal(2);
      for (const a of [a1, a2]) {
        expect([...(await roleOf(ACCOUNT, a.roleId))!.policyIds]).to.not.include(opsPolicyId);
        expect((await Assignment.findOne({ tenantId, assignmentId: a.assignmentId }).lean().orFail()).provisioning).to.equal('active');
      }
    });

    it('reconciling twice, or with nothing to do, changes nothing', async () => {
      const first = await reconcileAssignments(tenantId, stamps);
      const second = await reconcileAssignments(tenantId, stamps);
      expect(second).to.deep.equal({ permissionSetsResynced: 0, assignmentsSynced: 0, assignmentsDeleted: 0, assignmentsRolledBack: 0, failed: [] });
      expect(first.failed).to.deep.equal([]);
      const ssoRoles = await Role.find({ accountId: ACCOUNT, roleType: 'SSO' }).select('ssoAssignmentId').lean();
      const live = await Assignment.find({ tenantId }).select('assignmentId').lean();
      expect(ssoRoles.map((r) => r.ssoAssignmentId).sort(), 'one role per assignment, no orphans').to.deep.equal(live.map((l) => l.assignmentId).sort());
    });
  });

  describe('rules', () => {
    it('deleting a user or a group through the API removes it from every assignment’s targets', async () => {
      const set = await newSet('Leavers', { systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] });
      const a = (await createAssignment({ assignmentName: 'Leavers', permissionSetId: set }).expect(201)).body;
      const group = await ssoGroup(tenantId);
      const leaver = await ssoUser(tenantId);
      const stayer = await ssoUser(tenantId);
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [leaver, stayer] }).expect(200);
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'group', targetIds: [group] }).expect(200);
      await root.call('delete', `${BASE}/users/${leaver}`).expect(204);
      await root.call('delete', `${BASE}/groups/${group}`).expect((res) => expect(res.status).to.be.oneOf([200, 204]));
      expect(await targetsOf(a.assignmentId)).to.deep.equal([`user:${stayer}`]);
    });

    it('names: rules, immutability, and case-insensitive uniqueness under concurrent creates', async () => {
      for (const assignmentName of ['a', 'x'.repeat(31), '-x', 'has space']) {
        const res = await createAssignment({ assignmentName, permissionSetId: viewerSet }).expect(400);
        expect(res.body.error.fieldErrors.map((f: { field: string }) => f.field)).to.deep.equal(['body.assignmentName']);
      }
      const names = ['Race', 'RACE', 'race', 'rAcE', 'RaCe', 'racE'];
      const results = await Promise.all(names.map((assignmentName) => createAssignment({ assignmentName, permissionSetId: viewerSet })));
      expect(results.filter((r) => r.status === 201)).to.have.length(1);
      expect(results.filter((r) => r.status === 409)).to.have.length(names.length - 1);
      expect(await Assignment.countDocuments({ tenantId, nameKey: 'race' })).to.equal(1);
      expect(await Role.countDocuments({ accountId: ACCOUNT, roleName: /^GatehouseSSO_Viewers_/ })).to.equal(await Assignment.countDocuments({ tenantId, permissionSetId: viewerSet }));
      const id = results.find((r) => r.status === 201)!.body.assignmentId;
      await root.call('put', `${BASE}/assignments/${id}`, { assignmentName: 'Other' }).expect(400);
      const upd = await root.call('put', `${BASE}/assignments/${id}`, { description: 'd'.repeat(300), consoleAccessAllowed: false, apiAccessAllowed: true }).expect(200);
      expect(upd.body).to.include({ consoleAccessAllowed: false, apiAccessAllowed: true });
      await root.call('put', `${BASE}/assignments/${id}`, { description: 'd'.repeat(301) }).expect(400);
      await root.call('put', `${BASE}/assignments/${id}`, { permissionSetId: mixedSet }).expect(400);
      await createAssignment({ assignmentName: 'NoSet', permissionSetId: randomUUID() }).expect(404);
    });

    it('targets: unknown principals are refused, adding is idempotent, removal from either side, many targets per assignment', async () => {
      const a = (await createAssignment({ assignmentName: 'Targets', permissionSetId: viewerSet }).expect(201)).body;
      const user = await ssoUser(tenantId);
      const group = await ssoGroup(tenantId);
      const missing = await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [user, randomUUID()] }).expect(404);
      expect(missing.body.error.errorCode).to.equal('NOT_FOUND');
      expect(await targetsOf(a.assignmentId)).to.deep.equal([]);
      // a group id is not a user id, and a deleted group is no target
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [group] }).expect(404);
      const gone = await ssoGroup(tenantId);
      await SsoGroup.updateOne({ tenantId, groupId: gone }, { $set: { deletingSince: new Date() } });
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'group', targetIds: [gone] }).expect(404);

      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [user, user] }).expect(200);
      const again = await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [user] }).expect(200);
      expect(again.body.targetUserCount).to.equal(1);
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'group', targetIds: [group] }).expect(200);
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'role', targetIds: [user] }).expect(400);
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [] }).expect(400);
      const listed = await root.call('get', `${BASE}/assignments/${a.assignmentId}/targets?targetType=group`).expect(200);
      expect(listed.body.items).to.deep.equal([{ targetType: 'group', targetId: group, name: `g${group.slice(0, 8)}` }]);
      expect(await targetsOf(a.assignmentId)).to.deep.equal([`group:${group}`, `user:${user}`].sort());

      await root.call('delete', `${BASE}/users/${user}/assignments/${a.assignmentId}`).expect(200);
      await root.call('delete', `${BASE}/users/${user}/assignments/${a.assignmentId}`).expect(404);
      await root.call('delete', `${BASE}/groups/${group}/assignments/${a.assignmentId}`).expect(200);
      await root.call('delete', `${BASE}/groups/${randomUUID()}/assignments/${a.assignmentId}`).expect(404);
      await root.call('delete', `${BASE}/users/${user}/assignments/${randomUUID()}`).expect(404);
      expect(await targetsOf(a.assignmentId)).to.deep.equal([]);

      // no cap on direct targets beyond the request size (arrays on the bundled engine cannot hold ~65 UUIDs indexed)
      const many = Array.from({ length: 250 }, () => randomUUID());
      await SsoUser.insertMany(many.map((userId) => ({ accountId: ACCOUNT, tenantId, userId, loginId: `${userId}@bulk.example`, loginIdKey: `${userId}@bulk.example` })));
      for (let i = 0; i < many.length; i += 100) {
        await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: many.slice(i, i + 100) }).expect(200);
      }
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: many.slice(0, 101) }).expect(400);
      await root.call('delete', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: many.slice(0, 100) }).expect(200);
      const view = await root.call('get', `${BASE}/assignments/${a.assignmentId}`).expect(200);
      expect(view.body).to.include({ targetUserCount: 150, targetGroupCount: 0 });
      const page = await root.call('get', `${BASE}/assignments/${a.assignmentId}/targets?pageSize=100&pageNo=1`).expect(200);
      expect(page.body.totalElements).to.equal(150);
      expect(page.body.items).to.have.length(50);
      expect(page.body.items[0].name).to.match(/@bulk\.example$/);
      // deleting the assignment deletes its targets
      await root.call('delete', `${BASE}/assignments/${a.assignmentId}`).expect(204);
      expect(await AssignmentTarget.countDocuments({ tenantId, assignmentId: a.assignmentId })).to.equal(0);
    });

    it('IP ACLs: ≤5 per access type, restricted=false detaches, removal keeps the restriction (fail closed), entries reach resolution', async () => {
      const a = (await createAssignment({ assignmentName: 'Fenced', permissionSetId: viewerSet, apiAccessAllowed: true }).expect(201)).body;
      const user = await ssoUser(tenantId);
      await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [user] }).expect(200);
      const acls: string[] = [];
      for (let i = 0; i < 6; i++) {
        acls.push((await root.call('post', `${BASE}/ip-acls`, { ipAclName: `Fence${i}`, accessIps: [`198.51.100.${i}`, `2001:db8:${i}::/48`] }).expect(201)).body.ipAclId);
      }
      await root.call('put', `${BASE}/assignments/${a.assignmentId}/ip-acls`, { consoleAccessIpAclIds: acls }).expect(400);
      const put = await root.call('put', `${BASE}/assignments/${a.assignmentId}/ip-acls`, { consoleAccessIpAclIds: acls.slice(0, 5), apiAccessIpAclIds: [acls[5]] }).expect(200);
      expect(put.body).to.include({ consoleAccessRestricted: true, apiAccessRestricted: true });
      const sixth = await root.call('put', `${BASE}/assignments/${a.assignmentId}/ip-acls`, { consoleAccessIpAclIds: [acls[5]] }).expect(409);
      expect(sixth.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
      await root.call('put', `${BASE}/assignments/${a.assignmentId}/ip-acls`, { consoleAccessIpAclIds: [randomUUID()] }).expect(404);
      await root.call('put', `${BASE}/assignments/${a.assignmentId}/ip-acls`, { apiAccessRestricted: false, apiAccessIpAclIds: [acls[0]] }).expect(400);

      const access = (await resolveUserAccess(tenantId, user))!.assignments[0]!;
      expect(access.console.restricted).to.equal(true);
      expect(access.console.ipAcls.map((x) => x.ipAclId)).to.deep.equal(acls.slice(0, 5));
      expect(access.api.ipAcls[0]!.accessIps).to.deep.equal(['198.51.100.5', '2001:db8:5::/48']);
      expect(accessAllowedFrom(access.console, '198.51.100.3')).to.equal(true);
      expect(accessAllowedFrom(access.console, '::ffff:198.51.100.3')).to.equal(true);
      expect(accessAllowedFrom(access.console, '2001:db8:4:ffff::1')).to.equal(true);
      expect(accessAllowedFrom(access.console, '203.0.113.1')).to.equal(false);
      expect(accessAllowedFrom(access.api, '198.51.100.3')).to.equal(false);

      // restricted=false detaches that type's ACLs
      const lifted = await root.call('put', `${BASE}/assignments/${a.assignmentId}/ip-acls`, { apiAccessRestricted: false }).expect(200);
      expect(lifted.body).to.include({ apiAccessRestricted: false });
      expect(lifted.body.apiAccessIpAclIds).to.deep.equal([]);
      expect(accessAllowedFrom((await resolveUserAccess(tenantId, user))!.assignments[0]!.api, '203.0.113.1')).to.equal(true);

      // removing the last console ACL keeps the restriction: nobody is admitted until it is lifted
      const removed = await root.call('delete', `${BASE}/assignments/${a.assignmentId}/ip-acls`, { consoleAccessIpAclIds: acls.slice(0, 5) }).expect(200);
      expect(removed.body).to.include({ consoleAccessRestricted: true });
      expect(removed.body.consoleAccessIpAclIds).to.deep.equal([]);
      expect(accessAllowedFrom((await resolveUserAccess(tenantId, user))!.assignments[0]!.console, '198.51.100.3')).to.equal(false);
      await root.call('put', `${BASE}/assignments/${a.assignmentId}/ip-acls`, { consoleAccessRestricted: true }).expect(400);
      await root.call('put', `${BASE}/assignments/${a.assignmentId}/ip-acls`, { consoleAccessRestricted: false }).expect(200);
      // the console flag still governs
      await root.call('put', `${BASE}/assignments/${a.assignmentId}`, { consoleAccessAllowed: false }).expect(200);
      expect(accessAllowedFrom((await resolveUserAccess(tenantId, user))!.assignments[0]!.console, '198.51.100.3')).to.equal(false);
    });

    it('organization accounts: refused while integration is off or outside the organization; provisioned in the other account when allowed', async () => {
      await Account.updateOne({ memberNo: ACCOUNT }, { $set: { organizationId: 'org-1' } });
      await Account.create({ memberNo: ORG_ACCOUNT, name: 'Org member', rootLoginId: 'orgroot', rootPasswordHash: '$argon2id$unused', organizationId: 'org-1' });
      await Account.create({ memberNo: OUTSIDER_ACCOUNT, name: 'Outsider', rootLoginId: 'outsider', rootPasswordHash: '$argon2id$unused', organizationId: 'org-2' });
      const off = await createAssignment({ assignmentName: 'OrgOff', permissionSetId: viewerSet, accountMemberNo: ORG_ACCOUNT }).expect(400);
      expect(off.body.error.detail).to.contain('organization integration is off');
      await Tenant.updateOne({ accountId: ACCOUNT }, { $set: { organizationEnabled: true } });
      const outside = await createAssignment({ assignmentName: 'OrgOut', permissionSetId: viewerSet, accountMemberNo: OUTSIDER_ACCOUNT }).expect(400);
      const unknown = await createAssignment({ assignmentName: 'OrgNone', permissionSetId: viewerSet, accountMemberNo: 9_999_999 }).expect(400);
      expect(outside.body.error.detail.replace(String(OUTSIDER_ACCOUNT), 'N')).to.equal(unknown.body.error.detail.replace('9999999', 'N'));
      // the user-created policy must exist in the target account, not in this one
      const missing = await createAssignment({ assignmentName: 'OrgMixed', permissionSetId: mixedSet, accountMemberNo: ORG_ACCOUNT }).expect(400);
      expect(missing.body.error.detail).to.contain(String(ORG_ACCOUNT)).and.contain('opspolicy');
      const theirOps = await userPolicy(ORG_ACCOUNT, 'OPSPOLICY');
      const made = (await createAssignment({ assignmentName: 'OrgMixed', permissionSetId: mixedSet, accountMemberNo: ORG_ACCOUNT }).expect(201)).body;
      expect(made.roleNrn).to.equal(`nrn:PUB:SubAccount::${ORG_ACCOUNT}:Role/${made.roleId}`);
      const role = await roleOf(ORG_ACCOUNT, made.roleId);
      expect([...role!.policyIds]).to.include(theirOps).and.not.include(opsPolicyId);
      expect(await roleOf(ACCOUNT, made.roleId)).to.equal(null);
      await root.call('delete', `${BASE}/assignments/${made.assignmentId}`).expect(204);
      expect(await roleOf(ORG_ACCOUNT, made.roleId)).to.equal(null);
      await Tenant.updateOne({ accountId: ACCOUNT }, { $set: { organizationEnabled: false } });
    });

    it('a permission set in use cannot be deleted; an IP ACL in use cannot be deleted', async () => {
      const set = await newSet('InUse', { systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] });
      const a = (await createAssignment({ assignmentName: 'UsesSet', permissionSetId: set }).expect(201)).body;
      const refused = await root.call('delete', `${BASE}/permission-sets/${set}`).expect(409);
      expect(refused.body.error.detail).to.contain('UsesSet');
      expect(refused.body.error.fieldErrors).to.deep.equal([{ field: 'assignmentIds', message: a.assignmentId }]);
      await root.call('delete', `${BASE}/assignments/${a.assignmentId}`).expect(204);
      await root.call('delete', `${BASE}/permission-sets/${set}`).expect(204);
    });
  });

  it('ncp:resourceTag on assignments and ncp:requestTag on create allow and deny', async () => {
    const prod = (await createAssignment({ assignmentName: 'TagProd', permissionSetId: viewerSet, tags: [{ key: 'env', value: 'prod' }] }).expect(201)).body;
    const dev = (await createAssignment({ assignmentName: 'TagDev', permissionSetId: viewerSet, tags: [{ key: 'env', value: 'dev' }] }).expect(201)).body;
    const prodOnly = await subAccountSigner(app, [
      {
        document: {
          permissions: [
            { effect: 'Allow', targets: [{ product: 'SSO', actions: ['view/getAssignmentDetail', 'change/changeStatusAssignment'], resourceNrns: ['*'] }], condition: { StringEquals: { 'ncp:resourceTag/env': ['prod'] } } },
            { effect: 'Allow', targets: [{ product: 'SSO', actions: ['change/createAssignment'], resourceNrns: ['*'] }], condition: { StringEquals: { 'ncp:requestTag/team': ['blue'] } } },
          ],
        },
      },
    ]);
    await prodOnly.call('get', `${BASE}/assignments/${prod.assignmentId}`).expect(200);
    await prodOnly.call('get', `${BASE}/assignments/${dev.assignmentId}`).expect(403);
    await prodOnly.call('put', `${BASE}/assignments/${dev.assignmentId}/status`, { status: 'SUSPENDED' }).expect(403);
    expect((await Assignment.findOne({ tenantId, assignmentId: dev.assignmentId }).lean().orFail()).status).to.equal('ACTIVATED');
    await prodOnly.call('put', `${BASE}/assignments/${prod.assignmentId}/status`, { status: 'SUSPENDED' }).expect(200);
    await createAssignment({ assignmentName: 'ReqRed', permissionSetId: viewerSet, tags: [{ key: 'team', value: 'red' }] }, prodOnly).expect(403);
    await createAssignment({ assignmentName: 'ReqBlue', permissionSetId: viewerSet, tags: [{ key: 'team', value: 'blue' }] }, prodOnly).expect(201);
    expect(await Assignment.countDocuments({ tenantId, nameKey: 'reqred' })).to.equal(0);
  });

  it('removals from the principal side are authorized on the user’s or group’s NRN (resource tags of the principal)', async () => {
    const a = (await createAssignment({ assignmentName: 'SideGate', permissionSetId: viewerSet }).expect(201)).body;
    const vip = await ssoUser(tenantId);
    await SsoUser.updateOne({ tenantId, userId: vip }, { $set: { tags: [{ key: 'tier', value: 'vip' }] } });
    const plain = await ssoUser(tenantId);
    await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [vip, plain] }).expect(200);
    const notVip = await subAccountSigner(app, [
      {
        document: {
          permissions: [
            {
              effect: 'Allow',
              targets: [{ product: 'SSO', actions: ['change/removeUserFromAssignment'], resourceNrns: [`nrn:PUB:SSO::${ACCOUNT}:User/*`] }],
              condition: { StringNotEquals: { 'ncp:resourceTag/tier': ['vip'] } },
            },
          ],
        },
      },
    ]);
    await notVip.call('delete', `${BASE}/users/${vip}/assignments/${a.assignmentId}`).expect(403);
    await notVip.call('delete', `${BASE}/users/${plain}/assignments/${a.assignmentId}`).expect(200);
    expect(await targetsOf(a.assignmentId)).to.deep.equal([`user:${vip}`]);
  });

  it('every assignment route is gated by exactly its catalog action (403 without it, through with only it)', async () => {
    const a = (await createAssignment({ assignmentName: 'Gated', permissionSetId: viewerSet }).expect(201)).body;
    const user = await ssoUser(tenantId);
    const group = await ssoGroup(tenantId);
    const acl = (await root.call('post', `${BASE}/ip-acls`, { ipAclName: 'GateAcl', accessIps: ['10.0.0.1'] }).expect(201)).body.ipAclId;
    const allSso = catalog.byProduct('SSO').map((x) => x.qualifiedName);
    const unqualified = (q: string) => q.slice(q.indexOf(':') + 1);
    const bodies: Record<string, () => unknown> = {
      'post /assignments': () => ({ assignmentName: `G${randomUUID().slice(0, 8)}`, permissionSetId: viewerSet }),
      'put /assignments/:assignmentId': () => ({ description: 'gated' }),
      'put /assignments/:assignmentId/status': () => ({ status: 'ACTIVATED' }),
      'post /assignments/:assignmentId/targets': () => ({ targetType: 'user', targetIds: [user] }),
      'delete /assignments/:assignmentId/targets': () => ({ targetType: 'user', targetIds: [user] }),
      'put /assignments/:assignmentId/ip-acls': () => ({ consoleAccessIpAclIds: [acl] }),
      'delete /assignments/:assignmentId/ip-acls': () => ({ consoleAccessIpAclIds: [acl] }),
      'post /assignments/:assignmentId/tags': () => ({ tags: [{ key: 'k', value: 'v' }] }),
      'delete /assignments/:assignmentId/tags': () => ({ tagKeys: ['k'] }),
    };
    const setup: Record<string, () => Promise<unknown>> = {
      'delete /users/:userId/assignments/:assignmentId': () => AssignmentTarget.create({ tenantId, accountId: ACCOUNT, assignmentId: a.assignmentId, targetType: 'user', targetId: user }),
      'delete /groups/:groupId/assignments/:assignmentId': () => AssignmentTarget.create({ tenantId, accountId: ACCOUNT, assignmentId: a.assignmentId, targetType: 'group', targetId: group }),
    };
    const last = (s: AdminRouteSpec) => (s.method === 'delete' && s.path === '/assignments/:assignmentId' ? 1 : 0);
    for (const spec of [...assignmentRoutes].sort((x, y) => last(x) - last(y))) {
      const key = `${spec.method} ${spec.path}`;
      const path = BASE + spec.path.replace(':assignmentId', a.assignmentId).replace(':userId', user).replace(':groupId', group);
      const others = allSso.filter((x) => x.toLowerCase() !== spec.action.toLowerCase()).map(unqualified);
      const without = await subAccountSigner(app, [allow(others, 'SSO')]);
      expect((await without.call(spec.method, path, bodies[key]?.())).status, `${key} without ${spec.action}`).to.equal(403);
      await setup[key]?.();
      const only = await subAccountSigner(app, [allow(withRelatedActions([unqualified(spec.action)], 'SSO'), 'SSO')]);
      const res = await only.call(spec.method, path, bodies[key]?.());
      expect(res.status, `${key} with only ${spec.action}: ${JSON.stringify(res.body)}`).to.be.within(200, 299);
    }
  });

  it('an admin of another account gets 404 for this tenant’s assignments and cannot touch their roles', async () => {
    const a = (await createAssignment({ assignmentName: 'Mine', permissionSetId: viewerSet }).expect(201)).body;
    const user = await ssoUser(tenantId);
    await root.call('post', `${BASE}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [user] }).expect(200);
    const other = await rootSigner(app, OTHER_ACCOUNT);
    const otherTenant = await createTenant(OTHER_ACCOUNT);
    const otherUser = await ssoUser(otherTenant, [], OTHER_ACCOUNT);
    const otherSet = (await other.call('post', `${BASE}/permission-sets`, { permissionSetName: 'Theirs', systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] }).expect(201)).body.permissionSetId;
    const id = a.assignmentId;
    for (const [method, path, body] of [
      ['get', `/assignments/${id}`, undefined],
      ['put', `/assignments/${id}`, { description: 'x' }],
      ['delete', `/assignments/${id}`, undefined],
      ['put', `/assignments/${id}/status`, { status: 'SUSPENDED' }],
      ['get', `/assignments/${id}/targets`, undefined],
      ['post', `/assignments/${id}/targets`, { targetType: 'user', targetIds: [otherUser] }],
      ['delete', `/assignments/${id}/targets`, { targetType: 'user', targetIds: [user] }],
      ['put', `/assignments/${id}/ip-acls`, { apiAccessRestricted: false }],
      ['delete', `/assignments/${id}/ip-acls`, { consoleAccessIpAclIds: [randomUUID()] }],
      ['post', `/assignments/${id}/tags`, { tags: [{ key: 'a', value: 'b' }] }],
      ['delete', `/assignments/${id}/tags`, { tagKeys: ['a'] }],
      ['delete', `/users/${user}/assignments/${id}`, undefined],
      ['delete', `/users/${otherUser}/assignments/${id}`, undefined],
    ] as const) {
      const res = await other.call(method, `${BASE}${path}`, body);
      expect(res.status, `${method} ${path}`).to.equal(404);
    }
    // its own assignment cannot use this tenant's permission set either
    await other.call('post', `${BASE}/assignments`, { assignmentName: 'Steal', permissionSetId: viewerSet }).expect(404);
    expect((await other.call('get', `${BASE}/assignments`).expect(200)).body.totalElements).to.equal(0);
    await other.call('post', `${BASE}/assignments`, { assignmentName: 'Theirs', permissionSetId: otherSet }).expect(201);
    const stored = await Assignment.findOne({ tenantId, assignmentId: id }).lean().orFail();
    expect(stored).to.include({ status: 'ACTIVATED', provisioning: 'active' });
    expect(await targetsOf(id)).to.deep.equal([`user:${user}`]);
    expect(await roleOf(ACCOUNT, a.roleId)).to.not.equal(null);
    expect(await resolveUserAccess(otherTenant, user), 'a user id of another tenant does not resolve').to.equal(null);
  });
});
