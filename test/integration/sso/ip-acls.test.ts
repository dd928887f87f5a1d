/**
 * IP ACLs of Single Sign-On (seed S4 "IP ACL" actions; reference/ncloud-model.md §1 "IP ACL"):
 * naming and limits, canonical entries, PUT replacing the whole object, tags and tag conditions,
 * refusal to delete an ACL in use, reverse links to assignments, gating by exactly the catalog
 * action, and isolation from another account's admin (security-bar §6 item 45).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { AdminRouteSpec } from '../../../src/http/admin-route.js';
import { catalog, withRelatedActions } from '../../../src/policy/index.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { quotaUsed } from '../../../src/shared/quota.js';
import { IpAcl } from '../../../src/sso/ip-acls/ip-acl.model.js';
import { ipAclRoutes } from '../../../src/sso/ip-acls/ip-acl.routes.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { testApp } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = SSO_API_PREFIX;
const OTHER_ACCOUNT = 2_000_002;

async function createTenant(accountId: number): Promise<string> {
  const tenantId = randomUUID();
  await Tenant.create({ accountId, tenantId, tenantAlias: `t${accountId}`, aliasKey: `t${accountId}`, termsAcceptedAt: new Date() });
  return tenantId;
}

const fields = (res: { body: { error: { fieldErrors: { field: string }[] } } }) => res.body.error.fieldErrors.map((f) => f.field);

describe('SSO API: IP ACLs', function () {
  this.timeout(60_000);
  useTestDatabase('ssoipacls');
  const app = testApp({ db: { ping: async () => true } });
  let root: Signer;
  let tenantId: string;

  before(async () => {
    root = await rootSigner(app);
    tenantId = await createTenant(ACCOUNT);
  });

  const create = (body: Record<string, unknown>, who: Signer = root) => who.call('post', `${BASE}/ip-acls`, body);

  it('creates an IP ACL with entries validated and stored canonically, and audits it', async () => {
    const res = await create({
      ipAclName: 'Office-1',
      description: 'HQ',
      accessIps: ['10.1.2.3/8', '2001:DB8:0:0::1', '::ffff:203.0.113.7', '10.0.0.0/8', '2001:db8:abcd:12::5/64', '198.51.100.9/32'],
      tags: [{ key: 'env', value: 'prod' }],
    }).expect(201);
    expect(res.body.accessIps).to.deep.equal(['10.0.0.0/8', '2001:db8::1', '203.0.113.7', '2001:db8:abcd:12::/64', '198.51.100.9']);
    expect(res.body.nrn).to.equal(`nrn:PUB:SSO::${ACCOUNT}:IPACL/${res.body.ipAclId}`);
    expect(res.body).to.include({ ipAclName: 'Office-1', description: 'HQ' });
    const stored = await IpAcl.findOne({ tenantId, ipAclId: res.body.ipAclId }).orFail();
    expect(stored.nameKey).to.equal('office-1');
    const ev = await HistoryEvent.findOne({ accountId: ACCOUNT, action: 'SSO:Change/createIPACL', nrn: res.body.nrn }).orFail();
    expect(ev.result).to.equal('success');
  });

  it('refuses bad entries, names, descriptions and tags with field errors, and writes nothing', async () => {
    const before = await IpAcl.countDocuments({ tenantId });
    const bad = await create({
      ipAclName: 'a',
      description: 'x'.repeat(301),
      accessIps: ['10.0.0.0/33', 'fe80::1%eth0', ' 10.0.0.1', '010.0.0.1', 'example.com', '1.2.3.4/'],
      tags: [{ key: 'bad key', value: 'v' }],
    }).expect(400);
    expect(bad.body.error.errorCode).to.equal('VALIDATION_FAILED');
    expect(fields(bad)).to.include.members([
      'body.ipAclName',
      'body.description',
      'body.accessIps.0',
      'body.accessIps.1',
      'body.accessIps.2',
      'body.accessIps.3',
      'body.accessIps.4',
      'body.accessIps.5',
      'body.tags.0.key',
    ]);
    for (const ipAclName of ['x'.repeat(31), '_lead', '-lead', 'has space', 'dot.ted', 'é-accent']) {
      const res = await create({ ipAclName, accessIps: ['10.0.0.1'] }).expect(400);
      expect(fields(res), ipAclName).to.deep.equal(['body.ipAclName']);
    }
    await create({ ipAclName: 'NoEntries', accessIps: [] }).expect(400);
    await create({ ipAclName: 'TooMany', accessIps: Array.from({ length: 21 }, (_, i) => `10.0.0.${i}`) }).expect(400);
    await create({ ipAclName: 'Missing' }).expect(400);
    const tooManyTags = Array.from({ length: 21 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    expect(fields(await create({ ipAclName: 'Tags1', accessIps: ['10.0.0.1'], tags: tooManyTags }).expect(400))).to.include('body.tags');
    expect(fields(await create({ ipAclName: 'Tags2', accessIps: ['10.0.0.1'], tags: [{ key: 'k'.repeat(129), value: '' }] }).expect(400))).to.include('body.tags.0.key');
    expect(fields(await create({ ipAclName: 'Tags3', accessIps: ['10.0.0.1'], tags: [{ key: 'k', value: 'v'.repeat(257) }] }).expect(400))).to.include('body.tags.0.value');
    expect(fields(await create({ ipAclName: 'Tags4', accessIps: ['10.0.0.1'], tags: [{ key: 'k', value: 'a' }, { key: 'k', value: 'b' }] }).expect(400))).to.include('body.tags.1.key');
    // mass assignment: unknown fields are refused, not ignored (security-bar §6 item 37)
    expect(fields(await create({ ipAclName: 'Mass', accessIps: ['10.0.0.1'], tenantId: randomUUID() }).expect(400))).to.include('body');
    expect(await IpAcl.countDocuments({ tenantId })).to.equal(before);
  });

  it('accepts the limits exactly: 2 and 30 character names, 20 entries, 300-character descriptions, 20 tags of 128/256', async () => {
    await create({ ipAclName: '9a', accessIps: ['10.0.0.1'] }).expect(201);
    const longest = await create({
      ipAclName: `A${'b_-'.repeat(9)}cd`,
      description: 'd'.repeat(300),
      accessIps: Array.from({ length: 20 }, (_, i) => `192.0.2.${i}`),
      tags: Array.from({ length: 20 }, (_, i) => ({ key: `${i}`.padEnd(128, 'k'), value: 'v/=+-@._'.padEnd(256, 'v') })),
    }).expect(201);
    expect(longest.body.ipAclName).to.have.length(30);
    expect(longest.body.accessIps).to.have.length(20);
    expect(longest.body.tags).to.have.length(20);
    // two spellings of one range are one entry
    const dup = await create({ ipAclName: 'Dups', accessIps: ['10.0.0.1', '10.0.0.1/32', '::ffff:10.0.0.1'] }).expect(201);
    expect(dup.body.accessIps).to.deep.equal(['10.0.0.1']);
  });

  it('names are unique case-insensitively, also under concurrent creates (one unique index, no check-then-insert)', async () => {
    const quotaBefore = await quotaUsed(`ssoIpAcls:${tenantId}`);
    const names = ['Branch', 'BRANCH', 'branch', 'bRaNcH', 'Branch', 'BRanch', 'branCH', 'BrAnCh'];
    const results = await Promise.all(names.map((ipAclName) => create({ ipAclName, accessIps: ['192.0.2.1'] })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).to.have.length(1);
    expect(statuses.filter((s) => s === 409)).to.have.length(names.length - 1);
    expect(results.find((r) => r.status === 409)!.body.error.errorCode).to.equal('CONFLICT');
    expect(await IpAcl.countDocuments({ tenantId, nameKey: 'branch' })).to.equal(1);
    // refused creates give their quota unit back
    expect(await quotaUsed(`ssoIpAcls:${tenantId}`)).to.equal(quotaBefore + 1);
  });

  it('PUT replaces the whole object; the name cannot change; tags are untouched', async () => {
    const acl = (await create({ ipAclName: 'Replace', description: 'old', accessIps: ['10.0.0.1'], tags: [{ key: 'env', value: 'dev' }] }).expect(201)).body;
    const put = await root.call('put', `${BASE}/ip-acls/${acl.ipAclId}`, { accessIps: ['2001:db8::/32', '10.9.9.9/16'] }).expect(200);
    expect(put.body).to.include({ ipAclName: 'Replace', description: '' });
    expect(put.body.accessIps).to.deep.equal(['2001:db8::/32', '10.9.0.0/16']);
    expect(put.body.tags).to.deep.equal([{ key: 'env', value: 'dev' }]);
    await root.call('put', `${BASE}/ip-acls/${acl.ipAclId}`, { ipAclName: 'Replace', description: 'same name', accessIps: ['10.0.0.2'] }).expect(200);
    const rename = await root.call('put', `${BASE}/ip-acls/${acl.ipAclId}`, { ipAclName: 'Renamed', accessIps: ['10.0.0.3'] }).expect(400);
    expect(fields(rename)).to.deep.equal(['body.ipAclName']);
    await root.call('put', `${BASE}/ip-acls/${acl.ipAclId}`, { accessIps: ['10.0.0.3'], tags: [] }).expect(400);
    await root.call('put', `${BASE}/ip-acls/${acl.ipAclId}`, { accessIps: [] }).expect(400);
    const got = await root.call('get', `${BASE}/ip-acls/${acl.ipAclId}`).expect(200);
    expect(got.body).to.include({ ipAclName: 'Replace', description: 'same name' });
    expect(got.body.accessIps).to.deep.equal(['10.0.0.2']);
  });

  it('lists with paging and a case-insensitive name prefix', async () => {
    await create({ ipAclName: 'Zed-1', accessIps: ['10.0.0.1'] }).expect(201);
    await create({ ipAclName: 'zed-2', accessIps: ['10.0.0.1'] }).expect(201);
    const page = await root.call('get', `${BASE}/ip-acls?ipAclName=ZED&pageSize=1&pageNo=1`).expect(200);
    expect(page.body).to.include({ pageNo: 1, pageSize: 1, totalElements: 2 });
    expect(page.body.items.map((i: { ipAclName: string }) => i.ipAclName)).to.deep.equal(['zed-2']);
    await root.call('get', `${BASE}/ip-acls?pageSize=101`).expect(400);
  });

  it('tags: add merges by key, untag removes by key, at most 20 in all', async () => {
    const acl = (await create({ ipAclName: 'Tagged', accessIps: ['10.0.0.1'], tags: [{ key: 'a', value: '1' }] }).expect(201)).body;
    const tagged = await root.call('post', `${BASE}/ip-acls/${acl.ipAclId}/tags`, { tags: [{ key: 'a', value: '2' }, { key: 'b', value: '3' }] }).expect(200);
    expect(tagged.body.tags).to.deep.equal([
      { key: 'a', value: '2' },
      { key: 'b', value: '3' },
    ]);
    const untagged = await root.call('delete', `${BASE}/ip-acls/${acl.ipAclId}/tags`, { tagKeys: ['a', 'absent'] }).expect(200);
    expect(untagged.body.tags).to.deep.equal([{ key: 'b', value: '3' }]);
    const many = Array.from({ length: 20 }, (_, i) => ({ key: `n${i}`, value: '' }));
    const over = await root.call('post', `${BASE}/ip-acls/${acl.ipAclId}/tags`, { tags: many }).expect(400);
    expect(over.body.error.detail).to.contain('at most 20');
    expect((await IpAcl.findOne({ tenantId, ipAclId: acl.ipAclId }).orFail()).tags).to.have.length(1);
  });

  it('ncp:resourceTag and ncp:requestTag conditions allow and deny', async () => {
    const prod = (await create({ ipAclName: 'TagProd', accessIps: ['10.0.0.1'], tags: [{ key: 'env', value: 'prod' }] }).expect(201)).body;
    const dev = (await create({ ipAclName: 'TagDev', accessIps: ['10.0.0.1'], tags: [{ key: 'env', value: 'dev' }] }).expect(201)).body;
    const onlyProd = await subAccountSigner(app, [
      {
        document: {
          permissions: [
            { effect: 'Allow', targets: [{ product: 'SSO', actions: ['View/getIPACLDetail', 'Change/updateIPACL'], resourceNrns: ['*'] }], condition: { StringEquals: { 'ncp:resourceTag/env': ['prod'] } } },
            { effect: 'Allow', targets: [{ product: 'SSO', actions: ['Change/createIPACL'], resourceNrns: ['*'] }], condition: { StringEquals: { 'ncp:requestTag/env': ['dev'] } } },
          ],
        },
      },
    ]);
    await onlyProd.call('get', `${BASE}/ip-acls/${prod.ipAclId}`).expect(200);
    await onlyProd.call('get', `${BASE}/ip-acls/${dev.ipAclId}`).expect(403);
    await onlyProd.call('put', `${BASE}/ip-acls/${dev.ipAclId}`, { accessIps: ['10.0.0.9'] }).expect(403);
    expect((await IpAcl.findOne({ tenantId, ipAclId: dev.ipAclId }).orFail()).accessIps).to.deep.equal(['10.0.0.1']);
    await create({ ipAclName: 'ReqProd', accessIps: ['10.0.0.1'], tags: [{ key: 'env', value: 'prod' }] }, onlyProd).expect(403);
    await create({ ipAclName: 'ReqNone', accessIps: ['10.0.0.1'] }, onlyProd).expect(403);
    await create({ ipAclName: 'ReqDev', accessIps: ['10.0.0.1'], tags: [{ key: 'env', value: 'dev' }] }, onlyProd).expect(201);
    expect(await IpAcl.countDocuments({ tenantId, nameKey: { $in: ['reqprod', 'reqnone'] } })).to.equal(0);
  });

  describe('links to assignments', () => {
    let permissionSetId: string;
    const assignment = async (name: string) =>
      (await root.call('post', `${BASE}/assignments`, { assignmentName: name, permissionSetId, apiAccessAllowed: true }).expect(201)).body.assignmentId as string;

    before(async () => {
      permissionSetId = (await root.call('post', `${BASE}/permission-sets`, { permissionSetName: 'AclLinks', systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'] }).expect(201)).body
        .permissionSetId;
    });

    it('reverse links list console and API assignments; attach and detach from the ACL side', async () => {
      const acl = (await create({ ipAclName: 'Linked', accessIps: ['203.0.113.0/24'] }).expect(201)).body;
      const a1 = await assignment('AclOne');
      const a2 = await assignment('AclTwo');
      const empty = await root.call('get', `${BASE}/ip-acls/${acl.ipAclId}/assignments`).expect(200);
      expect(empty.body).to.deep.equal({ ipAclId: acl.ipAclId, consoleAccessAssignmentIds: [], apiAccessAssignmentIds: [] });
      await root.call('post', `${BASE}/ip-acls/${acl.ipAclId}/assignments`, { consoleAccessAssignmentIds: [a1, a2], apiAccessAssignmentIds: [a2] }).expect(200);
      const links = await root.call('get', `${BASE}/ip-acls/${acl.ipAclId}/assignments`).expect(200);
      expect(links.body.consoleAccessAssignmentIds).to.have.members([a1, a2]);
      expect(links.body.apiAccessAssignmentIds).to.deep.equal([a2]);
      const a2view = await root.call('get', `${BASE}/assignments/${a2}`).expect(200);
      expect(a2view.body).to.include({ consoleAccessRestricted: true, apiAccessRestricted: true });

      // an unknown assignment refuses the whole request
      const missing = randomUUID();
      await root.call('post', `${BASE}/ip-acls/${acl.ipAclId}/assignments`, { apiAccessAssignmentIds: [a1, missing] }).expect(404);
      expect((await root.call('get', `${BASE}/ip-acls/${acl.ipAclId}/assignments`).expect(200)).body.apiAccessAssignmentIds).to.deep.equal([a2]);

      // in use: delete refused with the assignments named
      const refused = await root.call('delete', `${BASE}/ip-acls/${acl.ipAclId}`).expect(409);
      expect(refused.body.error.detail).to.contain(a1).and.contain(a2);
      expect(refused.body.error.fieldErrors).to.deep.include({ field: 'apiAccessAssignmentIds', message: a2 });
      expect(await IpAcl.countDocuments({ tenantId, ipAclId: acl.ipAclId, deleting: false })).to.equal(1);

      await root.call('delete', `${BASE}/ip-acls/${acl.ipAclId}/assignments`, { consoleAccessAssignmentIds: [a1, a2], apiAccessAssignmentIds: [a2] }).expect(200);
      expect((await root.call('get', `${BASE}/ip-acls/${acl.ipAclId}/assignments`).expect(200)).body).to.include({ ipAclId: acl.ipAclId });
      await root.call('delete', `${BASE}/ip-acls/${acl.ipAclId}`).expect(204);
      await root.call('get', `${BASE}/ip-acls/${acl.ipAclId}`).expect(404);
      await root.call('delete', `${BASE}/ip-acls/${acl.ipAclId}`).expect(404);
    });

    it('an assignment holds at most 5 ACLs per access type', async () => {
      const a = await assignment('AclLimit');
      const acls: string[] = [];
      for (let i = 0; i < 6; i++) acls.push((await create({ ipAclName: `Lim${i}`, accessIps: [`192.0.2.${i}`] }).expect(201)).body.ipAclId);
      for (const id of acls.slice(0, 5)) await root.call('post', `${BASE}/ip-acls/${id}/assignments`, { consoleAccessAssignmentIds: [a] }).expect(200);
      const sixth = await root.call('post', `${BASE}/ip-acls/${acls[5]}/assignments`, { consoleAccessAssignmentIds: [a] }).expect(409);
      expect(sixth.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
      // the API list is separate
      await root.call('post', `${BASE}/ip-acls/${acls[5]}/assignments`, { apiAccessAssignmentIds: [a] }).expect(200);
      const view = await root.call('get', `${BASE}/assignments/${a}`).expect(200);
      expect(view.body.consoleAccessIpAclIds).to.deep.equal(acls.slice(0, 5));
      expect(view.body.apiAccessIpAclIds).to.deep.equal([acls[5]]);
    });
  });

  it('every IP ACL route is gated by exactly its catalog action (403 without it, through with only it)', async () => {
    const acl = (await create({ ipAclName: 'Gated', accessIps: ['10.0.0.1'] }).expect(201)).body;
    const allSso = catalog.byProduct('SSO').map((a) => a.qualifiedName);
    const unqualified = (q: string) => q.slice(q.indexOf(':') + 1);
    const bodies: Record<string, unknown> = {
      'post /ip-acls': { ipAclName: `G${randomUUID().slice(0, 8)}`, accessIps: ['10.0.0.1'] },
      'put /ip-acls/:ipAclId': { accessIps: ['10.0.0.2'] },
      'post /ip-acls/:ipAclId/tags': { tags: [{ key: 'k', value: 'v' }] },
      'delete /ip-acls/:ipAclId/tags': { tagKeys: ['k'] },
      'post /ip-acls/:ipAclId/assignments': { consoleAccessAssignmentIds: [randomUUID()] },
      'delete /ip-acls/:ipAclId/assignments': { consoleAccessAssignmentIds: [randomUUID()] },
    };
    const order = (s: AdminRouteSpec) => (s.method === 'delete' && s.path === '/ip-acls/:ipAclId' ? 1 : 0);
    for (const spec of [...ipAclRoutes].sort((x, y) => order(x) - order(y))) {
      const key = `${spec.method} ${spec.path}`;
      const path = BASE + spec.path.replace(':ipAclId', acl.ipAclId);
      const others = allSso.filter((a) => a.toLowerCase() !== spec.action.toLowerCase()).map(unqualified);
      const without = await subAccountSigner(app, [allow(others, 'SSO')]);
      const denied = await without.call(spec.method, path, bodies[key]);
      expect(denied.status, `${key} without ${spec.action}`).to.equal(403);
      const only = await subAccountSigner(app, [allow(withRelatedActions([unqualified(spec.action)], 'SSO'), 'SSO')]);
      const allowed = await only.call(spec.method, path, bodies[key]);
      expect(allowed.status, `${key} with only ${spec.action}: ${JSON.stringify(allowed.body)}`).to.not.equal(403);
      expect(allowed.status, key).to.be.below(500);
    }
  });

  it('an admin of another account gets 404 for this tenant’s IP ACLs, and its own list does not show them', async () => {
    const acl = (await create({ ipAclName: 'Private', accessIps: ['10.0.0.1'], tags: [{ key: 'env', value: 'prod' }] }).expect(201)).body;
    const other = await rootSigner(app, OTHER_ACCOUNT);
    // without a tenant of its own
    await other.call('get', `${BASE}/ip-acls/${acl.ipAclId}`).expect(404);
    await createTenant(OTHER_ACCOUNT);
    const id = acl.ipAclId;
    for (const [method, path, body] of [
      ['get', `/ip-acls/${id}`, undefined],
      ['put', `/ip-acls/${id}`, { accessIps: ['0.0.0.0/0'] }],
      ['delete', `/ip-acls/${id}`, undefined],
      ['post', `/ip-acls/${id}/tags`, { tags: [{ key: 'env', value: 'dev' }] }],
      ['delete', `/ip-acls/${id}/tags`, { tagKeys: ['env'] }],
      ['get', `/ip-acls/${id}/assignments`, undefined],
      ['post', `/ip-acls/${id}/assignments`, { consoleAccessAssignmentIds: [randomUUID()] }],
      ['delete', `/ip-acls/${id}/assignments`, { consoleAccessAssignmentIds: [randomUUID()] }],
    ] as const) {
      const res = await other.call(method, `${BASE}${path}`, body);
      expect(res.status, `${method} ${path}`).to.equal(404);
      expect(res.body.error.errorCode).to.equal('NOT_FOUND');
    }
    const list = await other.call('get', `${BASE}/ip-acls`).expect(200);
    expect(list.body.totalElements).to.equal(0);
    const stored = await IpAcl.findOne({ tenantId, ipAclId: id }).lean().orFail();
    expect(stored.accessIps).to.deep.equal(['10.0.0.1']);
    expect(stored.tags.map((t) => ({ key: t.key, value: t.value }))).to.deep.equal([{ key: 'env', value: 'prod' }]);
  });
});
