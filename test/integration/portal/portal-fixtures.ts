/**
 * Portal test fixtures: a tenant, SSO users, and sessions made directly (the login pages are the
 * sign-in module's); permission sets, assignments and IP ACLs through the admin API with the
 * root key, as an administrator makes them.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type request from 'supertest';
import { createSsoSession, ssoSessionCookieName, ssoSessionCsrfToken } from '../../../src/auth/sso-session.js';
import type { Config } from '../../../src/config.js';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import type { Signer } from '../../helpers/admin.js';

export const BASE_URL = 'http://gatehouse.test';
export const ORIGIN = BASE_URL;

export async function createTenant(accountId: number, alias: string): Promise<string> {
  const tenantId = randomUUID();
  await Tenant.create({ accountId, tenantId, tenantAlias: alias, aliasKey: alias, termsAcceptedAt: new Date() });
  return tenantId;
}

export async function createUser(
  accountId: number,
  tenantId: string,
  opts: { api?: boolean; console?: boolean; firstName?: string } = {},
): Promise<{ userId: string; loginId: string }> {
  const userId = randomUUID();
  const loginId = `${userId.slice(0, 8)}@example.com`;
  await SsoUser.create({
    accountId,
    tenantId,
    userId,
    loginId,
    loginIdKey: loginId,
    userProfile: { firstName: opts.firstName ?? '', email: loginId },
    accessRules: { consoleAccessAllowed: opts.console ?? true, apiAccessAllowed: opts.api ?? true },
  });
  return { userId, loginId };
}

export interface TestSession {
  cookie: string;
  sessionId: string;
  tenantId: string;
  csrf: string;
}

/** A live SSO session of the user, as the sign-in pipeline makes it; `authAgeSec` backdates its authentication. */
export async function signedIn(
  config: Pick<Config, 'baseUrl'>,
  accountId: number,
  tenantId: string,
  userId: string,
  opts: { authAgeSec?: number; acr?: 'pwd' | 'mfa' } = {},
): Promise<TestSession> {
  const acr = opts.acr ?? 'pwd';
  const { token, session } = await createSsoSession({
    accountId,
    tenantId,
    userId,
    credentialGeneration: (await SsoUser.findOne({ tenantId, userId }).orFail().lean()).credentialGeneration,
    amr: acr === 'mfa' ? ['pwd', 'otp', 'mfa'] : ['pwd'],
    acr,
    idleTimeoutSec: 3600,
    clientIp: '127.0.0.1',
  });
  if (opts.authAgeSec) await SsoUserSession.updateOne({ tenantId, sessionId: session.sessionId }, { $set: { authTime: new Date(Date.now() - opts.authAgeSec * 1000) } });
  return {
    cookie: `${ssoSessionCookieName(config, tenantId)}=${token}`,
    sessionId: session.sessionId,
    tenantId,
    csrf: ssoSessionCsrfToken(session),
  };
}

/** A user-created policy of the account, stored directly (its API has its own tests). */
export async function userPolicy(accountId: number, name: string, document: unknown): Promise<string> {
  const policyId = randomUUID();
  await Policy.create({ accountId, policyId, name, nameKey: name.toLowerCase(), document });
  return policyId;
}

export async function createIpAcl(root: Signer, name: string, accessIps: string[]): Promise<string> {
  const res = await root.call('post', `${SSO_API_PREFIX}/ip-acls`, { ipAclName: name, accessIps }).expect(201);
  return res.body.ipAclId as string;
}

export async function createPermissionSet(root: Signer, name: string, body: Record<string, unknown>): Promise<string> {
  const res = await root.call('post', `${SSO_API_PREFIX}/permission-sets`, { permissionSetName: name, ...body }).expect(201);
  return res.body.permissionSetId as string;
}

export async function createAssignment(
  root: Signer,
  body: Record<string, unknown>,
  userIds: string[],
): Promise<{ assignmentId: string; roleId: string; roleNrn: string }> {
  const res = await root.call('post', `${SSO_API_PREFIX}/assignments`, body).expect(201);
  const a = res.body as { assignmentId: string; roleId: string; roleNrn: string };
  if (userIds.length) await root.call('post', `${SSO_API_PREFIX}/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: userIds }).expect(200);
  return a;
}

/** The value of an element with this id in a page (`id="x" ...>value<`). */
export function textOf(html: string, id: string): string {
  const m = new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(html);
  expect(m, `element #${id} in the page`).to.not.equal(null);
  return m![1]!;
}

/** The console cookie a response set (`gh_console=...`), for the next requests. */
export function consoleCookieOf(res: request.Response): string {
  const set = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const c = set.find((x) => x.startsWith('gh_console='));
  expect(c, 'the console session cookie').to.not.equal(undefined);
  return c!.split(';')[0]!;
}
