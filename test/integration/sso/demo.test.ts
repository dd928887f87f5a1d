/**
 * Demo data of the embedded default start (issue 6 "Demo data", src/sso/demo.ts): the demo tenant
 * and its users, group, permission set and assignment are made once, through the same services
 * as the admin API; running again (sequentially or concurrently) creates nothing new; a main
 * account with a tenant of its own is left alone; the start prints one line saying where to sign in.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { loadConfig, ConfigError } from '../../../src/config.js';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { Assignment, AssignmentTarget } from '../../../src/sso/assignments/assignment.model.js';
import { DEMO_ASSIGNMENT, DEMO_GROUP, DEMO_PERMISSION_SET, DEMO_TENANT_ALIAS, DEMO_USERS, demoLine, seedDemo, startDemo } from '../../../src/sso/demo.js';
import { SsoGroup } from '../../../src/sso/groups/group.model.js';
import { PermissionSet } from '../../../src/sso/permission-sets/permission-set.model.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { verifyPassword } from '../../../src/shared/password-hash.js';
import { silentLogger, testApp, TEST_MASTER_KEY } from '../../helpers/app.js';
import { ACCOUNT, rootSigner } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';
import { testMongoUri } from '../../helpers/engine.js';
import { startMain, stopMain } from '../../helpers/process.js';

const BASE_URL = 'http://localhost:3000';

async function contentOf(accountId: number) {
  const tenant = await Tenant.findOne({ accountId }).lean();
  if (!tenant) return null;
  const { tenantId } = tenant;
  return {
    tenants: await Tenant.countDocuments({ accountId }),
    users: await SsoUser.find({ tenantId }).select('loginId groupIds').sort({ loginIdKey: 1 }).lean(),
    groups: await SsoGroup.find({ tenantId }).select('groupId groupName').lean(),
    permissionSets: await PermissionSet.find({ tenantId }).select('permissionSetId permissionSetName systemManagedPolicyIds').lean(),
    assignments: await Assignment.find({ tenantId }).select('assignmentId assignmentName permissionSetId accountMemberNo').lean(),
    targets: await AssignmentTarget.find({ tenantId }).select('assignmentId targetType targetId').lean(),
  };
}

describe('SSO demo data', function () {
  this.timeout(60_000);
  useTestDatabase('ssodemo');
  const app = testApp({ db: { ping: async () => true } });
  const stamps = new ChangeStamps();
  const deps = (accountId: number) => ({ baseUrl: BASE_URL, stamps, logger: silentLogger, accountId });
  let nextMemberNo = 3_200_001;
  const freshAccount = async () => {
    const memberNo = nextMemberNo++;
    await rootSigner(app, memberNo);
    return memberNo;
  };

  it('creates the demo tenant (alias demo) with users, a group, a permission set and an assignment, once', async () => {
    await rootSigner(app, ACCOUNT); // the main account, as bootstrap makes it
    const first = await seedDemo({ baseUrl: BASE_URL, stamps, logger: silentLogger });
    expect(first).to.include({ status: 'created', tenantAlias: DEMO_TENANT_ALIAS, loginUrl: `${BASE_URL}/tenants/demo/login` });
    expect(first.password).to.match(/^[A-Za-z0-9_-]{16}$/);
    expect(first.passwordUsers).to.deep.equal(DEMO_USERS.map((u) => u.loginId));
    expect(first.created).to.include.members([
      'tenant demo',
      ...DEMO_USERS.map((u) => `user ${u.loginId}`),
      `group ${DEMO_GROUP}`,
      '2 group memberships',
      `permission set ${DEMO_PERMISSION_SET}`,
      `assignment ${DEMO_ASSIGNMENT}`,
    ]);

    const c = await contentOf(ACCOUNT);
    expect(c?.tenants).to.equal(1);
    const tenant = await Tenant.findOne({ accountId: ACCOUNT }).orFail().lean();
    expect(tenant).to.include({ tenantAlias: 'demo', demo: true });
    expect(tenant.demoSeededAt).to.be.instanceOf(Date);
    expect(c?.users.map((u) => u.loginId)).to.deep.equal(DEMO_USERS.map((u) => u.loginId));
    const group = c!.groups[0]!;
    expect(c?.groups.map((g) => g.groupName)).to.deep.equal([DEMO_GROUP]);
    expect(c?.users.filter((u) => u.groupIds.includes(group.groupId)).map((u) => u.loginId)).to.deep.equal(['alice@demo.example', 'bob@demo.example']);
    expect(c?.permissionSets.map((p) => p.permissionSetName)).to.deep.equal([DEMO_PERMISSION_SET]);
    expect(c?.assignments).to.have.length(1);
    expect(c?.assignments[0]).to.include({ assignmentName: DEMO_ASSIGNMENT, accountMemberNo: ACCOUNT, permissionSetId: c?.permissionSets[0]?.permissionSetId });
    expect(c?.targets.map((x) => ({ assignmentId: x.assignmentId, targetType: x.targetType, targetId: x.targetId }))).to.deep.equal([
      { assignmentId: c?.assignments[0]?.assignmentId, targetType: 'group', targetId: group.groupId },
    ]);

    // the printed password signs the users in (stored hashed only)
    const alice = await SsoUser.findOne({ tenantId: tenant.tenantId, loginIdKey: 'alice@demo.example' }).select('+passwordHash').orFail();
    expect(alice.passwordHash).to.match(/^\$argon2id\$/);
    expect(await verifyPassword(alice.passwordHash!, first.password!)).to.equal(true);

    // the admin API sees the demo tenant like any other
    const root = await rootSigner(app, ACCOUNT);
    const got = await root.call('get', '/api/v1/sso/tenant').expect(200);
    expect(got.body).to.include({ tenantId: tenant.tenantId, tenantAlias: 'demo' });

    // idempotent: a second run creates nothing and shows no password
    const second = await seedDemo({ baseUrl: BASE_URL, stamps, logger: silentLogger });
    expect(second).to.include({ status: 'present', tenantId: tenant.tenantId, tenantAlias: 'demo' });
    expect(second.created).to.deep.equal([]);
    expect(second.password).to.equal(undefined);
    expect(await contentOf(ACCOUNT)).to.deep.equal(c);
  });

  it('concurrent runs (several processes starting at once) make one of everything', async () => {
    const memberNo = await freshAccount();
    const runs = await Promise.all([seedDemo(deps(memberNo)), seedDemo(deps(memberNo)), seedDemo(deps(memberNo))]);
    expect(runs.every((r) => r.status !== 'skipped')).to.equal(true);
    const c = await contentOf(memberNo);
    expect(c?.tenants).to.equal(1);
    expect(c?.users).to.have.length(DEMO_USERS.length);
    expect(c?.groups).to.have.length(1);
    expect(c?.permissionSets).to.have.length(1);
    expect(c?.assignments).to.have.length(1);
    expect(c?.targets).to.have.length(1);
    // the tenant and each user were created by exactly one run
    expect(runs.filter((r) => r.created.some((x) => x.startsWith('tenant '))).length).to.equal(1);
    const createdUsers = runs.flatMap((r) => r.created.filter((x) => x.startsWith('user ')));
    expect(createdUsers.sort()).to.deep.equal(DEMO_USERS.map((u) => `user ${u.loginId}`).sort());
  });

  it('a run interrupted before it finished is completed by the next, which creates only what is missing', async () => {
    const memberNo = await freshAccount();
    await seedDemo(deps(memberNo));
    const tenant = await Tenant.findOne({ accountId: memberNo }).orFail().lean();
    // as if the first run had crashed before making carol and the assignment
    await SsoUser.deleteOne({ tenantId: tenant.tenantId, loginIdKey: 'carol@demo.example' });
    await Assignment.deleteMany({ tenantId: tenant.tenantId });
    await AssignmentTarget.deleteMany({ tenantId: tenant.tenantId });
    await Tenant.updateOne({ accountId: memberNo }, { $set: { demoSeededAt: null } });
    const resumed = await seedDemo(deps(memberNo));
    expect(resumed.status).to.equal('completed');
    expect(resumed.created).to.deep.equal(['user carol@demo.example', `assignment ${DEMO_ASSIGNMENT}`]);
    expect(resumed.passwordUsers).to.deep.equal(['carol@demo.example']);
    expect(demoLine(resumed)).to.contain('as carol@demo.example with password');
    const c = await contentOf(memberNo);
    expect(c?.users).to.have.length(3);
    expect(c?.assignments).to.have.length(1);
  });

  it('after seeding, deleted demo content is not brought back', async () => {
    const memberNo = await freshAccount();
    await seedDemo(deps(memberNo));
    const tenant = await Tenant.findOne({ accountId: memberNo }).orFail().lean();
    await SsoUser.deleteOne({ tenantId: tenant.tenantId, loginIdKey: 'carol@demo.example' });
    const again = await seedDemo(deps(memberNo));
    expect(again).to.include({ status: 'present' });
    expect(await SsoUser.countDocuments({ tenantId: tenant.tenantId })).to.equal(2);
  });

  it('leaves a main account that already has a tenant of its own alone', async () => {
    const memberNo = await freshAccount();
    const root = await rootSigner(app, memberNo);
    const own = (await root.call('post', '/api/v1/sso/tenant', { termsAgreed: true, tenantAlias: `own-${memberNo}` }).expect(201)).body;
    const r = await seedDemo(deps(memberNo));
    expect(r).to.deep.equal({ status: 'skipped', created: [] });
    expect(demoLine(r)).to.equal(undefined);
    const c = await contentOf(memberNo);
    expect(c?.tenants).to.equal(1);
    expect(c?.users).to.deep.equal([]);
    expect(c?.groups).to.deep.equal([]);
    expect((await Tenant.findOne({ accountId: memberNo }).orFail().lean()).tenantId).to.equal(own.tenantId);
  });

  it('when another account holds the alias demo, the demo tenant gets a derived alias and the line says so', async () => {
    // the main account's tenant (first test) holds "demo" in this database
    const memberNo = await freshAccount();
    const r = await seedDemo(deps(memberNo));
    expect(r.tenantAlias).to.equal(`tenant-${memberNo}`);
    expect(demoLine(r)).to.contain(`${BASE_URL}/tenants/tenant-${memberNo}/login`);
  });

  it('startDemo: prints one line where to sign in when on; does nothing when off', async () => {
    const lines: string[] = [];
    const off = await startDemo({ demo: false, baseUrl: BASE_URL }, stamps, silentLogger, (l) => lines.push(l));
    expect(off).to.equal(undefined);
    expect(lines).to.deep.equal([]);
    const on = await startDemo({ demo: true, baseUrl: BASE_URL }, stamps, silentLogger, (l) => lines.push(l));
    expect(on?.status).to.equal('present');
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^ {2}Demo tenant "demo" exists: sign in at http:\/\/localhost:3000\/tenants\/demo\/login as alice@demo\.example, bob@demo\.example, carol@demo\.example with the password printed when they were created\.\n$/);
  });

  it('GATEHOUSE_DEMO: on by default only with the bundled engine; true/false override; other values refused', () => {
    const key = { GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY };
    expect(loadConfig({}).demo).to.equal(true);
    expect(loadConfig({ MONGODB_URI: 'mongodb://db/x', ...key }).demo).to.equal(false);
    expect(loadConfig({ MONGODB_URI: 'mongodb://db/x', GATEHOUSE_DEMO: 'true', ...key }).demo).to.equal(true);
    expect(loadConfig({ GATEHOUSE_DEMO: 'false' }).demo).to.equal(false);
    expect(() => loadConfig({ GATEHOUSE_DEMO: 'maybe' })).to.throw(ConfigError, /GATEHOUSE_DEMO must be true or false/);
  });

  describe('the real start (src/main.ts) with GATEHOUSE_DEMO=true', () => {
    let uri: string;
    const dbName = `t_demo_${randomBytes(4).toString('hex')}`;
    before(async function () {
      this.timeout(240_000);
      uri = (await testMongoUri()).replace(/\/?$/, '/') + dbName;
    });
    after(async () => {
      const conn = await mongoose.createConnection(uri).asPromise();
      await conn.dropDatabase();
      await conn.close();
    });

    it('prints the demo line with the password on the first start, without it on the next, and creates nothing twice', async function () {
      this.timeout(120_000);
      const env = { MONGODB_URI: uri, GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY, GATEHOUSE_DEMO: 'true', LOG_LEVEL: 'info' };
      const outputs: string[] = [];
      for (let i = 0; i < 2; i += 1) {
        const g = await startMain(env);
        try {
          outputs.push(g.output());
        } finally {
          expect(await stopMain(g)).to.equal(0);
        }
      }
      const demoLines = outputs.map((o) => o.split('\n').filter((l) => l.includes('Demo tenant')));
      expect(demoLines[0]).to.have.length(1);
      expect(demoLines[0]![0]).to.match(/sign in at http:\/\/localhost:\d+\/tenants\/demo\/login as alice@demo\.example, bob@demo\.example, carol@demo\.example with password [A-Za-z0-9_-]{16} \(shown only once\)\.$/);
      expect(demoLines[1]).to.have.length(1);
      expect(demoLines[1]![0]).to.contain('with the password printed when they were created');
      const conn = await mongoose.createConnection(uri).asPromise();
      try {
        expect(await conn.db!.collection('sso_tenants').countDocuments()).to.equal(1);
        expect(await conn.db!.collection('sso_users').countDocuments()).to.equal(DEMO_USERS.length);
        expect(await conn.db!.collection('sso_assignments').countDocuments()).to.equal(1);
      } finally {
        await conn.close();
      }
    });
  });
});
