/**
 * The SSO group API (seed S4 "Group" actions) through signed requests against the real engine:
 * names (rules, case-insensitive uniqueness under concurrent creates, immutability), creation
 * gated by change/updateGroup on `*`, tags and tag conditions, membership from the group's side
 * authorized on the group's NRN, deletes that pull the membership from every member in batches
 * (and finish after an interruption), 403s with nothing written, and isolation between accounts.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { quotaUsed } from '../../../src/shared/quota.js';
import { SsoGroup, ssoGroupQuotaKey } from '../../../src/sso/groups/group.model.js';
import { DELETE_BATCH_SIZE, deleteGroup } from '../../../src/sso/groups/group.service.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { GROUPS_PER_USER, SsoUser } from '../../../src/sso/users/user.model.js';
import { ACCOUNT, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { testApp } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = '/api/v1/sso';
const OTHER_ACCOUNT = 2000002;

type Body = { error: { errorCode: string; fieldErrors: { field: string; message: string }[] } };
const fieldsOf = (body: Body) => body.error.fieldErrors.map((f) => f.field);
const tags = (o: Record<string, string>) => Object.entries(o).map(([key, value]) => ({ key, value }));

async function seedTenant(accountId: number): Promise<string> {
  const tenantId = randomUUID();
  const alias = `g${accountId}`;
  await Tenant.create({ accountId, tenantId, tenantAlias: alias, aliasKey: alias, termsAcceptedAt: new Date() });
  return tenantId;
}

function ssoPolicy(actions: string[], opts: { nrns?: string[]; condition?: unknown } = {}) {
  return {
    document: {
      permissions: [{ effect: 'Allow', targets: [{ product: 'SSO', actions, resourceNrns: opts.nrns ?? ['*'] }], ...(opts.condition ? { condition: opts.condition } : {}) }],
    },
  };
}

describe('SSO API: groups', function () {
  this.timeout(60_000);
  useTestDatabase('ssogroups');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;
  let tenantId: string;

  before(async () => {
    root = await rootSigner(app);
    tenantId = await seedTenant(ACCOUNT);
  });

  const createGroup = async (groupName: string, extra: Record<string, unknown> = {}) =>
    (await root.call('post', `${BASE}/groups`, { groupName, ...extra }).expect(201)).body as { groupId: string; nrn: string; groupName: string };
  const createUser = async (loginId: string, extra: Record<string, unknown> = {}) =>
    (await root.call('post', `${BASE}/users`, { loginId, ...extra }).expect(201)).body as { userId: string; nrn: string };
  /** Users written directly (large groups): the API is exercised elsewhere. */
  const seedUsers = async (n: number, prefix: string, groupIds: string[] = []) => {
    const docs = Array.from({ length: n }, (_, i) => {
      const loginId = `${prefix}-${i}@example.com`;
      return { accountId: ACCOUNT, tenantId, userId: randomUUID(), loginId, loginIdKey: loginId, groupIds };
    });
    await SsoUser.insertMany(docs);
    return docs.map((d) => d.userId);
  };
  const groupIdsOf = async (userId: string) => (await SsoUser.findOne({ tenantId, userId }).orFail().lean()).groupIds;
  const groupCount = () => SsoGroup.countDocuments({ tenantId });

  describe('create, read, update', () => {
    it('creates a group, counts it against the tenant’s quota and audits the NRN it made', async () => {
      const before = await quotaUsed(ssoGroupQuotaKey(tenantId));
      const res = await root.call('post', `${BASE}/groups`, { groupName: 'Platform-Ops_1', description: 'on call', tags: tags({ env: 'dev' }) }).expect(201);
      expect(res.body).to.include({ groupName: 'Platform-Ops_1', description: 'on call' });
      expect(res.body.nrn).to.equal(`nrn:PUB:SSO::${ACCOUNT}:Group/${res.body.groupId}`);
      expect(res.body.tags).to.deep.equal(tags({ env: 'dev' }));
      expect(await SsoGroup.findOne({ tenantId, groupId: res.body.groupId }).orFail().lean()).to.include({ nameKey: 'platform-ops_1', accountId: ACCOUNT });
      expect(await quotaUsed(ssoGroupQuotaKey(tenantId))).to.equal(before + 1);
      const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SSO:change/updateGroup', nrn: res.body.nrn }).orFail().lean();
      expect(ev.result).to.equal('success');
    });

    it('enforces the name rules (2-30, reference pattern, never trimmed), description ≤300 and SSO tag rules; writes nothing', async () => {
      const before = await groupCount();
      for (const groupName of ['a', 'x'.repeat(31), '-lead', '_lead', 'has space', ' padded', 'dots.not.allowed', 'ünicode']) {
        const res = await root.call('post', `${BASE}/groups`, { groupName }).expect(400);
        expect(fieldsOf(res.body), groupName).to.deep.equal(['body.groupName']);
      }
      const res = await root.call('post', `${BASE}/groups`, { groupName: 'ok', description: 'd'.repeat(301), tags: [{ key: 'k', value: 'bad value!' }], memberCount: 5 }).expect(400);
      expect(fieldsOf(res.body)).to.include.members(['body.description', 'body.tags.0.value']);
      expect(await groupCount()).to.equal(before);
      // the bounds themselves are accepted
      await createGroup('ab');
      await createGroup('y'.repeat(30));
    });

    it('keeps names unique case-insensitively under 10 concurrent creates (unique index, one winner)', async () => {
      const quotaBefore = await quotaUsed(ssoGroupQuotaKey(tenantId));
      const names = ['Racers', 'racers', 'RACERS', 'rAcers', 'raCers', 'racErs', 'raceRs', 'racerS', 'RAcers', 'racERS'];
      const results = await Promise.all(names.map((groupName) => root.call('post', `${BASE}/groups`, { groupName })));
      expect(results.filter((r) => r.status === 201)).to.have.length(1);
      const refused = results.filter((r) => r.status === 409);
      expect(refused).to.have.length(9);
      for (const r of refused) expect(r.body.error.errorCode).to.equal('CONFLICT');
      expect(await SsoGroup.countDocuments({ tenantId, nameKey: 'racers' })).to.equal(1);
      expect(await quotaUsed(ssoGroupQuotaKey(tenantId))).to.equal(quotaBefore + 1);
    });

    it('names are immutable: update takes the description only', async () => {
      const g = await createGroup('Immutable');
      const res = await root.call('put', `${BASE}/groups/${g.groupId}`, { description: 'changed' }).expect(200);
      expect(res.body).to.include({ groupName: 'Immutable', description: 'changed' });
      await root.call('put', `${BASE}/groups/${g.groupId}`, { groupName: 'Renamed', description: 'x' }).expect(400);
      await root.call('put', `${BASE}/groups/${g.groupId}`, { tags: tags({ a: 'b' }) }).expect(400);
      expect(await SsoGroup.findOne({ tenantId, groupId: g.groupId }).orFail().lean()).to.include({ groupName: 'Immutable', nameKey: 'immutable', description: 'changed' });
    });

    it('lists with paging and a name prefix; the detail has the member count', async () => {
      const g1 = await createGroup('Lister-1');
      await createGroup('lister-2');
      await createGroup('Other-Lister');
      const page = await root.call('get', `${BASE}/groups?groupName=LISTER-&pageSize=1`).expect(200);
      expect(page.body).to.include({ pageNo: 0, pageSize: 1, totalElements: 2 });
      expect(page.body.items.map((g: { groupName: string }) => g.groupName)).to.deep.equal(['Lister-1']);
      expect((await root.call('get', `${BASE}/groups?groupName=lister-&pageNo=1&pageSize=1`).expect(200)).body.items[0].groupName).to.equal('lister-2');
      expect((await root.call('get', `${BASE}/groups?groupName=.*`).expect(200)).body.totalElements).to.equal(0);
      await seedUsers(3, 'counted', [g1.groupId]);
      const detail = await root.call('get', `${BASE}/groups/${g1.groupId}`).expect(200);
      expect(detail.body).to.include({ groupName: 'Lister-1', memberCount: 3 });
      await root.call('get', `${BASE}/groups/${randomUUID()}`).expect(404);
    });
  });

  describe('tags', () => {
    it('tag and untag with the SSO rules; at most 20', async () => {
      const g = await createGroup('Tagged', { tags: tags({ env: 'dev' }) });
      const res = await root.call('post', `${BASE}/groups/${g.groupId}/tags`, { tags: tags({ env: 'prod', team: 'a' }) }).expect(200);
      expect(res.body.tags).to.deep.equal(tags({ env: 'prod', team: 'a' }));
      const over = await root.call('post', `${BASE}/groups/${g.groupId}/tags`, { tags: Array.from({ length: 19 }, (_, i) => ({ key: `k${i}`, value: '' })) }).expect(400);
      expect(fieldsOf(over.body)).to.deep.equal(['body.tags']);
      const removed = await root.call('delete', `${BASE}/groups/${g.groupId}/tags/env`).expect(200);
      expect(removed.body.tags).to.deep.equal(tags({ team: 'a' }));
      await root.call('delete', `${BASE}/groups/${g.groupId}/tags/env`).expect(404);
    });

    it('tag conditions: ncp:resourceTag allows and denies per group', async () => {
      const dev = await createGroup('DevGroup', { tags: tags({ env: 'dev' }) });
      const prod = await createGroup('ProdGroup', { tags: tags({ env: 'prod' }) });
      const devOnly = await subAccountSigner(app, [
        ssoPolicy(['view/getGroupDetail', 'change/updateGroup', 'change/deleteGroup'], { condition: { StringEquals: { 'ncp:resourceTag/env': ['dev'] } } }),
      ]);
      await devOnly.call('get', `${BASE}/groups/${dev.groupId}`).expect(200);
      await devOnly.call('put', `${BASE}/groups/${dev.groupId}`, { description: 'ok' }).expect(200);
      await devOnly.call('get', `${BASE}/groups/${prod.groupId}`).expect(403);
      await devOnly.call('put', `${BASE}/groups/${prod.groupId}`, { description: 'no' }).expect(403);
      await devOnly.call('delete', `${BASE}/groups/${prod.groupId}`).expect(403);
      expect(await SsoGroup.findOne({ tenantId, groupId: prod.groupId }).orFail().lean()).to.include({ description: '', deletingSince: null });
      // creating needs change/updateGroup on every resource: a tag-limited principal cannot create
      await devOnly.call('post', `${BASE}/groups`, { groupName: 'SneakyDev', tags: tags({ env: 'dev' }) }).expect(403);
    });
  });

  describe('creation gate (no createGroup action in S4)', () => {
    it('change/updateGroup on * creates; on the Group/* pattern or a single group it does not', async () => {
      const before = await groupCount();
      const anyGroup = await subAccountSigner(app, [ssoPolicy(['change/updateGroup'])]);
      const groupPattern = await subAccountSigner(app, [ssoPolicy(['change/updateGroup'], { nrns: [`nrn:PUB:SSO::${ACCOUNT}:Group/*`] })]);
      const nothing = await subAccountSigner(app, [ssoPolicy(['view/getGroupList', 'change/deleteGroup', 'change/tagGroup'])]);
      await groupPattern.call('post', `${BASE}/groups`, { groupName: 'ViaPattern' }).expect(403);
      await nothing.call('post', `${BASE}/groups`, { groupName: 'ViaNothing' }).expect(403);
      expect(await groupCount()).to.equal(before);
      await anyGroup.call('post', `${BASE}/groups`, { groupName: 'ViaStar' }).expect(201);
      const manager = await subAccountSigner(app, [{ managed: 'NCP_SINGLE_SIGN_ON_MANAGER' }]);
      await manager.call('post', `${BASE}/groups`, { groupName: 'ViaManager' }).expect(201);
    });
  });

  describe('membership from the group’s side', () => {
    it('adds users (authorized on the group), lists members paged, removes; unknown users refused before any write', async () => {
      const g = await createGroup('Members');
      const u1 = await createUser('m1@example.com');
      const u2 = await createUser('m2@example.com');
      const u3 = await createUser('m3@example.com');
      const ghost = randomUUID();
      const refused = await root.call('post', `${BASE}/groups/${g.groupId}/users`, { userIds: [u1.userId, ghost] }).expect(400);
      expect(fieldsOf(refused.body)).to.deep.equal(['body.userIds.1']);
      expect(await groupIdsOf(u1.userId)).to.deep.equal([]);

      const onGroup = await subAccountSigner(app, [ssoPolicy(['change/addUserToGroup', 'change/removeUserFromGroup'], { nrns: [g.nrn] })]);
      const added = await onGroup.call('post', `${BASE}/groups/${g.groupId}/users`, { userIds: [u1.userId, u2.userId, u3.userId, u1.userId] }).expect(200);
      expect(added.body.addedUserIds).to.have.members([u1.userId, u2.userId, u3.userId]);
      expect(added.body.memberCount).to.equal(3);
      // again: nothing new, no duplicate membership
      const again = await onGroup.call('post', `${BASE}/groups/${g.groupId}/users`, { userIds: [u1.userId] }).expect(200);
      expect(again.body).to.include({ memberCount: 3 });
      expect(again.body.addedUserIds).to.deep.equal([]);
      expect(await groupIdsOf(u1.userId)).to.deep.equal([g.groupId]);
      // the user-side route is authorized on the user's NRN, which this principal does not hold
      await onGroup.call('post', `${BASE}/users/${u1.userId}/groups`, { groupIds: [g.groupId] }).expect(403);

      const page = await root.call('get', `${BASE}/groups/${g.groupId}/users?pageSize=2`).expect(200);
      expect(page.body.totalElements).to.equal(3);
      expect(page.body.items.map((u: { loginId: string }) => u.loginId)).to.deep.equal(['m1@example.com', 'm2@example.com']);

      await onGroup.call('delete', `${BASE}/groups/${g.groupId}/users/${u2.userId}`).expect(204);
      await onGroup.call('delete', `${BASE}/groups/${g.groupId}/users/${u2.userId}`).expect(404);
      await onGroup.call('delete', `${BASE}/users/${u3.userId}/groups/${g.groupId}`).expect(403);
      expect(await groupIdsOf(u2.userId)).to.deep.equal([]);
      expect((await root.call('get', `${BASE}/groups/${g.groupId}`).expect(200)).body.memberCount).to.equal(2);
    });

    it('takes at most 100 users per call and refuses users at their group limit', async () => {
      const g = await createGroup('Bounded');
      const res = await root.call('post', `${BASE}/groups/${g.groupId}/users`, { userIds: Array.from({ length: 101 }, () => randomUUID()) }).expect(400);
      expect(fieldsOf(res.body)).to.deep.equal(['body.userIds']);
      const [full] = await seedUsers(1, 'full', Array.from({ length: GROUPS_PER_USER }, () => randomUUID()));
      const [free] = await seedUsers(1, 'free');
      const limited = await root.call('post', `${BASE}/groups/${g.groupId}/users`, { userIds: [free!, full!] }).expect(409);
      expect(limited.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
      expect(await groupIdsOf(free!)).to.deep.equal([]);
      expect(await groupIdsOf(full!)).to.have.length(GROUPS_PER_USER);
      await root.call('post', `${BASE}/users/${full!}/groups`, { groupIds: [g.groupId] }).expect(409);
    });
  });

  describe('delete', () => {
    it('removes the group through the API, pulls it from its members only, gives the quota back; then 404', async () => {
      const g = await createGroup('DoomedGroup');
      const keep = await createGroup('KeepMe');
      const ids = await seedUsers(12, 'doomed', [g.groupId, keep.groupId]);
      const before = await quotaUsed(ssoGroupQuotaKey(tenantId));
      await root.call('delete', `${BASE}/groups/${g.groupId}`).expect(204);
      expect(await SsoUser.countDocuments({ tenantId, groupIds: g.groupId })).to.equal(0);
      expect(await SsoUser.countDocuments({ tenantId, groupIds: keep.groupId })).to.equal(12);
      expect(await groupIdsOf(ids[0]!)).to.deep.equal([keep.groupId]);
      expect(await SsoGroup.countDocuments({ tenantId, groupId: g.groupId })).to.equal(0);
      expect(await quotaUsed(ssoGroupQuotaKey(tenantId))).to.equal(before - 1);
      await root.call('get', `${BASE}/groups/${g.groupId}`).expect(404);
      await root.call('delete', `${BASE}/groups/${g.groupId}`).expect(404);
      // the name is free again
      await createGroup('doomedgroup');
    });

    it('pulls the membership in bounded batches, reporting progress after each', async () => {
      const g = await createGroup('Batched');
      await seedUsers(20, 'batched', [g.groupId]);
      const seen: number[] = [];
      const done = await deleteGroup({ tenantId, accountId: ACCOUNT }, g.groupId, { batchSize: 7, onBatch: (p) => seen.push(p.membersRemoved) });
      expect(seen).to.deep.equal([7, 14, 20]);
      expect(done).to.deep.equal({ groupId: g.groupId, membersRemoved: 20 });
      expect(await SsoUser.countDocuments({ tenantId, groupIds: g.groupId })).to.equal(0);
      expect(await SsoGroup.countDocuments({ tenantId, groupId: g.groupId })).to.equal(0);
      expect(DELETE_BATCH_SIZE, 'the API’s batch stays bounded').to.be.at.most(1000);
    });

    it('an interrupted delete hides the group, refuses new members, and the next DELETE finishes it', async () => {
      const g = await createGroup('Interrupted');
      const ids = await seedUsers(5, 'intr', [g.groupId]);
      // what a delete leaves when it stops after marking the group and pulling two members
      await SsoGroup.updateOne({ tenantId, groupId: g.groupId }, { $set: { deletingSince: new Date() } });
      await SsoUser.updateMany({ tenantId, userId: { $in: ids.slice(0, 2) } }, { $pull: { groupIds: g.groupId } });

      await root.call('get', `${BASE}/groups/${g.groupId}`).expect(404);
      expect((await root.call('get', `${BASE}/groups?groupName=interrupted`).expect(200)).body.totalElements).to.equal(0);
      const u = await createUser('late-joiner@example.com');
      await root.call('post', `${BASE}/groups/${g.groupId}/users`, { userIds: [u.userId] }).expect(404);
      await root.call('post', `${BASE}/users/${u.userId}/groups`, { groupIds: [g.groupId] }).expect(400);
      expect(await groupIdsOf(u.userId)).to.deep.equal([]);
      // its name stays taken until the delete is finished
      await root.call('post', `${BASE}/groups`, { groupName: 'interrupted' }).expect(409);
      // a member can still leave it from the user's side
      await root.call('delete', `${BASE}/users/${ids[2]!}/groups/${g.groupId}`).expect(200);

      await root.call('delete', `${BASE}/groups/${g.groupId}`).expect(204);
      expect(await SsoUser.countDocuments({ tenantId, groupIds: g.groupId })).to.equal(0);
      expect(await SsoGroup.countDocuments({ tenantId, groupId: g.groupId })).to.equal(0);
      await createGroup('Interrupted');
    });
  });

  describe('authorization and isolation', () => {
    it('403 without the route’s action, nothing written, denial audited (representative routes)', async () => {
      const g = await createGroup('Guarded', { tags: tags({ env: 'dev' }) });
      const u = await createUser('guarded-member@example.com');
      const all = ['view/getGroupList', 'view/getGroupDetail', 'change/updateGroup', 'change/deleteGroup', 'change/addUserToGroup', 'change/removeUserFromGroup', 'change/tagGroup', 'change/untagGroup'];
      const without = (action: string) => subAccountSigner(app, [ssoPolicy(all.filter((a) => a !== action))]);
      await (await without('view/getGroupList')).call('get', `${BASE}/groups`).expect(403);
      await (await without('view/getGroupDetail')).call('get', `${BASE}/groups/${g.groupId}/users`).expect(403);
      const adder = await without('change/addUserToGroup');
      const denied = await adder.call('post', `${BASE}/groups/${g.groupId}/users`, { userIds: [u.userId] }).expect(403);
      expect(denied.body.error.errorCode).to.equal('FORBIDDEN');
      expect(await HistoryEvent.countDocuments({ accountId: ACCOUNT, result: 'denied', 'actor.id': adder.subAccountId, action: 'SSO:change/addUserToGroup', nrn: g.nrn })).to.equal(1);
      await (await without('change/tagGroup')).call('post', `${BASE}/groups/${g.groupId}/tags`, { tags: tags({ env: 'prod' }) }).expect(403);
      await (await without('change/deleteGroup')).call('delete', `${BASE}/groups/${g.groupId}`).expect(403);
      const stored = await SsoGroup.findOne({ tenantId, groupId: g.groupId }).orFail().lean();
      expect(stored.tags).to.deep.equal(tags({ env: 'dev' }));
      expect(stored.deletingSince).to.equal(null);
      expect(await groupIdsOf(u.userId)).to.deep.equal([]);
    });

    it('an admin of another account gets 404 for this tenant’s groups, and changes nothing', async () => {
      const g = await createGroup('Isolated', { tags: tags({ env: 'dev' }) });
      const u = await createUser('isolated-member@example.com');
      await root.call('post', `${BASE}/groups/${g.groupId}/users`, { userIds: [u.userId] }).expect(200);
      const other = await rootSigner(app, OTHER_ACCOUNT);
      await seedTenant(OTHER_ACCOUNT);
      const calls: [method: 'get' | 'put' | 'post' | 'delete', path: string, body?: unknown][] = [
        ['get', `/groups/${g.groupId}`],
        ['put', `/groups/${g.groupId}`, { description: 'pwned' }],
        ['post', `/groups/${g.groupId}/tags`, { tags: tags({ env: 'x' }) }],
        ['delete', `/groups/${g.groupId}/tags/env`],
        ['get', `/groups/${g.groupId}/users`],
        ['post', `/groups/${g.groupId}/users`, { userIds: [u.userId] }],
        ['delete', `/groups/${g.groupId}/users/${u.userId}`],
        ['delete', `/groups/${g.groupId}`],
      ];
      for (const [method, path, body] of calls) {
        const res = await other.call(method, `${BASE}${path}`, body);
        expect(res.status, `${method} ${path}`).to.equal(404);
      }
      // its own group cannot take this tenant's user either
      const mine = (await other.call('post', `${BASE}/groups`, { groupName: 'Isolated' }).expect(201)).body;
      await other.call('post', `${BASE}/groups/${mine.groupId}/users`, { userIds: [u.userId] }).expect(400);
      expect((await other.call('get', `${BASE}/groups?groupName=isolated`).expect(200)).body.items.map((x: { groupId: string }) => x.groupId)).to.deep.equal([mine.groupId]);
      const stored = await SsoGroup.findOne({ tenantId, groupId: g.groupId }).orFail().lean();
      expect(stored).to.include({ description: '', deletingSince: null });
      expect(stored.tags).to.deep.equal(tags({ env: 'dev' }));
      expect(await groupIdsOf(u.userId)).to.deep.equal([g.groupId]);
    });
  });
});
