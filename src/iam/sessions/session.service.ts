/**
 * Console sessions: created at login with a fresh random token (a new id at every login, ASVS
 * 3.2.1), looked up by the token's hash, moved forward on use (idle expiry), ended at logout,
 * and ended in bulk when a sub account is suspended or its password is reset.
 */
import { randomBytes } from 'node:crypto';
import { hashToken } from '../../shared/tokens.js';
import { ConsoleSession, type ConsoleSessionDoc } from './console-session.model.js';

export const ABSOLUTE_SESSION_SEC = 12 * 3600;
/** Idle expiry is refreshed at most this often, to keep reads from turning into writes. */
const TOUCH_INTERVAL_MS = 60_000;

export { hashToken };

export interface NewSession {
  accountId: number;
  kind: 'Root' | 'SubAccount';
  subAccountId?: string | null;
  credentialGeneration: number;
  mfa: boolean;
  mustChangePassword: boolean;
  idleTimeoutSec: number;
  sourceIp: string;
  userAgent?: string;
}

export type ConsoleSessionRecord = ConsoleSessionDoc & { _id: unknown };

export async function createSession(input: NewSession): Promise<{ token: string; session: ConsoleSessionRecord }> {
  const token = randomBytes(32).toString('base64url');
  const now = Date.now();
  const doc = await ConsoleSession.create({
    accountId: input.accountId,
    tokenHash: hashToken(token),
    csrfToken: randomBytes(24).toString('base64url'),
    kind: input.kind,
    subAccountId: input.subAccountId ?? null,
    credentialGeneration: input.credentialGeneration,
    mfa: input.mfa,
    mustChangePassword: input.mustChangePassword,
    idleTimeoutSec: input.idleTimeoutSec,
    absoluteExpiresAt: new Date(now + ABSOLUTE_SESSION_SEC * 1000),
    lastSeenAt: new Date(now),
    sourceIp: input.sourceIp,
    userAgent: input.userAgent?.slice(0, 256) ?? null,
    expiresAt: new Date(now + input.idleTimeoutSec * 1000),
  });
  return { token, session: doc.toObject() as ConsoleSessionRecord };
}

/** The live session for a cookie token, or null (unknown, idle-expired or past its absolute life). */
export async function findSession(token: string): Promise<ConsoleSessionRecord | null> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
  // Deliberately unscoped: the token is the only key a browser presents.
  const s = await ConsoleSession.findOne({ tokenHash: hashToken(token) }).setOptions({ unscoped: true }).lean<ConsoleSessionRecord>();
  if (!s || s.absoluteExpiresAt.getTime() <= Date.now()) return null;
  return s;
}

export async function touchSession(s: ConsoleSessionRecord): Promise<void> {
  const now = Date.now();
  if (now - s.lastSeenAt.getTime() < TOUCH_INTERVAL_MS) return;
  const expiresAt = new Date(Math.min(now + s.idleTimeoutSec * 1000, s.absoluteExpiresAt.getTime()));
  await ConsoleSession.updateOne({ accountId: s.accountId, tokenHash: s.tokenHash }, { $set: { lastSeenAt: new Date(now), expiresAt } });
}

export async function endSession(accountId: number, tokenHash: string): Promise<void> {
  await ConsoleSession.deleteOne({ accountId, tokenHash });
}

/** Ends every console session of a sub account (suspension, password reset, deletion). */
export async function endSubAccountSessions(accountId: number, subAccountId: string): Promise<number> {
  const res = await ConsoleSession.deleteMany({ accountId, subAccountId });
  return res.deletedCount;
}

/** Ends every console session of an account's root identity (root password change). */
export async function endRootSessions(accountId: number): Promise<number> {
  const res = await ConsoleSession.deleteMany({ accountId, kind: 'Root' });
  return res.deletedCount;
}

/**
 * Logs out everyone switched into a role (Ncloud: disabling a role logs out switched users).
 * Unscoped on purpose: account roles are switched into from other accounts' sessions; role ids
 * are globally unique.
 */
