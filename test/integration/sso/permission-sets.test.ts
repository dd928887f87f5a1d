/**
 * Permission sets of Single Sign-On (seed S4 "Permission Set" actions; reference/ncloud-model.md
 * §1 "Permission Set"): system-managed ids (or names) plus user-created names, together 1 to 10;
 * Ncloud's errors 9070 (name exists), 9071 (no policy) and 9072 (unknown managed policy); name
 * rules and case-insensitive uniqueness under concurrent creates; adding and removing policies;
 * tags and tag conditions; gating; isolation from another account (security-bar §6 item 45).
 * The re-sync of SSO roles after a change is proven in assignments.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { AdminRouteSpec } from '../../../src/http/admin-route.js';
import { catalog, findManagedPolicy, withRelatedActions } from '../../../src/policy/index.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { quotaUsed } from '../../../src/shared/quota.js';
import { PermissionSet } from '../../../src/sso/permission-sets/permission-set.model.js';
import { permissionSetRoutes } from '../../../src/sso/permission-sets/permission-set.routes.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { testApp } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = SSO_API_PREFIX;
const OTHER_ACCOUNT = 2_000_002;
const ADMIN_ID = findManagedPolicy('NCP_ADMINISTRATOR')!.id;
const VIEWER_ID = findManagedPolicy('NCP_SINGLE_SIGN_ON_VIEWER')!.id;

async function createTenant(accountId: number): Promise<string> {
  const tenantId = randomUUID();
  await Tenant.create({ accountId, tenantId, tenantAlias: `t${accountId}`, aliasKey: `t${accountId}`, termsAcceptedAt: new Date() });
  return tenantId;
}

const fields = (res: { body: { error: { fieldErrors: { field: string }[] } } }) => res.body.error.fieldErrors.map((f) => f.field);

describe('SSO API: permission sets', function () {
  this.timeout(60_000);
  useTestDatabase('ssopermsets');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;
  let tenantId: string;

  before(async () => {
    root = await rootSigner(app);
    tenantId = await createTenant(ACCOUNT);
  });

  const create = (body: Record<string, unknown>, who: Signer = root) => who.call('post', `${BASE}/permission-sets`, body);
  const stored = (permissionSetId: string) => PermissionSet.findOne({ tenantId, permissionSetId }).lean().orFail();

  it('creates a set: managed policies by name or id stored once by id, user-created names deduplicated case-insensitively', async () => {
    const res = await create({
      permissionSetName: 'Admins',
      description: 'full access',
      systemManagedPolicyIds: ['NCP_ADMINISTRATOR', ADMIN_ID, 'NCP_SINGLE_SIGN_ON_VIEWER'],
      userCreatedPolicyNames: ['DbOps', 'dbops', 'Net-Ops_1'],
      tags: [{ key: 'team', value: 'core' }],
    }).expect(201);
    const ps = res.body;
    expect(ps.systemManagedPolicyIds).to.deep.equal([ADMIN_ID, VIEWER_ID]);
    expect(ps.systemManagedPolicies).to.deep.equal([
      { policyId: ADMIN_ID, policyName: 'NCP_ADMINISTRATOR' },
      { policyId: VIEWER_ID, policyName: 'NCP_SINGLE_SIGN_ON_VIEWER' },
    ]);
    expect(ps.userCreatedPolicyNames).to.deep.equal(['DbOps', 'Net-Ops_1']);
    expect(ps.nrn).to.equal(`nrn:PUB:SSO::${ACCOUNT}:PermissionSet/${ps.permissionSetId}`);
    expect((await stored(ps.permissionSetId)).nameKey).to.equal('admins');
    const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SSO:change/createPermissionSet', nrn: ps.nrn }).orFail();
    expect(ev.result).to.equal('success');
    const got = await root.call('get', `${BASE}/permission-sets/${ps.permissionSetId}`).expect(200);
    expect(got.body).to.deep.equal(ps);
  });

  it('Ncloud errors: 9071 without any policy, 9072 for an unknown managed policy, 9070 for an existing name (any case); nothing written', async () => {
    const before = await PermissionSet.countDocuments({ tenantId });
    const quota = await quotaUsed(`ssoPermissionSets:${tenantId}`);
    const none = await create({ permissionSetName: 'Empty' }).expect(400);
    expect(none.body.error.detail).to.match(/^9071: /);
    const empty = await create({ permissionSetName: 'Empty', systemManagedPolicyIds: [], userCreatedPolicyNames: [] }).expect(400);
    expect(empty.body.error.detail).to.match(/^9071: /);
    const unknown = await create({ permissionSetName: 'Unknown', systemManagedPolicyIds: ['NCP_ADMINISTRATOR', 'NCP_NO_SUCH_POLICY'] }).expect(400);
    expect(unknown.body.error.detail).to.match(/^9072: /).and.contain('NCP_NO_SUCH_POLICY');
    expect(fields(unknown)).to.deep.equal(['body.systemManagedPolicyIds.1']);
    const dup = await create({ permissionSetName: 'ADMINS', systemManagedPolicyIds: ['NCP_ADMINISTRATOR'] }).expect(409);
    expect(dup.body.error.errorCode).to.equal('CONFLICT');
    expect(dup.body.error.detail).to.match(/^9070: /);
    expect(await PermissionSet.countDocuments({ tenantId })).to.equal(before);
    expect(await quotaUsed(`ssoPermissionSets:${tenantId}`)).to.equal(quota);
  });

  it('at most 10 policies in all; names, descriptions and user policy names follow their rules', async () => {
    const before = await PermissionSet.countDocuments({ tenantId });
    const names = (n: number) => Array.from({ length: n }, (_, i) => `Policy${i}`);
    await create({ permissionSetName: 'Ten', systemManagedPolicyIds: ['NCP_ADMINISTRATOR', 'NCP_INFRA_MANAGER'], userCreatedPolicyNames: names(8) }).expect(201);
    const eleven = await create({ permissionSetName: 'Eleven', systemManagedPolicyIds: ['NCP_ADMINISTRATOR', 'NCP_INFRA_MANAGER'], userCreatedPolicyNames: names(9) }).expect(400);
    expect(eleven.body.error.detail).to.contain('at most 10');
    for (const permissionSetName of ['P', 'x'.repeat(31), '_P', 'P S', 'P.S']) {
      expect(fields(await create({ permissionSetName, systemManagedPolicyIds: ['NCP_ADMINISTRATOR'] }).expect(400)), permissionSetName).to.deep.equal(['body.permissionSetName']);
    }
    await create({ permissionSetName: 'Ok', description: 'd'.repeat(301), systemManagedPolicyIds: ['NCP_ADMINISTRATOR'] }).expect(400);
    const badUser = await create({ permissionSetName: 'BadUser', userCreatedPolicyNames: ['1starts-with-digit', 'has space', 'ab'] }).expect(400);
    expect(fields(badUser)).to.include.members(['body.userCreatedPolicyNames.0', 'body.userCreatedPolicyNames.1', 'body.userCreatedPolicyNames.2']);
    await create({ permissionSetName: 'Mass', systemManagedPolicyIds: ['NCP_ADMINISTRATOR'], tenantId: randomUUID(), sessionDuration: 'PT1H' }).expect(400);
    expect(await PermissionSet.countDocuments({ tenantId })).to.equal(before + 1);
    await create({ permissionSetName: `Z${'_-9'.repeat(9)}zz`, description: 'd'.repeat(300), systemManagedPolicyIds: ['NCP_ADMINISTRATOR'] }).expect(201);
  });

  it('names are unique case-insensitively under concurrent creates', async () => {
    const names = ['Deploy', 'DEPLOY', 'deploy', 'dEpLoY', 'DePloy', 'deplOY', 'Deploy', 'DEPloy'];
    const results = await Promise.all(names.map((permissionSetName) => create({ permissionSetName, systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] })));
    expect(results.filter((r) => r.status === 201)).to.have.length(1);
    const conflicts = results.filter((r) => r.status === 409);
    expect(conflicts).to.have.length(names.length - 1);
    for (const c of conflicts) expect(c.body.error.detail).to.match(/^9070: /);
    expect(await PermissionSet.countDocuments({ tenantId, nameKey: 'deploy' })).to.equal(1);
  });

  it('update: description and added policies; the name is immutable; the 10-policy total and 9072 hold', async () => {
    const id = (await create({ permissionSetName: 'Growing', systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] }).expect(201)).body.permissionSetId;
    const upd = await root.call('put', `${BASE}/permission-sets/${id}`, { description: 'now more', systemManagedPolicyIds: [ADMIN_ID, 'NCP_SINGLE_SIGN_ON_VIEWER'], userCreatedPolicyNames: ['Extra'] }).expect(200);
    expect(upd.body.systemManagedPolicyIds).to.deep.equal([VIEWER_ID, ADMIN_ID]);
    expect(upd.body.userCreatedPolicyNames).to.deep.equal(['Extra']);
    expect(upd.body.description).to.equal('now more');
    expect(upd.body.roleSync, 'no assignment uses it yet').to.deep.equal({ synced: 0, failed: [] });
    const descOnly = await root.call('put', `${BASE}/permission-sets/${id}`, { description: 'text only' }).expect(200);
    expect(descOnly.body.roleSync, 'a description change re-syncs nothing').to.equal(null);
    await root.call('put', `${BASE}/permission-sets/${id}`, { permissionSetName: 'Growing', description: 'same name' }).expect(200);
    expect(fields(await root.call('put', `${BASE}/permission-sets/${id}`, { permissionSetName: 'Renamed' }).expect(400))).to.deep.equal(['body.permissionSetName']);
    const over = await root.call('put', `${BASE}/permission-sets/${id}`, { userCreatedPolicyNames: Array.from({ length: 8 }, (_, i) => `More${i}`) }).expect(400);
    expect(over.body.error.detail).to.contain('at most 10');
    const unknown = await root.call('put', `${BASE}/permission-sets/${id}`, { systemManagedPolicyIds: ['NCP_NOPE'] }).expect(400);
    expect(unknown.body.error.detail).to.match(/^9072: /);
    const after = await stored(id);
    expect(after.systemManagedPolicyIds).to.deep.equal([VIEWER_ID, ADMIN_ID]);
    expect(after.userCreatedPolicyNames).to.deep.equal(['Extra']);
    expect(after.description).to.equal('same name');
    expect(after.resyncPending).to.equal(false);
  });

  it('removePermissionSetPolicy: removes named policies, never the last one (9071), 404 for policies the set does not hold', async () => {
    const id = (await create({ permissionSetName: 'Shrinking', systemManagedPolicyIds: ['NCP_ADMINISTRATOR', 'NCP_SINGLE_SIGN_ON_VIEWER'], userCreatedPolicyNames: ['Keep', 'Drop'] }).expect(201))
      .body.permissionSetId;
    const res = await root.call('delete', `${BASE}/permission-sets/${id}/policies`, { systemManagedPolicyIds: [ADMIN_ID], userCreatedPolicyNames: ['DROP'] }).expect(200);
    expect(res.body.systemManagedPolicyIds).to.deep.equal([VIEWER_ID]);
    expect(res.body.userCreatedPolicyNames).to.deep.equal(['Keep']);
    const absent = await root.call('delete', `${BASE}/permission-sets/${id}/policies`, { systemManagedPolicyIds: ['NCP_ADMINISTRATOR'], userCreatedPolicyNames: ['Keep'] }).expect(404);
    expect(absent.body.error.detail).to.contain('NCP_ADMINISTRATOR');
    const last = await root.call('delete', `${BASE}/permission-sets/${id}/policies`, { systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'], userCreatedPolicyNames: ['keep'] }).expect(400);
    expect(last.body.error.detail).to.match(/^9071: /);
    await root.call('delete', `${BASE}/permission-sets/${id}/policies`, {}).expect(400);
    const after = await stored(id);
    expect(after.systemManagedPolicyIds).to.deep.equal([VIEWER_ID]);
    expect(after.userCreatedPolicyNames).to.deep.equal(['Keep']);
  });

  it('lists with paging and a name prefix; deletes an unused set (its quota unit comes back)', async () => {
    await create({ permissionSetName: 'List-a', systemManagedPolicyIds: ['NCP_ADMINISTRATOR'] }).expect(201);
    const b = (await create({ permissionSetName: 'LIST-b', systemManagedPolicyIds: ['NCP_ADMINISTRATOR'] }).expect(201)).body.permissionSetId;
    const page = await root.call('get', `${BASE}/permission-sets?permissionSetName=list&pageSize=1&pageNo=1`).expect(200);
    expect(page.body).to.include({ totalElements: 2, pageNo: 1, pageSize: 1 });
    expect(page.body.items[0].permissionSetName).to.equal('LIST-b');
    const quota = await quotaUsed(`ssoPermissionSets:${tenantId}`);
    await root.call('delete', `${BASE}/permission-sets/${b}`).expect(204);
    await root.call('get', `${BASE}/permission-sets/${b}`).expect(404);
    await root.call('delete', `${BASE}/permission-sets/${b}`).expect(404);
    expect(await quotaUsed(`ssoPermissionSets:${tenantId}`)).to.equal(quota - 1);
  });

  it('tags, and ncp:resourceTag / ncp:requestTag conditions allowing and denying', async () => {
    const prod = (await create({ permissionSetName: 'TagProd', systemManagedPolicyIds: ['NCP_ADMINISTRATOR'], tags: [{ key: 'env', value: 'prod' }] }).expect(201)).body.permissionSetId;
    const dev = (await create({ permissionSetName: 'TagDev', systemManagedPolicyIds: ['NCP_ADMINISTRATOR'], tags: [{ key: 'env', value: 'dev' }] }).expect(201)).body.permissionSetId;
    const tagged = await root.call('post', `${BASE}/permission-sets/${dev}/tags`, { tags: [{ key: 'owner', value: 'a@b.c' }] }).expect(200);
    expect(tagged.body.tags).to.deep.equal([
      { key: 'env', value: 'dev' },
      { key: 'owner', value: 'a@b.c' },
    ]);
    await root.call('post', `${BASE}/permission-sets/${dev}/tags`, { tags: [{ key: 'bad key', value: 'x' }] }).expect(400);
    expect((await root.call('delete', `${BASE}/permission-sets/${dev}/tags`, { tagKeys: ['owner'] }).expect(200)).body.tags).to.deep.equal([{ key: 'env', value: 'dev' }]);

    const devOnly = await subAccountSigner(app, [
      {
        document: {
          permissions: [
            {
              effect: 'Allow',
              targets: [{ product: 'SSO', actions: ['view/getPermissionSetDetail', 'change/updatePermissionSet', 'change/deletePermissionSet'], resourceNrns: ['*'] }],
              condition: { StringEquals: { 'ncp:resourceTag/env': ['dev'] } },
            },
            { effect: 'Allow', targets: [{ product: 'SSO', actions: ['change/createPermissionSet'], resourceNrns: ['*'] }], condition: { StringEquals: { 'ncp:requestTag/env': ['dev'] } } },
          ],
        },
      },
    ]);
    await devOnly.call('get', `${BASE}/permission-sets/${dev}`).expect(200);
    await devOnly.call('get', `${BASE}/permission-sets/${prod}`).expect(403);
    await devOnly.call('put', `${BASE}/permission-sets/${prod}`, { description: 'mine now' }).expect(403);
    await devOnly.call('delete', `${BASE}/permission-sets/${prod}`).expect(403);
    expect((await stored(prod)).description).to.equal('');
    await create({ permissionSetName: 'ReqProd', systemManagedPolicyIds: ['NCP_ADMINISTRATOR'], tags: [{ key: 'env', value: 'prod' }] }, devOnly).expect(403);
    await create({ permissionSetName: 'ReqDev', systemManagedPolicyIds: ['NCP_ADMINISTRATOR'], tags: [{ key: 'env', value: 'dev' }] }, devOnly).expect(201);
    expect(await PermissionSet.countDocuments({ tenantId, nameKey: 'reqprod' })).to.equal(0);
  });

  it('every permission-set route is gated by exactly its catalog action (403 without it, through with only it)', async () => {
    const id = (await create({ permissionSetName: 'Gated', systemManagedPolicyIds: ['NCP_ADMINISTRATOR', 'NCP_INFRA_MANAGER'] }).expect(201)).body.permissionSetId;
    const allSso = catalog.byProduct('SSO').map((a) => a.qualifiedName);
    const unqualified = (q: string) => q.slice(q.indexOf(':') + 1);
    let n = 0;
    const bodies: Record<string, () => unknown> = {
      'post /permission-sets': () => ({ permissionSetName: `Gate${n++}`, systemManagedPolicyIds: ['NCP_ADMINISTRATOR'] }),
      'put /permission-sets/:permissionSetId': () => ({ description: 'gated' }),
      'delete /permission-sets/:permissionSetId/policies': () => ({ systemManagedPolicyIds: ['NCP_INFRA_MANAGER'] }),
      'post /permission-sets/:permissionSetId/tags': () => ({ tags: [{ key: 'k', value: 'v' }] }),
      'delete /permission-sets/:permissionSetId/tags': () => ({ tagKeys: ['k'] }),
    };
    const last = (s: AdminRouteSpec) => (s.method === 'delete' && s.path === '/permission-sets/:permissionSetId' ? 1 : 0);
    for (const spec of [...permissionSetRoutes].sort((x, y) => last(x) - last(y))) {
      const key = `${spec.method} ${spec.path}`;
      const path = BASE + spec.path.replace(':permissionSetId', id);
      const others = allSso.filter((a) => a.toLowerCase() !== spec.action.toLowerCase()).map(unqualified);
      const without = await subAccountSigner(app, [allow(others, 'SSO')]);
      expect((await without.call(spec.method, path, bodies[key]?.())).status, `${key} without ${spec.action}`).to.equal(403);
      const only = await subAccountSigner(app, [allow(withRelatedActions([unqualified(spec.action)], 'SSO'), 'SSO')]);
      const res = await only.call(spec.method, path, bodies[key]?.());
      expect(res.status, `${key} with only ${spec.action}: ${JSON.stringify(res.body)}`).to.be.within(200, 299);
    }
  });

  it('an admin of another account gets 404 for this tenant’s permission sets', async () => {
    const id = (await create({ permissionSetName: 'Private', systemManagedPolicyIds: ['NCP_ADMINISTRATOR', 'NCP_INFRA_MANAGER'], tags: [{ key: 'env', value: 'prod' }] }).expect(201)).body
      .permissionSetId;
    const other = await rootSigner(app, OTHER_ACCOUNT);
    await other.call('get', `${BASE}/permission-sets/${id}`).expect(404);
    await createTenant(OTHER_ACCOUNT);
    for (const [method, path, body] of [
      ['get', `/permission-sets/${id}`, undefined],
      ['put', `/permission-sets/${id}`, { description: 'x', systemManagedPolicyIds: ['NCP_FINANCE_MANAGER'] }],
      ['delete', `/permission-sets/${id}`, undefined],
      ['delete', `/permission-sets/${id}/policies`, { systemManagedPolicyIds: ['NCP_INFRA_MANAGER'] }],
      ['post', `/permission-sets/${id}/tags`, { tags: [{ key: 'env', value: 'dev' }] }],
      ['delete', `/permission-sets/${id}/tags`, { tagKeys: ['env'] }],
    ] as const) {
      const res = await other.call(method, `${BASE}${path}`, body);
      expect(res.status, `${method} ${path}`).to.equal(404);
    }
    // the name is free in the other tenant: uniqueness is per tenant
    await other.call('post', `${BASE}/permission-sets`, { permissionSetName: 'Private', systemManagedPolicyIds: ['NCP_ADMINISTRATOR'] }).expect(201);
    expect((await other.call('get', `${BASE}/permission-sets`).expect(200)).body.totalElements).to.equal(1);
    const mine = await stored(id);
    expect(mine.systemManagedPolicyIds).to.have.length(2);
    expect(mine.description).to.equal('');
    expect(mine.tags.map((t) => t.value)).to.deep.equal(['prod']);
  });
});
