/**
 * The policy API (seed S1 Policy actions, reference/ncloud-model.md §3 "Policy types") through
 * signed requests, against the real engine: CRUD, naming rules, validation with nothing stored,
 * related actions added and deselectable, View/validatePolicy, the 500-policy limit, refusal to
 * delete an attached policy, read-only system-managed policies, decisions changing at once, and
 * the 403s and tenant isolation of security-bar §4/§6.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { POLICY_LIMIT, Policy } from '../../../src/iam/policies/policy.model.js';
import { policyQuotaKey } from '../../../src/iam/policies/policy.service.js';
import { Role } from '../../../src/iam/roles/role.model.js';
import { managedPolicies } from '../../../src/policy/index.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { acquireQuota, quotaUsed } from '../../../src/shared/quota.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { testApp } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/subaccount';

type Doc = { permissions: { effect: string; targets: { product: string; actions: string[]; resourceNrns?: string[] }[] }[] };
const grant = (actions: string[], effect = 'Allow', resourceNrns = ['*']): Doc => ({
  permissions: [{ effect, targets: [{ product: 'SubAccount', actions, resourceNrns }] }],
});
const fieldsOf = (body: { error: { fieldErrors: { field: string }[] } }) => body.error.fieldErrors.map((f) => f.field);

describe('Sub Account API: policies', function () {
  this.timeout(60_000);
  useTestDatabase('policies');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;

  before(async () => {
    root = await rootSigner(app);
  });

  const create = (body: Record<string, unknown>, who: Signer = root) => who.call('post', `${BASE}/policies`, body);

  describe('create and read', () => {
    it('creates a policy with related actions added, stores it, counts it against the quota, and audits the call', async () => {
      const before = await quotaUsed(policyQuotaKey(ACCOUNT));
      const res = await create({
        policyName: 'GroupPolicyAdmins',
        description: 'may attach policies to groups',
        tags: [{ key: 'team', value: 'iam' }],
        document: grant(['Change/addPolicyToGroup']),
      }).expect(201);
      const p = res.body;
      expect(p).to.include({
        policyName: 'GroupPolicyAdmins',
        policyType: 'UserCreated',
        description: 'may attach policies to groups',
        relatedActionsIncluded: true,
      });
      expect(p.nrn).to.equal(`nrn:PUB:SubAccount::${ACCOUNT}:Policy/${p.policyId}`);
      // Seed S1: addPolicyToGroup's related actions are getGroupList, getPolicyList, getPolicyDetail, getGroupDetail.
      expect(p.document.permissions[0].targets[0].actions).to.deep.equal([
        'Change/addPolicyToGroup',
        'View/getGroupList',
        'View/getPolicyList',
        'View/getPolicyDetail',
        'View/getGroupDetail',
      ]);
      expect(p.document.permissions[0].targets[0].resourceNrns).to.deep.equal(['*']);
      const stored = await Policy.findOne({ accountId: ACCOUNT, policyId: p.policyId }).orFail().lean();
      expect(stored.nameKey).to.equal('grouppolicyadmins');
      expect((stored.document as Doc).permissions[0]!.targets[0]!.actions).to.have.length(5);
      expect(await quotaUsed(policyQuotaKey(ACCOUNT))).to.equal(before + 1);
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/createPolicy' }).orFail().lean();
      expect(ev).to.include({ result: 'success' });
      expect(ev.actor?.kind).to.equal('Root');
    });

    it('respects a deselection of related actions (includeRelatedActions: false) and stores the decision', async () => {
      const res = await create({
        policyName: 'NoRelated',
        document: grant(['Change/addPolicyToGroup']),
        includeRelatedActions: false,
      }).expect(201);
      expect(res.body.relatedActionsIncluded).to.equal(false);
      expect(res.body.document.permissions[0].targets[0].actions).to.deep.equal(['Change/addPolicyToGroup']);
      const stored = await Policy.findOne({ accountId: ACCOUNT, policyId: res.body.policyId }).orFail().lean();
      expect((stored.document as Doc).permissions[0]!.targets[0]!.actions).to.deep.equal(['Change/addPolicyToGroup']);
      expect(stored.relatedActionsIncluded).to.equal(false);
    });

    it('leaves Deny permissions as written: related actions are help for granting, not for denying', async () => {
      const res = await create({
        policyName: 'DenyDeletes',
        document: { permissions: [...grant(['Change/deleteGroup']).permissions, ...grant(['Change/deletePolicy'], 'Deny').permissions] },
      }).expect(201);
      expect(res.body.document.permissions[0].targets[0].actions).to.deep.equal([
        'Change/deleteGroup',
        'View/getGroupList',
        'View/getGroupDetail',
      ]);
      expect(res.body.document.permissions[1].targets[0].actions).to.deep.equal(['Change/deletePolicy']);
    });

    it('accepts Korean and Japanese names (3-30 letters, digits, . _ -)', async () => {
      await create({ policyName: '정책-관리자_1', document: grant(['View/getGroupList']) }).expect(201);
      await create({ policyName: 'ポリシー.管理', document: grant(['View/getGroupList']) }).expect(201);
    });

    it('refuses bad input with field errors for every field at once, and stores nothing', async () => {
      const before = await Policy.countDocuments({ accountId: ACCOUNT });
      const quota = await quotaUsed(policyQuotaKey(ACCOUNT));
      const res = await create({
        policyName: '1starts-with-digit',
        description: '가'.repeat(101), // 303 bytes of UTF-8
        tags: Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, value: '' })),
        document: { permissions: [{ effect: 'Allow', targets: [{ product: 'SubAccount', actions: ['View/getNothing'] }] }] },
      }).expect(400);
      expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
      expect(fieldsOf(res.body)).to.include.members([
        'body.policyName',
        'body.description',
        'body.tags',
        'body.document.permissions[0].targets[0].actions[0]',
      ]);
      expect(await Policy.countDocuments({ accountId: ACCOUNT })).to.equal(before);
      expect(await quotaUsed(policyQuotaKey(ACCOUNT))).to.equal(quota);
    });

    it('prefixes document errors with body.document (unknown fields, bad effects, bad conditions)', async () => {
      const res = await create({
        policyName: 'BadDoc',
        document: {
          permissions: [
            {
              effect: 'Maybe',
              targets: [{ product: 'SubAccount', actions: ['*'] }],
              condition: { StringEquals: { 'ncp:noSuchKey': ['x'] } },
            },
          ],
          extra: 1,
        },
      }).expect(400);
      const fields = fieldsOf(res.body);
      expect(fields).to.include.members(['body.document.extra', 'body.document.permissions[0].effect']);
      expect(fields.some((f: string) => f.startsWith('body.document.permissions[0].condition'))).to.equal(true);
      const notObject = await create({ policyName: 'BadDoc', document: 'allow everything' }).expect(400);
      expect(fieldsOf(notObject.body)).to.deep.equal(['body.document']);
      expect(await Policy.countDocuments({ accountId: ACCOUNT, nameKey: 'baddoc' })).to.equal(0);
    });

    it('refuses the name or id of a system-managed policy, case-insensitively, with a field error', async () => {
      for (const policyName of ['NCP_ADMINISTRATOR', 'ncp_sub_account_viewer']) {
        const res = await create({ policyName, document: grant(['View/getGroupList']) }).expect(400);
        expect(res.body.error.fieldErrors).to.deep.include({
          field: 'body.policyName',
          message: `"${policyName}" is the name or id of a system-managed policy; choose another name`,
        });
      }
      const res = await create({ policyName: managedPolicies[0]!.id, document: grant(['View/getGroupList']) }).expect(400);
      expect(fieldsOf(res.body)).to.include('body.policyName');
      expect(
        await Policy.countDocuments({ accountId: ACCOUNT, nameKey: { $in: ['ncp_administrator', 'ncp_sub_account_viewer'] } }),
      ).to.equal(0);
    });

    it('refuses a duplicate name case-insensitively (409), stores nothing and gives the quota back', async () => {
      const before = await Policy.countDocuments({ accountId: ACCOUNT });
      const quota = await quotaUsed(policyQuotaKey(ACCOUNT));
      const res = await create({ policyName: 'grouppolicyADMINS', document: grant(['View/getGroupList']) }).expect(409);
      expect(res.body.error.errorCode).to.equal('CONFLICT');
      expect(await Policy.countDocuments({ accountId: ACCOUNT })).to.equal(before);
      expect(await quotaUsed(policyQuotaKey(ACCOUNT))).to.equal(quota);
    });

    it('refuses operator-shaped values and unknown fields (no NoSQL injection, no mass assignment)', async () => {
      const res = await create({
        policyName: { $ne: null },
        document: grant(['View/getGroupList']),
        accountId: 42,
        policyId: 'mine',
      }).expect(400);
      expect(fieldsOf(res.body)).to.include.members(['body.policyName', 'body']);
      expect(await Policy.countDocuments({ accountId: 42 })).to.equal(0);
    });

    it('lists user policies paged and by name prefix, and system-managed ones with type=system', async () => {
      const page0 = await root.call('get', `${BASE}/policies?pageSize=2&pageNo=0`).expect(200);
      expect(page0.body).to.include({ pageNo: 0, pageSize: 2 });
      expect(page0.body.items).to.have.length(2);
      expect(page0.body.totalElements).to.equal(await Policy.countDocuments({ accountId: ACCOUNT }));
      expect(page0.body.items[0]).not.to.have.property('document');
      const search = await root.call('get', `${BASE}/policies?searchName=GROUPpolicy`).expect(200);
      expect(search.body.items.map((p: { policyName: string }) => p.policyName)).to.deep.equal(['GroupPolicyAdmins']);
      // A regex in the search is taken literally.
      const literal = await root.call('get', `${BASE}/policies?searchName=.*`).expect(200);
      expect(literal.body.totalElements).to.equal(0);
      const system = await root.call('get', `${BASE}/policies?type=system&pageSize=100`).expect(200);
      expect(system.body.totalElements).to.equal(managedPolicies.length);
      expect(system.body.items.map((p: { policyName: string }) => p.policyName)).to.include('NCP_SUB_ACCOUNT_MANAGER');
      expect(system.body.items.every((p: { policyType: string }) => p.policyType === 'SystemManaged')).to.equal(true);
      const viewers = await root.call('get', `${BASE}/policies?type=system&searchName=ncp_sub`).expect(200);
      expect(viewers.body.items.map((p: { policyName: string }) => p.policyName)).to.deep.equal([
        'NCP_SUB_ACCOUNT_MANAGER',
        'NCP_SUB_ACCOUNT_VIEWER',
      ]);
      await root.call('get', `${BASE}/policies?type=both`).expect(400);
    });

    it('shows a policy with its document, NRN, times, tags and where it is allocated', async () => {
      const p = (
        await create({ policyName: 'Allocated', tags: [{ key: 'env', value: 'prod' }], document: grant(['View/getRoleList']) }).expect(201)
      ).body;
      const sub = await subAccountSigner(app, []);
      await root.call('post', `${BASE}/sub-accounts/${sub.subAccountId}/policies`, { policyIds: [p.policyId] }).expect(200);
      const group = (await root.call('post', `${BASE}/groups`, { groupName: 'allocators' }).expect(201)).body;
      await root.call('post', `${BASE}/groups/${group.groupId}/policies`, { policyIds: [p.policyId] }).expect(200);
      const roleId = randomUUID();
      await Role.create({
        accountId: ACCOUNT,
        roleId,
        roleName: 'AllocRole',
        roleNameKey: 'allocrole',
        roleType: 'Account',
        policyIds: [p.policyId],
      });

      const res = await root.call('get', `${BASE}/policies/${p.policyId}`).expect(200);
      expect(res.body).to.include({ policyId: p.policyId, policyName: 'Allocated', policyType: 'UserCreated', nrn: p.nrn });
      expect(res.body.document).to.deep.equal(grant(['View/getRoleList']));
      expect(res.body.tags).to.deep.equal([{ key: 'env', value: 'prod' }]);
      expect(Date.parse(res.body.createdAt)).to.be.a('number').and.not.NaN;
      expect(Date.parse(res.body.updatedAt)).to.be.at.least(Date.parse(res.body.createdAt));
      expect(res.body.allocatedResources).to.deep.equal({
        subAccounts: [{ subAccountId: sub.subAccountId, loginId: sub.loginId, name: 'Test Sub' }],
        groups: [{ groupId: group.groupId, groupName: 'allocators' }],
        roles: [{ roleId, roleName: 'AllocRole', roleType: 'Account' }],
      });
    });

    it('shows a system-managed policy by id or by name, with where it is attached', async () => {
      const viewer = managedPolicies.find((m) => m.name === 'NCP_SUB_ACCOUNT_VIEWER')!;
      const holder = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]); // attached by name
      for (const ref of [viewer.id, viewer.name]) {
        const res = await root.call('get', `${BASE}/policies/${ref}`).expect(200);
        expect(res.body).to.include({
          policyId: viewer.id,
          policyName: 'NCP_SUB_ACCOUNT_VIEWER',
          policyType: 'SystemManaged',
          createdAt: null,
        });
        expect(res.body.nrn).to.equal(`nrn:PUB:SubAccount::${ACCOUNT}:Policy/${viewer.id}`);
        expect(res.body.document.permissions[0].targets[0].product).to.equal('SubAccount');
        expect(res.body.allocatedResources.subAccounts.map((s: { loginId: string }) => s.loginId)).to.include(holder.loginId);
      }
    });

    it('answers 404 for an unknown policy, after authorization', async () => {
      const res = await root.call('get', `${BASE}/policies/${randomUUID()}`).expect(404);
      expect(res.body.error.errorCode).to.equal('NOT_FOUND');
      const nobody = await subAccountSigner(app, []);
      await nobody.call('get', `${BASE}/policies/${randomUUID()}`).expect(403);
    });
  });

  describe('View/validatePolicy', () => {
    it('answers valid with the document a create would store, and stores nothing', async () => {
      const before = await Policy.countDocuments({ accountId: ACCOUNT });
      const res = await root
        .call('post', `${BASE}/policies/validate`, { policyName: 'NotStored', document: grant(['View/getGroupDetail']) })
        .expect(200);
      expect(res.body.valid).to.equal(true);
      expect(res.body.fieldErrors).to.deep.equal([]);
      expect(res.body.document.permissions[0].targets[0].actions).to.deep.equal(['View/getGroupDetail', 'View/getGroupList']);
      const without = await root
        .call('post', `${BASE}/policies/validate`, { document: grant(['View/getGroupDetail']), includeRelatedActions: false })
        .expect(200);
      expect(without.body.document.permissions[0].targets[0].actions).to.deep.equal(['View/getGroupDetail']);
      expect(await Policy.countDocuments({ accountId: ACCOUNT })).to.equal(before);
      expect(await Policy.countDocuments({ accountId: ACCOUNT, nameKey: 'notstored' })).to.equal(0);
    });

    it('answers invalid with the same field errors a create gives, including unknown fields and taken names', async () => {
      const body = {
        policyName: 'ncp_administrator',
        document: { permissions: [{ effect: 'Allow', targets: [{ product: 'Nope', actions: ['*'] }] }] },
        surprise: true,
      };
      const res = await root.call('post', `${BASE}/policies/validate`, body).expect(200);
      expect(res.body.valid).to.equal(false);
      expect(res.body).not.to.have.property('document');
      const fields = res.body.fieldErrors.map((f: { field: string }) => f.field);
      expect(fields).to.include.members(['body.policyName', 'body.document.permissions[0].targets[0].product', 'body']);
      const created = await create(body).expect(400);
      expect(created.body.error.fieldErrors).to.deep.equal(res.body.fieldErrors);
      const noDocument = await root.call('post', `${BASE}/policies/validate`, {}).expect(200);
      expect(noDocument.body.fieldErrors.map((f: { field: string }) => f.field)).to.include('body.document');
    });
  });

  describe('update and delete', () => {
    it('updates name, description, tags and document; related actions are added again unless deselected', async () => {
      const p = (await create({ policyName: 'Editable', document: grant(['View/getGroupList']) }).expect(201)).body;
      const upd = await root
        .call('put', `${BASE}/policies/${p.policyId}`, {
          policyName: 'Edited',
          description: 'now more',
          tags: [{ key: 'a', value: 'b' }],
          document: grant(['Change/updateGroup']),
        })
        .expect(200);
      expect(upd.body).to.include({ policyName: 'Edited', description: 'now more', relatedActionsIncluded: true });
      expect(upd.body.document.permissions[0].targets[0].actions).to.deep.equal([
        'Change/updateGroup',
        'View/getGroupList',
        'View/getGroupDetail',
      ]);
      const deselected = await root
        .call('put', `${BASE}/policies/${p.policyId}`, { document: grant(['Change/updateGroup']), includeRelatedActions: false })
        .expect(200);
      expect(deselected.body.document.permissions[0].targets[0].actions).to.deep.equal(['Change/updateGroup']);
      expect(deselected.body.relatedActionsIncluded).to.equal(false);
      const stored = await Policy.findOne({ accountId: ACCOUNT, policyId: p.policyId }).orFail().lean();
      expect(stored).to.include({ name: 'Edited', nameKey: 'edited', description: 'now more', relatedActionsIncluded: false });
      // Renaming onto another policy's name is a conflict; nothing changes.
      await root.call('put', `${BASE}/policies/${p.policyId}`, { policyName: 'ALLOCATED' }).expect(409);
      await root.call('put', `${BASE}/policies/${p.policyId}`, {}).expect(400);
      const bad = await root.call('put', `${BASE}/policies/${p.policyId}`, { document: { permissions: [] } }).expect(400);
      expect(fieldsOf(bad.body)).to.deep.equal(['body.document.permissions']);
      expect((await Policy.findOne({ accountId: ACCOUNT, policyId: p.policyId }).orFail().lean()).name).to.equal('Edited');
    });

    it('decisions change at once: a sub account allowed by a policy is denied right after the policy is edited', async () => {
      const p = (await create({ policyName: 'LiveEdit', document: grant(['View/getGroupList']) }).expect(201)).body;
      const sub = await subAccountSigner(app, []);
      await root.call('post', `${BASE}/sub-accounts/${sub.subAccountId}/policies`, { policyIds: [p.policyId] }).expect(200);
      await sub.call('get', `${BASE}/groups`).expect(200);
      await root.call('put', `${BASE}/policies/${p.policyId}`, { document: grant(['View/getRoleList']) }).expect(200);
      await sub.call('get', `${BASE}/groups`).expect(403);
      await root.call('put', `${BASE}/policies/${p.policyId}`, { document: grant(['View/getGroupList']) }).expect(200);
      await sub.call('get', `${BASE}/groups`).expect(200);
    });

    it('refuses to delete a policy while attached (409 naming each attachment), then deletes it once detached', async () => {
      const p = (await create({ policyName: 'StillAttached', document: grant(['View/getGroupList']) }).expect(201)).body;
      const sub = await subAccountSigner(app, []);
      await root.call('post', `${BASE}/sub-accounts/${sub.subAccountId}/policies`, { policyIds: [p.policyId] }).expect(200);
      const group = (await root.call('post', `${BASE}/groups`, { groupName: 'holders' }).expect(201)).body;
      await root.call('post', `${BASE}/groups/${group.groupId}/policies`, { policyIds: [p.policyId] }).expect(200);
      const roleId = randomUUID();
      await Role.create({
        accountId: ACCOUNT,
        roleId,
        roleName: 'HolderRole',
        roleNameKey: 'holderrole',
        roleType: 'Account',
        policyIds: [p.policyId],
      });

      const res = await root.call('delete', `${BASE}/policies/${p.policyId}`).expect(409);
      expect(res.body.error.errorCode).to.equal('CONFLICT');
      expect(res.body.error.fieldErrors).to.deep.equal([
        { field: 'attachments.subAccounts', message: sub.loginId },
        { field: 'attachments.groups', message: 'holders' },
        { field: 'attachments.roles', message: 'HolderRole' },
      ]);
      expect(res.body.error.detail).to.contain(sub.loginId).and.contain('holders').and.contain('HolderRole');
      expect(await Policy.countDocuments({ accountId: ACCOUNT, policyId: p.policyId })).to.equal(1);
      const failed = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/deletePolicy', result: 'failed' })
        .orFail()
        .lean();
      expect(failed.errorCode).to.equal('CONFLICT');

      await root.call('delete', `${BASE}/sub-accounts/${sub.subAccountId}/policies/${p.policyId}`).expect(200);
      await root.call('delete', `${BASE}/groups/${group.groupId}/policies/${p.policyId}`).expect(200);
      const onlyRole = await root.call('delete', `${BASE}/policies/${p.policyId}`).expect(409);
      expect(onlyRole.body.error.fieldErrors).to.deep.equal([{ field: 'attachments.roles', message: 'HolderRole' }]);
      await Role.updateOne({ accountId: ACCOUNT, roleId }, { $pull: { policyIds: p.policyId } });

      const quota = await quotaUsed(policyQuotaKey(ACCOUNT));
      await root.call('delete', `${BASE}/policies/${p.policyId}`).expect(204);
      expect(await Policy.countDocuments({ accountId: ACCOUNT, policyId: p.policyId })).to.equal(0);
      expect(await quotaUsed(policyQuotaKey(ACCOUNT))).to.equal(quota - 1);
      await root.call('delete', `${BASE}/policies/${p.policyId}`).expect(404);
    });

    it('keeps system-managed policies read-only: update and delete are refused with 400 for every caller', async () => {
      const admin = managedPolicies.find((m) => m.name === 'NCP_ADMINISTRATOR')!;
      for (const ref of [admin.id, admin.name]) {
        const upd = await root.call('put', `${BASE}/policies/${ref}`, { description: 'mine now' }).expect(400);
        expect(upd.body.error.errorCode).to.equal('BAD_REQUEST');
        expect(upd.body.error.detail).to.contain('system-managed').and.contain('read-only');
        const del = await root.call('delete', `${BASE}/policies/${ref}`).expect(400);
        expect(del.body.error.detail).to.contain('read-only');
      }
    });
  });

  describe('authorization', () => {
    it('403 for principals without the action, with nothing stored and the denial audited', async () => {
      const lister = await subAccountSigner(app, [allow(['View/getPolicyList'])]);
      await lister.call('get', `${BASE}/policies`).expect(200);
      const before = await Policy.countDocuments({ accountId: ACCOUNT });
      const denied = await create({ policyName: 'Sneaky', document: grant(['*']) }, lister).expect(403);
      expect(denied.body.error.errorCode).to.equal('FORBIDDEN');
      await lister.call('post', `${BASE}/policies/validate`, { document: grant(['*']) }).expect(403);
      const target = (await create({ policyName: 'Target', document: grant(['View/getGroupList']) }).expect(201)).body;
      await lister.call('get', `${BASE}/policies/${target.policyId}`).expect(403);
      await lister.call('put', `${BASE}/policies/${target.policyId}`, { description: 'x' }).expect(403);
      await lister.call('delete', `${BASE}/policies/${target.policyId}`).expect(403);
      expect(await Policy.countDocuments({ accountId: ACCOUNT })).to.equal(before + 1);
      expect((await Policy.findOne({ accountId: ACCOUNT, policyId: target.policyId }).orFail().lean()).description).to.equal('');
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, result: 'denied', 'actor.id': lister.subAccountId })).to.equal(5);
      // An invalid body tells a caller without the action nothing about the input rules.
      const badBody = await create({ policyName: 1 }, lister).expect(403);
      expect(badBody.body.error.fieldErrors).to.deep.equal([]);
    });

    it('authorizes one policy by its NRN: a grant on one policy does not reach another', async () => {
      const a = (await create({ policyName: 'ScopedA', document: grant(['View/getGroupList']) }).expect(201)).body;
      const b = (await create({ policyName: 'ScopedB', document: grant(['View/getGroupList']) }).expect(201)).body;
      const reader = await subAccountSigner(app, [allow(['View/getPolicyDetail', 'Change/updatePolicy'], 'SubAccount', [a.nrn])]);
      await reader.call('get', `${BASE}/policies/${a.policyId}`).expect(200);
      await reader.call('put', `${BASE}/policies/${a.policyId}`, { description: 'ok' }).expect(200);
      await reader.call('get', `${BASE}/policies/${b.policyId}`).expect(403);
      await reader.call('put', `${BASE}/policies/${b.policyId}`, { description: 'no' }).expect(403);
    });

    it('NCP_SUB_ACCOUNT_VIEWER can list, read and validate but not create', async () => {
      const viewer = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
      await viewer.call('get', `${BASE}/policies?type=system`).expect(200);
      await viewer.call('post', `${BASE}/policies/validate`, { document: grant(['*']) }).expect(200);
      await create({ policyName: 'ViewerMade', document: grant(['*']) }, viewer).expect(403);
    });

    it('keeps accounts apart: another account’s policy is 404 to this account (security-bar §6 #45)', async () => {
      const otherAccount = ACCOUNT + 7;
      const otherRoot = await rootSigner(app, otherAccount);
      const theirs = (await create({ policyName: 'Theirs', document: grant(['View/getGroupList']) }, otherRoot).expect(201)).body;
      expect(theirs.nrn).to.equal(`nrn:PUB:SubAccount::${otherAccount}:Policy/${theirs.policyId}`);
      await root.call('get', `${BASE}/policies/${theirs.policyId}`).expect(404);
      await root.call('put', `${BASE}/policies/${theirs.policyId}`, { description: 'hijack' }).expect(404);
      await root.call('delete', `${BASE}/policies/${theirs.policyId}`).expect(404);
      const mine = await root.call('get', `${BASE}/policies?searchName=theirs`).expect(200);
      expect(mine.body.totalElements).to.equal(0);
      // The same name is free in each account.
      await create({ policyName: 'Theirs', document: grant(['View/getGroupList']) }).expect(201);
      expect((await Policy.findOne({ accountId: otherAccount, policyId: theirs.policyId }).orFail().lean()).description).to.equal('');
    });
  });

  describe('at most 500 user-created policies per account', () => {
    it('refuses the 501st policy through the API, stores nothing, and frees a place on delete', async function () {
      this.timeout(120_000);
      const account = ACCOUNT + 9;
      const owner = await rootSigner(app, account);
      // 499 policies written directly, each one taken from the quota through the quota API; the
      // 500th and 501st go through the API, which is what must refuse.
      const seeded = POLICY_LIMIT - 1;
      await Policy.insertMany(
        Array.from({ length: seeded }, (_, i) => ({
          accountId: account,
          policyId: randomUUID(),
          name: `bulk${i}`,
          nameKey: `bulk${i}`,
          document: grant(['View/getGroupList']),
        })),
      );
      // One at a time: the bundled FerretDB loses concurrent $inc updates on one document.
      for (let i = 0; i < seeded; i++) await acquireQuota(policyQuotaKey(account), POLICY_LIMIT, 'policies');
      expect(await quotaUsed(policyQuotaKey(account))).to.equal(seeded);

      const fiveHundredth = await create({ policyName: 'Number500', document: grant(['View/getGroupList']) }, owner).expect(201);
      const refused = await create({ policyName: 'Number501', document: grant(['View/getGroupList']) }, owner).expect(409);
      expect(refused.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
      expect(refused.body.error.detail).to.contain('500');
      expect(await Policy.countDocuments({ accountId: account })).to.equal(POLICY_LIMIT);
      expect(await Policy.countDocuments({ accountId: account, nameKey: 'number501' })).to.equal(0);

      await owner.call('delete', `${BASE}/policies/${fiveHundredth.body.policyId}`).expect(204);
      await create({ policyName: 'Number501', document: grant(['View/getGroupList']) }, owner).expect(201);
      expect(await Policy.countDocuments({ accountId: account })).to.equal(POLICY_LIMIT);
      // The other accounts' counters are untouched by this one's.
      expect(await quotaUsed(policyQuotaKey(account))).to.equal(POLICY_LIMIT);
    });
  });
});