export async function endRoleSessions(roleId: string): Promise<number> {
  const res = await ConsoleSession.deleteMany({ switchedRoleId: roleId }).setOptions({ unscoped: true });
  return res.deletedCount;
}

/**
 * Switches a sub account's console session into a role (Sub Account "switch role", reference §3):
 * from now on authenticate() resolves the session to the role while the role's generation,
 * status and `expiresAt` hold. Returns false when the session is gone.
 */
export async function switchSessionToRole(
  accountId: number,
  tokenHash: string,
  role: { roleId: string; generation: number; expiresAt: Date },
): Promise<boolean> {
  const res = await ConsoleSession.updateOne(
    { accountId, tokenHash, kind: 'SubAccount' },
    { $set: { switchedRoleId: role.roleId, switchedRoleGeneration: role.generation, switchedRoleExpiresAt: role.expiresAt } },
  );
  return res.matchedCount === 1;
}

/** "Return to sub account": the session acts as its sub account again. Returns false when the session is gone. */
export async function returnSessionFromRole(accountId: number, tokenHash: string): Promise<boolean> {
  const res = await ConsoleSession.updateOne({ accountId, tokenHash }, { $set: { switchedRoleId: null, switchedRoleGeneration: 0, switchedRoleExpiresAt: null } });
  return res.matchedCount === 1;
}

export interface NewSsoRoleSession {
  /** The account that owns the SSO role (the assignment's target account). */
  accountId: number;
  roleId: string;
  roleGeneration: number;
  /** The role's session duration: the console session lives exactly this long, whatever its use. */
  durationSec: number;
  ssoTenantId: string;
  ssoUserId: string;
  ssoSessionId: string;
  /** The assignment's console IP ACL entries (empty: unrestricted), checked on every request. */
  permitIps: string[];
  mfa: boolean;
  sourceIp: string;
  userAgent?: string | undefined;
}

/**
 * A console session for an SSO user switched into an SSO role from the user portal
 * (ARCHITECTURE.md "role switch"). Its idle and absolute deadlines are both the role's duration
 * (AWS IAM Identity Center: a permission set's SessionDuration is the console session's life),
 * and authenticate() additionally requires the originating SSO session to be live.
 */
export async function createSsoRoleSession(input: NewSsoRoleSession): Promise<{ token: string; session: ConsoleSessionRecord }> {
  const token = randomBytes(32).toString('base64url');
  const now = Date.now();
  const end = new Date(now + input.durationSec * 1000);
  const doc = await ConsoleSession.create({
    accountId: input.accountId,
    tokenHash: hashToken(token),
    csrfToken: randomBytes(24).toString('base64url'),
    kind: 'SsoRole',
    subAccountId: null,
    credentialGeneration: 0,
    switchedRoleId: input.roleId,
    switchedRoleGeneration: input.roleGeneration,
    switchedRoleExpiresAt: end,
    ssoTenantId: input.ssoTenantId,
    ssoUserId: input.ssoUserId,
    ssoSessionId: input.ssoSessionId,
    ssoPermitIps: input.permitIps,
    mfa: input.mfa,
    mustChangePassword: false,
    idleTimeoutSec: input.durationSec,
    absoluteExpiresAt: end,
    lastSeenAt: new Date(now),
    sourceIp: input.sourceIp,
    userAgent: input.userAgent?.slice(0, 256) ?? null,
    expiresAt: end,
  });
  return { token, session: doc.toObject() as ConsoleSessionRecord };
}

/**
 * Ends the console role sessions opened from one SSO session (its logout or expiry). Unscoped on
 * purpose: they live in the roles' accounts, which may be other accounts of the organization;
 * the SSO session id (a UUID) is the key.
 */
export async function endSsoRoleSessions(ssoTenantId: string, ssoSessionId: string): Promise<number> {
  const res = await ConsoleSession.deleteMany({ kind: 'SsoRole', ssoTenantId, ssoSessionId }).setOptions({ unscoped: true });
  return res.deletedCount;
}
