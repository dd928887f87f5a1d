/**
 * The group API (seed S1 Group actions) through signed requests, against the real engine: CRUD,
 * names and limits, membership and group policies and their effect on the members' next call,
 * authorization against the group's NRN, 403s, tenant isolation, CSRF for console writes and the
 * audit trail (security-bar §4/§6).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import request from 'supertest';
import { sessionCookieName } from '../../../src/app.js';
import { AdminGroup } from '../../../src/iam/groups/admin-group.model.js';
import { GROUP_LIMIT, GROUPS_PER_SUB_ACCOUNT, POLICIES_PER_GROUP } from '../../../src/iam/groups/group.schemas.js';
import { groupQuotaKey } from '../../../src/iam/groups/group.service.js';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { createSession } from '../../../src/iam/sessions/session.service.js';
import { SubAccount } from '../../../src/iam/sub-accounts/sub-account.model.js';
import { findManagedPolicy } from '../../../src/policy/index.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { acquireQuota, quotaUsed } from '../../../src/shared/quota.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { testApp, testConfig } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/subaccount';
const fieldsOf = (body: { error: { fieldErrors: { field: string }[] } }) => body.error.fieldErrors.map((f) => f.field);
const groupIdsOf = async (subAccountId: string) =>
  (await SubAccount.findOne({ accountId: ACCOUNT, subAccountId }).orFail().lean()).groupIds;

describe('Sub Account API: groups', function () {
  this.timeout(60_000);
  useTestDatabase('groups');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;

  before(async () => {
    root = await rootSigner(app);
  });

  const createGroup = async (groupName: string, extra: Record<string, unknown> = {}) =>
    (await root.call('post', `${BASE}/groups`, { groupName, ...extra }).expect(201)).body as {
      groupId: string;
      nrn: string;
      groupName: string;
    };

  describe('create, read, update', () => {
    it('creates a group, counts it against the quota and audits the call', async () => {
      const before = await quotaUsed(groupQuotaKey(ACCOUNT));
      const res = await root
        .call('post', `${BASE}/groups`, { groupName: 'Operators', description: 'on-call admins', tags: [{ key: 'team', value: 'ops' }] })
        .expect(201);
      expect(res.body).to.include({ groupName: 'Operators', description: 'on-call admins' });
      expect(res.body.nrn).to.equal(`nrn:PUB:SubAccount::${ACCOUNT}:Group/${res.body.groupId}`);
      expect(res.body.tags).to.deep.equal([{ key: 'team', value: 'ops' }]);
      expect(res.body.policyIds).to.deep.equal([]);
      const stored = await AdminGroup.findOne({ accountId: ACCOUNT, groupId: res.body.groupId }).orFail().lean();
      expect(stored).to.include({ name: 'Operators', nameKey: 'operators' });
      expect(await quotaUsed(groupQuotaKey(ACCOUNT))).to.equal(before + 1);
      // Creates have no resource yet: the pipeline audits them against "*" (src/http/admin-route.ts).
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SubAccount:Change/createGroup' }).orFail().lean();
      expect(ev).to.include({ result: 'success', sourceIp: '127.0.0.1' });
      expect(ev.actor?.kind).to.equal('Root');
    });

    it('accepts Korean and Japanese names', async () => {
      await createGroup('운영팀');
      await createGroup('管理者グループ');
    });

    it('refuses bad input with field errors for every field at once, and stores nothing', async () => {
      const before = await AdminGroup.countDocuments({ accountId: ACCOUNT });
      const res = await root
        .call('post', `${BASE}/groups`, {
          groupName: '1 bad name',
          description: '가'.repeat(101),
          tags: Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, value: '' })),
          policyIds: ['NCP_ADMINISTRATOR'],
        })
        .expect(400);
      expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
      expect(fieldsOf(res.body)).to.include.members(['body.groupName', 'body.description', 'body.tags', 'body']);
      const tooShort = await root.call('post', `${BASE}/groups`, { groupName: 'ab' }).expect(400);
      expect(tooShort.body.error.fieldErrors[0].message).to.contain('3-30');
      await root.call('post', `${BASE}/groups`, { groupName: { $gt: '' } }).expect(400);
      expect(await AdminGroup.countDocuments({ accountId: ACCOUNT })).to.equal(before);
    });

    it('keeps names unique per account case-insensitively (409 on create and rename), giving the quota back', async () => {
      const quota = await quotaUsed(groupQuotaKey(ACCOUNT));
      const dup = await root.call('post', `${BASE}/groups`, { groupName: 'OPERATORS' }).expect(409);
      expect(dup.body.error.errorCode).to.equal('CONFLICT');
      expect(await quotaUsed(groupQuotaKey(ACCOUNT))).to.equal(quota);
      const other = await createGroup('Renamable');
      await root.call('put', `${BASE}/groups/${other.groupId}`, { groupName: 'operators' }).expect(409);
      expect((await AdminGroup.findOne({ accountId: ACCOUNT, groupId: other.groupId }).orFail().lean()).name).to.equal('Renamable');
    });

    it('updates name, description and tags', async () => {
      const g = await createGroup('Editable');
      const res = await root
        .call('put', `${BASE}/groups/${g.groupId}`, { groupName: 'Edited', description: 'changed', tags: [{ key: 'a', value: 'b' }] })
        .expect(200);
      expect(res.body).to.include({ groupName: 'Edited', description: 'changed' });
      expect(res.body.tags).to.deep.equal([{ key: 'a', value: 'b' }]);
      expect((await AdminGroup.findOne({ accountId: ACCOUNT, groupId: g.groupId }).orFail().lean()).nameKey).to.equal('edited');
      await root.call('put', `${BASE}/groups/${g.groupId}`, {}).expect(400);
      await root.call('put', `${BASE}/groups/${randomUUID()}`, { description: 'x' }).expect(404);
    });

    it('lists groups paged and by name prefix (taken literally)', async () => {
      const list = await root.call('get', `${BASE}/groups?pageSize=2&pageNo=0`).expect(200);
      expect(list.body).to.include({ pageNo: 0, pageSize: 2 });
      expect(list.body.items).to.have.length(2);
      expect(list.body.totalElements).to.equal(await AdminGroup.countDocuments({ accountId: ACCOUNT }));
      const search = await root.call('get', `${BASE}/groups?searchName=oper`).expect(200);
      expect(search.body.items.map((g: { groupName: string }) => g.groupName)).to.deep.equal(['Operators']);
      expect((await root.call('get', `${BASE}/groups?searchName=.*`).expect(200)).body.totalElements).to.equal(0);
      await root.call('get', `${BASE}/groups?pageSize=101`).expect(400);
    });

    it('shows a group with its member count, a page of members and its policies', async () => {
      const g = await createGroup('Detailed');
      const subs = await Promise.all([subAccountSigner(app, []), subAccountSigner(app, []), subAccountSigner(app, [])]);
      const added = await root
        .call('post', `${BASE}/groups/${g.groupId}/sub-accounts`, { subAccountIds: subs.map((s) => s.subAccountId) })
        .expect(200);
      expect(added.body).to.deep.include({ groupId: g.groupId, memberCount: 3 });
      expect(added.body.addedSubAccountIds).to.have.members(subs.map((s) => s.subAccountId));
      await root.call('post', `${BASE}/groups/${g.groupId}/policies`, { policyIds: ['NCP_SUB_ACCOUNT_VIEWER'] }).expect(200);

      const res = await root.call('get', `${BASE}/groups/${g.groupId}?pageSize=2&pageNo=1`).expect(200);
      expect(res.body).to.include({ groupName: 'Detailed', memberCount: 3 });
      expect(res.body.members).to.include({ pageNo: 1, pageSize: 2, totalElements: 3 });
      expect(res.body.members.items).to.have.length(1);
      const sorted = [...subs].map((s) => s.loginId).sort();
      expect(res.body.members.items[0].loginId).to.equal(sorted[2]);
      expect(res.body.policies).to.deep.equal([
        { policyId: findManagedPolicy('NCP_SUB_ACCOUNT_VIEWER')!.id, policyName: 'NCP_SUB_ACCOUNT_VIEWER', policyType: 'SystemManaged' },
      ]);
      await root.call('get', `${BASE}/groups/${randomUUID()}`).expect(404);
      await root.call('get', `${BASE}/groups/not-a-uuid`).expect(400);
    });
  });

  describe('membership and group policies decide the members’ next call', () => {
    it('a sub account gets the group’s policy while a member, and loses it on removal, detachment and group deletion', async () => {
      const p = (
        await root
          .call('post', `${BASE}/policies`, {
            policyName: 'ListPolicies',
            document: { permissions: [{ effect: 'Allow', targets: [{ product: 'SubAccount', actions: ['View/getPolicyList'] }] }] },
          })
          .expect(201)
      ).body;
      const g = await createGroup('PolicyReaders');
      await root.call('post', `${BASE}/groups/${g.groupId}/policies`, { policyIds: [p.policyId] }).expect(200);
      const sub = await subAccountSigner(app, []);
      await sub.call('get', `${BASE}/policies`).expect(403);

      await root.call('post', `${BASE}/groups/${g.groupId}/sub-accounts`, { subAccountIds: [sub.subAccountId] }).expect(200);
      expect(await groupIdsOf(sub.subAccountId)).to.deep.equal([g.groupId]);
      await sub.call('get', `${BASE}/policies`).expect(200);

      await root.call('delete', `${BASE}/groups/${g.groupId}/sub-accounts/${sub.subAccountId}`).expect(204);
      expect(await groupIdsOf(sub.subAccountId)).to.deep.equal([]);
      await sub.call('get', `${BASE}/policies`).expect(403);
      await root.call('delete', `${BASE}/groups/${g.groupId}/sub-accounts/${sub.subAccountId}`).expect(404);

      await root.call('post', `${BASE}/groups/${g.groupId}/sub-accounts`, { subAccountIds: [sub.subAccountId] }).expect(200);
      await sub.call('get', `${BASE}/policies`).expect(200);
      const detached = await root.call('delete', `${BASE}/groups/${g.groupId}/policies/${p.policyId}`).expect(200);
      expect(detached.body.policyIds).to.deep.equal([]);
      await sub.call('get', `${BASE}/policies`).expect(403);
      await root.call('delete', `${BASE}/groups/${g.groupId}/policies/${p.policyId}`).expect(404);

      await root.call('post', `${BASE}/groups/${g.groupId}/policies`, { policyIds: [p.policyId] }).expect(200);
      await sub.call('get', `${BASE}/policies`).expect(200);
      const quota = await quotaUsed(groupQuotaKey(ACCOUNT));
      await root.call('delete', `${BASE}/groups/${g.groupId}`).expect(204);
      expect(await groupIdsOf(sub.subAccountId)).to.deep.equal([]);
      expect(await quotaUsed(groupQuotaKey(ACCOUNT))).to.equal(quota - 1);
      await sub.call('get', `${BASE}/policies`).expect(403);
      await root.call('get', `${BASE}/groups/${g.groupId}`).expect(404);
      await root.call('delete', `${BASE}/groups/${g.groupId}`).expect(404);
      // The policy was held only by the deleted group: nothing keeps it attached any more.
      await root.call('delete', `${BASE}/policies/${p.policyId}`).expect(204);
    });

    it('deleting a group removes the membership from every member', async () => {
      const g = await createGroup('ShortLived');
      const keep = await createGroup('KeepMe');
      const subs = await Promise.all([subAccountSigner(app, []), subAccountSigner(app, [])]);
      for (const group of [g, keep]) {
        await root
          .call('post', `${BASE}/groups/${group.groupId}/sub-accounts`, { subAccountIds: subs.map((s) => s.subAccountId) })
          .expect(200);
      }
      await root.call('delete', `${BASE}/groups/${g.groupId}`).expect(204);
      for (const s of subs) expect(await groupIdsOf(s.subAccountId)).to.deep.equal([keep.groupId]);
      expect(await SubAccount.countDocuments({ accountId: ACCOUNT, groupIds: g.groupId })).to.equal(0);
    });

    it('refuses unknown sub accounts (400 naming them) and writes nothing, not even the valid ones', async () => {
      const g = await createGroup('Strict');
      const real = await subAccountSigner(app, []);
      const ghost = randomUUID();
      const res = await root
        .call('post', `${BASE}/groups/${g.groupId}/sub-accounts`, { subAccountIds: [real.subAccountId, ghost] })
        .expect(400);
      expect(res.body.error.fieldErrors).to.deep.equal([{ field: 'subAccountIds', message: `sub account ${ghost} does not exist` }]);
      expect(await groupIdsOf(real.subAccountId)).to.deep.equal([]);
      await root.call('post', `${BASE}/groups/${g.groupId}/sub-accounts`, { subAccountIds: [] }).expect(400);
      await root.call('post', `${BASE}/groups/${g.groupId}/sub-accounts`, { subAccountIds: ['not-an-id'] }).expect(400);
      await root.call('post', `${BASE}/groups/${randomUUID()}/sub-accounts`, { subAccountIds: [real.subAccountId] }).expect(404);
      expect(await groupIdsOf(real.subAccountId)).to.deep.equal([]);
    });

    it(`puts a sub account in at most ${GROUPS_PER_SUB_ACCOUNT} groups (AWS IAM's quota)`, async () => {
      const sub = await subAccountSigner(app, []);
      const groups = [];
      for (let i = 0; i <= GROUPS_PER_SUB_ACCOUNT; i++) groups.push(await createGroup(`member-limit-${i}`));
      for (const g of groups.slice(0, GROUPS_PER_SUB_ACCOUNT)) {
        await root.call('post', `${BASE}/groups/${g.groupId}/sub-accounts`, { subAccountIds: [sub.subAccountId] }).expect(200);
      }
      // Adding it again where it already is changes nothing and is not refused.
      const again = await root
        .call('post', `${BASE}/groups/${groups[0]!.groupId}/sub-accounts`, { subAccountIds: [sub.subAccountId] })
        .expect(200);
      expect(again.body.addedSubAccountIds).to.deep.equal([]);
      const res = await root
        .call('post', `${BASE}/groups/${groups[GROUPS_PER_SUB_ACCOUNT]!.groupId}/sub-accounts`, { subAccountIds: [sub.subAccountId] })
        .expect(409);
      expect(res.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
      expect(res.body.error.fieldErrors[0].message).to.contain(sub.loginId);
      expect(await groupIdsOf(sub.subAccountId)).to.have.length(GROUPS_PER_SUB_ACCOUNT);
    });

    it('attaches system-managed policies by id or name (stored once, by id), refuses unknown ones, and detaches by either', async () => {
      const g = await createGroup('ManagedHolders');
      const viewer = findManagedPolicy('NCP_SUB_ACCOUNT_VIEWER')!;
      const res = await root
        .call('post', `${BASE}/groups/${g.groupId}/policies`, { policyIds: ['NCP_SUB_ACCOUNT_VIEWER', viewer.id] })
        .expect(200);
      expect(res.body.policyIds).to.deep.equal([viewer.id]);
      const unknown = await root.call('post', `${BASE}/groups/${g.groupId}/policies`, { policyIds: ['no-such-policy'] }).expect(400);
      expect(unknown.body.error.fieldErrors[0].message).to.contain('no-such-policy');
      await root.call('delete', `${BASE}/groups/${g.groupId}/policies/NCP_SUB_ACCOUNT_VIEWER`).expect(200);
      expect((await AdminGroup.findOne({ accountId: ACCOUNT, groupId: g.groupId }).orFail().lean()).policyIds).to.deep.equal([]);
      await root.call('post', `${BASE}/groups/${randomUUID()}/policies`, { policyIds: ['NCP_SUB_ACCOUNT_VIEWER'] }).expect(404);
    });

    it(`holds at most ${POLICIES_PER_GROUP} policies per group`, async () => {
      const g = await createGroup('PolicyLimit');
      const ids = Array.from({ length: POLICIES_PER_GROUP + 1 }, () => randomUUID());
      await Policy.insertMany(
        ids.map((policyId, i) => ({
          accountId: ACCOUNT,
          policyId,
          name: `limit${i}`,
          nameKey: `limit${i}`,
          document: { permissions: [] },
        })),
      );
      await root.call('post', `${BASE}/groups/${g.groupId}/policies`, { policyIds: ids.slice(0, POLICIES_PER_GROUP) }).expect(200);
      const res = await root.call('post', `${BASE}/groups/${g.groupId}/policies`, { policyIds: [ids[POLICIES_PER_GROUP]] }).expect(409);
      expect(res.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
      const stored = await AdminGroup.findOne({ accountId: ACCOUNT, groupId: g.groupId }).orFail().lean();
      expect(stored.policyIds).to.have.length(POLICIES_PER_GROUP);
      expect(stored.policyIds).not.to.include(ids[POLICIES_PER_GROUP]);
      // Re-attaching one it already holds is not refused.
      await root.call('post', `${BASE}/groups/${g.groupId}/policies`, { policyIds: [ids[0]] }).expect(200);
    });
  });

  describe('authorization', () => {
    it('403 for principals without the action, with nothing stored and the denial audited', async () => {
      const lister = await subAccountSigner(app, [allow(['View/getGroupList'])]);
      await lister.call('get', `${BASE}/groups`).expect(200);
      const g = await createGroup('Guarded');
      const before = await AdminGroup.countDocuments({ accountId: ACCOUNT });
      const member = await subAccountSigner(app, []);
      const calls: [Parameters<Signer['call']>[0], string, unknown?][] = [
        ['post', `${BASE}/groups`, { groupName: 'Sneaky' }],
        ['get', `${BASE}/groups/${g.groupId}`],
        ['put', `${BASE}/groups/${g.groupId}`, { description: 'x' }],
        ['delete', `${BASE}/groups/${g.groupId}`],
        ['post', `${BASE}/groups/${g.groupId}/sub-accounts`, { subAccountIds: [lister.subAccountId] }],
        ['delete', `${BASE}/groups/${g.groupId}/sub-accounts/${member.subAccountId}`],
        ['post', `${BASE}/groups/${g.groupId}/policies`, { policyIds: ['NCP_ADMINISTRATOR'] }],
        ['delete', `${BASE}/groups/${g.groupId}/policies/NCP_ADMINISTRATOR`],
      ];
      for (const [method, path, body] of calls) {
        const res = await lister.call(method, path, body).expect(403);
        expect(res.body.error.errorCode, `${method} ${path}`).to.equal('FORBIDDEN');
      }
      expect(await AdminGroup.countDocuments({ accountId: ACCOUNT })).to.equal(before);
      const stored = await AdminGroup.findOne({ accountId: ACCOUNT, groupId: g.groupId }).orFail().lean();
      expect(stored).to.include({ description: '' });
      expect(stored.policyIds).to.deep.equal([]);
      expect(await groupIdsOf(lister.subAccountId)).to.deep.equal([]);
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, result: 'denied', 'actor.id': lister.subAccountId })).to.equal(
        calls.length,
      );
    });

    it('authorizes membership changes against the group’s NRN: a grant on one group does not reach another', async () => {
      const a = await createGroup('ScopedA');
      const b = await createGroup('ScopedB');
      const target = await subAccountSigner(app, []);
      const manager = await subAccountSigner(app, [
        allow(['Change/addSubAccountToGroup', 'Change/removeSubAccountFromGroup', 'View/getGroupDetail'], 'SubAccount', [a.nrn]),
      ]);
      await manager.call('post', `${BASE}/groups/${a.groupId}/sub-accounts`, { subAccountIds: [target.subAccountId] }).expect(200);
      await manager.call('post', `${BASE}/groups/${b.groupId}/sub-accounts`, { subAccountIds: [target.subAccountId] }).expect(403);
      await manager.call('get', `${BASE}/groups/${a.groupId}`).expect(200);
      await manager.call('get', `${BASE}/groups/${b.groupId}`).expect(403);
      await manager.call('delete', `${BASE}/groups/${a.groupId}/sub-accounts/${target.subAccountId}`).expect(204);
      expect(await groupIdsOf(target.subAccountId)).to.deep.equal([]);
    });

    it('cannot escalate: a sub account allowed to add members cannot hand itself a group’s policies without that grant', async () => {
      const admins = await createGroup('Admins');
      await root.call('post', `${BASE}/groups/${admins.groupId}/policies`, { policyIds: ['NCP_ADMINISTRATOR'] }).expect(200);
      const other = await createGroup('OpenGroup');
      const climber = await subAccountSigner(app, [allow(['Change/addSubAccountToGroup'], 'SubAccount', [other.nrn])]);
      await climber.call('post', `${BASE}/groups/${admins.groupId}/sub-accounts`, { subAccountIds: [climber.subAccountId] }).expect(403);
      await climber.call('post', `${BASE}/groups/${other.groupId}/policies`, { policyIds: ['NCP_ADMINISTRATOR'] }).expect(403);
      expect(await groupIdsOf(climber.subAccountId)).to.deep.equal([]);
      await climber.call('get', `${BASE}/groups`).expect(403);
    });

    it('NCP_SUB_ACCOUNT_VIEWER can list and read groups but not change them', async () => {
      const viewer = await subAccountSigner(app, [{ managed: 'NCP_SUB_ACCOUNT_VIEWER' }]);
      const g = await createGroup('Viewed');
      await viewer.call('get', `${BASE}/groups`).expect(200);
      await viewer.call('get', `${BASE}/groups/${g.groupId}`).expect(200);
      await viewer.call('post', `${BASE}/groups`, { groupName: 'ViewerMade' }).expect(403);
      await viewer.call('post', `${BASE}/groups/${g.groupId}/sub-accounts`, { subAccountIds: [viewer.subAccountId] }).expect(403);
    });

    it('keeps accounts apart: another account’s group and sub accounts are unknown here (security-bar §6 #45)', async () => {
      const otherAccount = ACCOUNT + 5;
      const otherRoot = await rootSigner(app, otherAccount);
      const theirs = (await otherRoot.call('post', `${BASE}/groups`, { groupName: 'Theirs' }).expect(201)).body;
      const theirSub = await subAccountSigner(app, [], { accountId: otherAccount });
      const mine = await createGroup('Mine');
      await root.call('get', `${BASE}/groups/${theirs.groupId}`).expect(404);
      await root.call('put', `${BASE}/groups/${theirs.groupId}`, { description: 'hijack' }).expect(404);
      await root.call('delete', `${BASE}/groups/${theirs.groupId}`).expect(404);
      const mySub = await subAccountSigner(app, []);
      await root.call('post', `${BASE}/groups/${theirs.groupId}/sub-accounts`, { subAccountIds: [mySub.subAccountId] }).expect(404);
      await root.call('post', `${BASE}/groups/${mine.groupId}/sub-accounts`, { subAccountIds: [theirSub.subAccountId] }).expect(400);
      expect(
        (await SubAccount.findOne({ accountId: otherAccount, subAccountId: theirSub.subAccountId }).orFail().lean()).groupIds,
      ).to.deep.equal([]);
      expect((await AdminGroup.findOne({ accountId: otherAccount, groupId: theirs.groupId }).orFail().lean()).description).to.equal('');
      // The same name is free in each account.
      await createGroup('Theirs');
    });

    it('refuses cookie-authenticated writes without the session’s CSRF token (security-bar §6 #44)', async () => {
      const { token, session } = await createSession({
        accountId: ACCOUNT,
        kind: 'Root',
        credentialGeneration: 0,
        mfa: false,
        mustChangePassword: false,
        idleTimeoutSec: 600,
        sourceIp: '127.0.0.1',
      });
      const cookie = `${sessionCookieName(testConfig())}=${token}`;
      const before = await AdminGroup.countDocuments({ accountId: ACCOUNT });
      const res = await request(app).post(`${BASE}/groups`).set('Cookie', cookie).send({ groupName: 'CsrfVictim' }).expect(403);
      expect(res.body.error.errorCode).to.equal('FORBIDDEN');
      await request(app)
        .post(`${BASE}/groups`)
        .set('Cookie', cookie)
        .set('X-CSRF-Token', 'wrong')
        .send({ groupName: 'CsrfVictim' })
        .expect(403);
      expect(await AdminGroup.countDocuments({ accountId: ACCOUNT })).to.equal(before);
      await request(app)
        .post(`${BASE}/groups`)
        .set('Cookie', cookie)
        .set('X-CSRF-Token', session.csrfToken)
        .send({ groupName: 'CsrfVictim' })
        .expect(201);
    });
  });

  it(`allows at most ${GROUP_LIMIT} groups per account (AWS IAM's quota), refused through the API`, async function () {
    this.timeout(120_000);
    const account = ACCOUNT + 11;
    const owner = await rootSigner(app, account);
    const seeded = GROUP_LIMIT - 1;
    await AdminGroup.insertMany(
      Array.from({ length: seeded }, (_, i) => ({ accountId: account, groupId: randomUUID(), name: `bulk${i}`, nameKey: `bulk${i}` })),
    );
    // One at a time: the bundled FerretDB loses concurrent $inc updates on one document.
    for (let i = 0; i < seeded; i++) await acquireQuota(groupQuotaKey(account), GROUP_LIMIT, 'groups');
    const last = await owner.call('post', `${BASE}/groups`, { groupName: 'Number300' }).expect(201);
    const refused = await owner.call('post', `${BASE}/groups`, { groupName: 'Number301' }).expect(409);
    expect(refused.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
    expect(await AdminGroup.countDocuments({ accountId: account })).to.equal(GROUP_LIMIT);
    await owner.call('delete', `${BASE}/groups/${last.body.groupId}`).expect(204);
    await owner.call('post', `${BASE}/groups`, { groupName: 'Number301' }).expect(201);
  });
});
