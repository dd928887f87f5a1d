/**
 * Demo data for the embedded default start (issue 6 "Demo data"): when Gatehouse runs on its
 * bundled database (no MONGODB_URI) or with GATEHOUSE_DEMO=true, the main account gets a Single
 * Sign-On tenant aliased `demo` with three users, a group, a permission set and an assignment of
 * it to the group, so a first start has something to sign in to
 * (`{baseUrl}/tenants/demo/login`).
 *
 * Idempotent and safe from several processes at once: the tenant is marked `demo` in the insert
 * that creates it; its content is made item by item through the same services as the admin API
 * (each item found by its unique name, or created; a racing creator's 409 finds the winner's),
 * and `demoSeededAt` is set only when every item exists. A start after that seeds nothing more,
 * so an admin who deletes a demo user does not see it come back. A main account that already has
 * a tenant of its own is left alone.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { ChangeStamps } from '../iam/change-stamps.js';
import { MAIN_ACCOUNT_MEMBER_NO } from '../iam/bootstrap.js';
import { findManagedPolicy } from '../policy/index.js';
import { AppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { Assignment } from './assignments/assignment.model.js';
import { createAssignmentBody, targetsBody } from './assignments/assignment.schemas.js';
import { addTargets, createAssignment } from './assignments/assignment.service.js';
import { SsoGroup } from './groups/group.model.js';
import { createGroupBody } from './groups/group.schemas.js';
import { createGroup } from './groups/group.service.js';
import { addUsersToGroup } from './groups/membership.service.js';
import { PermissionSet } from './permission-sets/permission-set.model.js';
import { createPermissionSetBody } from './permission-sets/permission-set.schemas.js';
import { createPermissionSet } from './permission-sets/permission-set.service.js';
import { ssoNameKey } from './shared/schemas.js';
import { findTenantOfAccount, type TenantRecord } from './tenant/tenant-context.js';
import { Tenant } from './tenant/tenant.model.js';
import { createTenant } from './tenant/tenant.service.js';
import { SsoUser } from './users/user.model.js';
import { createUserBody } from './users/user.schemas.js';
import { createUser } from './users/user.service.js';

export const DEMO_TENANT_ALIAS = 'demo';

export const DEMO_USERS = [
  { loginId: 'alice@demo.example', firstName: 'Alice', lastName: 'Admin', deptName: 'IT', inGroup: true },
  { loginId: 'bob@demo.example', firstName: 'Bob', lastName: 'Builder', deptName: 'Engineering', inGroup: true },
  { loginId: 'carol@demo.example', firstName: 'Carol', lastName: 'Contractor', deptName: 'Partners', inGroup: false },
] as const;
export const DEMO_GROUP = 'DemoViewers';
export const DEMO_PERMISSION_SET = 'DemoSsoViewer';
export const DEMO_ASSIGNMENT = 'DemoViewersMain';

export interface DemoResult {
  /** `skipped`: the main account already has a tenant that is not the demo's (left alone). */
  status: 'created' | 'completed' | 'present' | 'skipped';
  tenantId?: string;
  tenantAlias?: string;
  loginUrl?: string;
  /** What this run created (empty on a run that found everything). */
  created: string[];
  /** The password of the users this run created (`passwordUsers`): shown once, stored hashed. */
  password?: string;
  passwordUsers?: string[];
}

export interface DemoDeps {
  baseUrl: string;
  stamps: ChangeStamps;
  logger: Logger;
  /** The account that gets the demo tenant (the main account). */
  accountId?: number;
}

function isConflict(err: unknown): boolean {
  return err instanceof AppError && err.code === 'CONFLICT';
}

/** Finds an item by its unique key, or creates it; a concurrent creator's 409 means "find it again". */
async function findOrCreate(find: () => Promise<string | null>, create: () => Promise<string>): Promise<{ id: string; created: boolean }> {
  const existing = await find();
  if (existing) return { id: existing, created: false };
  try {
    return { id: await create(), created: true };
  } catch (err) {
    if (!isConflict(err)) throw err;
    const winner = await find();
    if (!winner) throw err;
    return { id: winner, created: false };
  }
}

async function demoTenant(accountId: number, deps: DemoDeps, created: string[]): Promise<TenantRecord | null> {
  const existing = await findTenantOfAccount(accountId);
  if (existing) return existing.demo ? existing : null;
  const input = { termsAgreed: true as const, memberLoginPolicy: 'UNUSED' as const, description: 'Demo tenant created by Gatehouse on its embedded database' };
  const tenantDeps = { stamps: deps.stamps, baseUrl: deps.baseUrl };
  // The alias `demo` first; if another account holds it, a derived one. A 409 because another
  // process made this account's tenant meanwhile ends the loop: that tenant is the demo's.
  let madeHere = false;
  for (const tenantAlias of [DEMO_TENANT_ALIAS, undefined]) {
    try {
      await createTenant(accountId, tenantAlias ? { ...input, tenantAlias } : input, tenantDeps, { demo: true });
      madeHere = true;
      break;
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (await findTenantOfAccount(accountId)) break;
    }
  }
  const t = await findTenantOfAccount(accountId);
  if (!t?.demo) return null;
  if (madeHere) created.push(`tenant ${t.tenantAlias}`);
  return t;
}

