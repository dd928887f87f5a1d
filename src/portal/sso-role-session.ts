/**
 * Liveness of a console session an SSO user opened by switching into an SSO role from the user
 * portal (ARCHITECTURE.md "role switch"; reference/ncloud-model.md §2A steps 6-7). The admin API
 * (src/iam/authn/authenticate.ts) and the console pages (src/iam/auth/console-session.ts) both ask
 * here on every request, so the session dies, on every Gatehouse process at once, when:
 * - the role's duration elapses (`switchedRoleExpiresAt`; the session's own deadlines too);
 * - the SSO role is suspended, re-generated or removed (assignment deleted);
 * - the assignment is suspended (setAssignmentStatus also deletes such sessions; checking here
 *   closes the race of a switch running concurrently with the suspension);
 * - the SSO session it came from ends (logout, admin expiry, single-session rule, idle or absolute
 *   expiry) or its user is suspended or has its credentials reset (credential generation).
 * The session-end listener (registerSsoRoleSessionCleanup) deletes the console sessions of an
 * ended SSO session as well; the check here is what makes it sound across processes.
 *
 * Using the console is activity in the SSO session: its idle deadline moves as the portal's own
 * reads move it (a user working an hour in the console is not signed out of the portal by the
 * idle rule), never past its absolute deadline.
 */
import type { Logger } from '../shared/logger.js';
import { IpAllowList } from '../shared/ip.js';
import { onSsoSessionEnd } from '../auth/sso-session.js';
import { Role } from '../iam/roles/role.model.js';
import { endSsoRoleSessions, type ConsoleSessionRecord } from '../iam/sessions/session.service.js';
import { Assignment } from '../sso/assignments/assignment.model.js';
import { SsoUser } from '../sso/users/user.model.js';
import { SsoUserSession } from '../sso/users/user-session.model.js';

/** The SSO session's idle deadline is moved at most this often by console use. */
const SSO_TOUCH_INTERVAL_MS = 30_000;

export interface LiveSsoRoleSession {
  ok: true;
  role: { accountId: number; roleId: string; roleName: string };
  user: { tenantId: string; userId: string; loginId: string };
  /** The SSO session's last authentication used two factors (`ncp:MultiFactorAuthPresent`). */
  mfa: boolean;
}

export type SsoRoleSessionState = LiveSsoRoleSession | { ok: false; reason: 'ended' | 'ipRefused' };

const ended = { ok: false, reason: 'ended' } as const;

export async function checkSsoRoleSession(session: ConsoleSessionRecord, ip: string, now = Date.now()): Promise<SsoRoleSessionState> {
  const { switchedRoleId: roleId, ssoTenantId: tenantId, ssoUserId: userId, ssoSessionId: sessionId } = session;
  if (session.kind !== 'SsoRole' || !roleId || !tenantId || !userId || !sessionId) return ended;
  if (!session.switchedRoleExpiresAt || session.switchedRoleExpiresAt.getTime() <= now) return ended;

  const role = await Role.findOne({ accountId: session.accountId, roleId, roleType: 'SSO' })
    .select('accountId roleId roleName status credentialGeneration ssoAssignmentId')
    .lean();
  if (!role || role.status !== 'active' || role.credentialGeneration !== session.switchedRoleGeneration || !role.ssoAssignmentId) return ended;

  const [assignment, sso, user] = await Promise.all([
    Assignment.findOne({ tenantId, assignmentId: role.ssoAssignmentId }).select('status provisioning').lean(),
    SsoUserSession.findOne({ tenantId, sessionId }).select('userId credentialGeneration acr absoluteExpiresAt lastSeenAt idleTimeoutSec').lean(),
    SsoUser.findOne({ tenantId, userId }).select('loginId status credentialGeneration').lean(),
  ]);
  if (!assignment || assignment.status !== 'ACTIVATED' || assignment.provisioning === 'deleting') return ended;
  if (!sso || sso.userId !== userId || sso.absoluteExpiresAt.getTime() <= now) return ended;
  if (!user || user.status !== 'ACTIVATED' || user.credentialGeneration !== sso.credentialGeneration) return ended;
  if (session.ssoPermitIps.length > 0 && !new IpAllowList(session.ssoPermitIps).allows(ip)) return { ok: false, reason: 'ipRefused' };

  if (now - sso.lastSeenAt.getTime() >= SSO_TOUCH_INTERVAL_MS) {
    const expiresAt = new Date(Math.min(now + sso.idleTimeoutSec * 1000, sso.absoluteExpiresAt.getTime()));
    await SsoUserSession.updateOne({ tenantId, sessionId }, { $set: { lastSeenAt: new Date(now), expiresAt } });
  }
  return {
    ok: true,
    role: { accountId: role.accountId, roleId: role.roleId, roleName: role.roleName },
    user: { tenantId, userId, loginId: user.loginId },
    mfa: sso.acr === 'mfa',
  };
}

let cleanupRegistered = false;

/**
 * Deletes the console role sessions of every SSO session that ends in this process (logout, admin
 * expiry, single-session rule, suspension). Registered once per process, however many apps are
 * created (tests create many).
 */
export function registerSsoRoleSessionCleanup(logger: Logger): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  onSsoSessionEnd(async (e) => {
    const n = await endSsoRoleSessions(e.tenantId, e.sessionId);
    if (n > 0) logger.info({ event: 'portal.roleSessionsEnded', tenantId: e.tenantId, ssoSessionId: e.sessionId, count: n, reason: e.reason }, 'console role sessions ended with their SSO session');
  }, logger);
}

/**
 * The SSO side of STS credentials issued by a portal role switch: the SSO user is still ACTIVATED
 * under the credential generation they were issued for (suspension or an admin's "expire
 * sessions" revokes them, as it does a sub account's), the assignment is still in use, and the
 * caller's address is inside the assignment's API IP ACLs when it was restricted at issue.
 * Unlike the console session, the credentials outlive the portal session (AWS: credentials from
 * the access portal are valid until they expire, whatever happens to the portal sign-in).
 */
export async function checkSsoRoleCredentialSource(
  cred: { ssoTenantId?: string | null; sourceIdentityId?: string | null; sourceIdentityGeneration?: number | null; allowSources?: string[] | null; roleId?: string | null; accountId: number },
  ip: string,
): Promise<'ok' | 'revoked' | 'ipRefused'> {
  const tenantId = cred.ssoTenantId;
  const userId = cred.sourceIdentityId;
  if (!tenantId || !userId || !cred.roleId) return 'revoked';
  const role = await Role.findOne({ accountId: cred.accountId, roleId: cred.roleId, roleType: 'SSO' }).select('ssoAssignmentId').lean();
  if (!role?.ssoAssignmentId) return 'revoked';
  const [user, assignment] = await Promise.all([
    SsoUser.findOne({ tenantId, userId }).select('status credentialGeneration').lean(),
    Assignment.findOne({ tenantId, assignmentId: role.ssoAssignmentId }).select('status provisioning').lean(),
  ]);
  if (!user || user.status !== 'ACTIVATED' || user.credentialGeneration !== (cred.sourceIdentityGeneration ?? 0)) return 'revoked';
  if (!assignment || assignment.status !== 'ACTIVATED' || assignment.provisioning === 'deleting') return 'revoked';
  const allow = cred.allowSources ?? [];
  if (allow.length > 0 && !new IpAllowList(allow).allows(ip)) return 'ipRefused';
  return 'ok';
}