async function seedContent(tenant: TenantRecord, deps: DemoDeps, created: string[]): Promise<{ password: string; passwordUsers: string[] } | undefined> {
  const { tenantId, accountId } = tenant;
  // One generated password for the demo users, printed once; never a fixed one, since the
  // default start listens on every interface.
  const password = randomBytes(12).toString('base64url');
  const passwordUsers: string[] = [];

  const userIds: string[] = [];
  const memberIds: string[] = [];
  for (const u of DEMO_USERS) {
    const r = await findOrCreate(
      async () => (await SsoUser.findOne({ tenantId, loginIdKey: u.loginId.toLowerCase() }).select('userId').lean())?.userId ?? null,
      async () =>
        (
          await createUser(
            tenant,
            createUserBody.parse({
              loginId: u.loginId,
              description: 'Demo user',
              userProfile: { firstName: u.firstName, lastName: u.lastName, email: u.loginId, emailVerified: true, deptName: u.deptName },
              accessRules: { consoleAccessAllowed: true, apiAccessAllowed: false },
              password,
              needPasswordReset: false,
            }),
          )
        ).userId,
    );
    if (r.created) {
      created.push(`user ${u.loginId}`);
      passwordUsers.push(u.loginId);
    }
    userIds.push(r.id);
    if (u.inGroup) memberIds.push(r.id);
  }

  const group = await findOrCreate(
    async () => (await SsoGroup.findOne({ tenantId, nameKey: ssoNameKey(DEMO_GROUP) }).select('groupId').lean())?.groupId ?? null,
    async () => (await createGroup(tenant, createGroupBody.parse({ groupName: DEMO_GROUP, description: 'Demo users who may view the Single Sign-On settings' }))).groupId,
  );
  if (group.created) created.push(`group ${DEMO_GROUP}`);
  const added = await addUsersToGroup(tenant, group.id, memberIds);
  if (added.addedUserIds.length) created.push(`${added.addedUserIds.length} group memberships`);

  const viewer = findManagedPolicy('NCP_SINGLE_SIGN_ON_VIEWER');
  if (!viewer) throw new Error('the system-managed policy NCP_SINGLE_SIGN_ON_VIEWER is missing from the catalog');
  const set = await findOrCreate(
    async () => (await PermissionSet.findOne({ tenantId, nameKey: ssoNameKey(DEMO_PERMISSION_SET) }).select('permissionSetId').lean())?.permissionSetId ?? null,
    async () =>
      (
        await createPermissionSet(
          accountId,
          createPermissionSetBody.parse({ permissionSetName: DEMO_PERMISSION_SET, description: 'View-only access to Single Sign-On', systemManagedPolicyIds: [viewer.id] }),
        )
      ).permissionSetId,
  );
  if (set.created) created.push(`permission set ${DEMO_PERMISSION_SET}`);

  const assignment = await findOrCreate(
    async () => (await Assignment.findOne({ tenantId, nameKey: ssoNameKey(DEMO_ASSIGNMENT) }).select('assignmentId').lean())?.assignmentId ?? null,
    async () =>
      (
        await createAssignment(
          accountId,
          createAssignmentBody.parse({ assignmentName: DEMO_ASSIGNMENT, description: 'DemoViewers may switch into the SSO viewer role of the main account', permissionSetId: set.id }),
          deps.stamps,
        )
      ).assignmentId,
  );
  if (assignment.created) created.push(`assignment ${DEMO_ASSIGNMENT}`);
  await addTargets(accountId, assignment.id, targetsBody.parse({ targetType: 'group', targetIds: [group.id] }));

  return passwordUsers.length ? { password, passwordUsers } : undefined;
}

/** Creates what is missing of the demo tenant (see the file comment); never touches a tenant that is not the demo's. */
export async function seedDemo(deps: DemoDeps): Promise<DemoResult> {
  const accountId = deps.accountId ?? MAIN_ACCOUNT_MEMBER_NO;
  const created: string[] = [];
  const tenant = await demoTenant(accountId, deps, created);
  if (!tenant) return { status: 'skipped', created };
  const base = { tenantId: tenant.tenantId, tenantAlias: tenant.tenantAlias, loginUrl: `${deps.baseUrl}/tenants/${tenant.tenantAlias}/login` };
  if (tenant.demoSeededAt) return { status: 'present', ...base, created };
  const users = await seedContent(tenant, deps, created);
  await Tenant.updateOne({ accountId, tenantId: tenant.tenantId }, { $set: { demoSeededAt: new Date() } });
  deps.logger.info({ tenantId: tenant.tenantId, created }, created.length ? `demo data: created ${created.join(', ')}` : 'demo data: nothing to create');
  const status = created.some((c) => c.startsWith('tenant ')) ? 'created' : 'completed';
  return { status, ...base, created, ...(users ?? {}) };
}

/** The one line printed at start (the password only on the run that set it). */
export function demoLine(r: DemoResult): string | undefined {
  if (r.status === 'skipped' || !r.loginUrl) return undefined;
  const who = r.password && r.passwordUsers ? r.passwordUsers : DEMO_USERS.map((u) => u.loginId);
  const secret = r.password ? `password ${r.password} (shown only once)` : 'the password printed when they were created';
  return `  Demo tenant "${r.tenantAlias}" exists: sign in at ${r.loginUrl} as ${who.join(', ')} with ${secret}.`;
}

/**
 * Runs the demo seeding at start when it is on (config.demo: the bundled engine, or
 * GATEHOUSE_DEMO=true) and prints its line. A failure is logged and does not stop Gatehouse:
 * the demo is a convenience, the server is not.
 */
export async function startDemo(config: Pick<Config, 'demo' | 'baseUrl'>, stamps: ChangeStamps, logger: Logger, write: (line: string) => void = (l) => process.stdout.write(l)): Promise<DemoResult | undefined> {
  if (!config.demo) return undefined;
  try {
    const result = await seedDemo({ baseUrl: config.baseUrl, stamps, logger });
    const line = demoLine(result);
    if (line) write(`${line}\n`);
    else logger.info('demo data: the main account already has a Single Sign-On tenant of its own; no demo tenant made');
    return result;
  } catch (err) {
    logger.warn({ err }, 'demo data could not be created; Gatehouse runs without it');
    return undefined;
  }
}
