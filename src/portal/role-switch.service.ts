/**
 * "Switch role" from the user portal (issue 7 "User portal"; ARCHITECTURE.md "role switch";
 * reference/ncloud-model.md §2A steps 6-8): an SSO user picks one of its in-use assignments and
 * becomes the assignment's SSO role in the target account,
 * - for the console: when the assignment and the user's own access rules allow console access
 *   and the client IP (trusted proxies only) is in the assignment's console IP ACLs → a console
 *   session acting as the role (session.service.ts createSsoRoleSession) for the role's duration;
 *   the SSO session records the permission set (§1 "Active sessions": permissionSetId/Name);
 * - for the API: the same with the API flag and API IP ACLs → STS temporary credentials of the
 *   role (sts.service.ts issueSsoRoleStsCredentials), shown once.
 *
 * An assignment the user does not hold (another tenant's, another user's, suspended, being
 * deleted) is answered NOT_FOUND, so an id reveals nothing; one it holds but may not use this way
 * is FORBIDDEN with the reason. Every switch is written to the role account's history.
 */
import { Role } from '../iam/roles/role.model.js';
import { SSO_SESSION_MAX_SEC, SSO_SESSION_MIN_SEC } from '../iam/roles/sso-role.service.js';
import { createSsoRoleSession } from '../iam/sessions/session.service.js';
import { issueSsoRoleStsCredentials, type StsCredentialsView } from '../iam/sts/sts.service.js';
import type { Keyring } from '../db/encryption.js';
import { recordHistory } from '../resources/history/history.service.js';
import { AppError } from '../shared/errors.js';
import { IpAllowList } from '../shared/ip.js';
import type { Logger } from '../shared/logger.js';
import { accessAllowedFrom, resolveUserAccess, type ResolvedAccessType, type ResolvedAssignment } from '../sso/access/resolve-access.js';
import { SsoUser } from '../sso/users/user.model.js';
import { SsoUserSession } from '../sso/users/user-session.model.js';

export type AccessType = 'console' | 'api';

/** History labels in the role's account: the Sub Account actions a switch and an STS issue are. */
export const CONSOLE_SWITCH_EVENT = 'SubAccount:Change/switchRole';
export const API_SWITCH_EVENT = 'SubAccount:View/getStsSessionToken';

export interface SwitchContext {
  tenantId: string;
  /** The live SSO session of the browser (auth/sso-session.ts). */
  ssoSession: { sessionId: string; userId: string; acr: string };
  assignmentId: string;
  /** Client IP through trusted proxies only (src/http/client-ip.ts). */
  sourceIp: string;
  userAgent?: string | undefined;
  requestId: string;
}

interface SwitchTarget {
  assignment: ResolvedAssignment;
  role: { accountId: number; roleId: string; roleName: string; credentialGeneration: number; sessionExpirationSec: number };
  user: { credentialGeneration: number };
}

/** The entries of an access type's IP ACLs when it is restricted; empty when it is not. */
export function permitIpsOf(access: ResolvedAccessType): string[] {
  return access.restricted ? access.ipAcls.flatMap((a) => a.accessIps) : [];
}

/** The role's session duration within the SSO role bounds (sso-role.service.ts). */
function durationOf(role: { sessionExpirationSec: number }): number {
  return Math.min(SSO_SESSION_MAX_SEC, Math.max(SSO_SESSION_MIN_SEC, role.sessionExpirationSec));
}

/** Why an access type of an assignment cannot be used now (the portal words it in the page's language). */
export type SwitchRefusal = 'assignmentDisallows' | 'userDisallows' | 'ipNotInAcls' | 'ipNotAllowedForUser';

/** English text of a refusal (logs, and the error's detail). */
export function refusalText(kind: AccessType, reason: SwitchRefusal, sourceIp: string): string {
  const label = kind === 'console' ? 'console' : 'API';
  switch (reason) {
    case 'assignmentDisallows':
      return `this assignment does not allow ${label} access`;
    case 'userDisallows':
      return `${label} access is not turned on for your user`;
    case 'ipNotInAcls':
      return `${label} access to this role is not allowed from your network address (${sourceIp})`;
    case 'ipNotAllowedForUser':
      return `${label} access is not allowed for your user from your network address (${sourceIp})`;
  }
}

/** A refused switch: FORBIDDEN, with the reason for the page. */
export class SwitchRefusedError extends AppError {
  constructor(
    readonly kind: AccessType,
    readonly reason: SwitchRefusal,
    readonly sourceIp: string,
  ) {
    super('FORBIDDEN', refusalText(kind, reason, sourceIp));
  }
}

/**
 * Why an assignment cannot be used this way from this address, or undefined when it can. The
 * portal shows the buttons with this, and the switch refuses with it.
 */
export function refusalOf(
  kind: AccessType,
  a: ResolvedAssignment,
  user: { accessRules?: { consoleAccessAllowed?: boolean | null; apiAccessAllowed?: boolean | null } | null; consolePermitIps?: string[] | null; useApiAllowSource?: boolean | null; apiAllowSources?: string[] | null },
  sourceIp: string,
): SwitchRefusal | undefined {
  const access = kind === 'console' ? a.console : a.api;
  if (!access.allowed) return 'assignmentDisallows';
  // Ncloud user accessRules: console on by default, API off until an admin turns it on.
  if (kind === 'console' && user.accessRules?.consoleAccessAllowed === false) return 'userDisallows';
  if (kind === 'api' && user.accessRules?.apiAccessAllowed !== true) return 'userDisallows';
  if (!accessAllowedFrom(access, sourceIp)) return 'ipNotInAcls';
  // The user's own allowed source IPs (manageUserAllowSourceSetting), shaped like a sub account's.
  if (kind === 'console' && (user.consolePermitIps?.length ?? 0) > 0 && !new IpAllowList(user.consolePermitIps ?? []).allows(sourceIp)) return 'ipNotAllowedForUser';
  if (kind === 'api' && user.useApiAllowSource === true && !new IpAllowList(user.apiAllowSources ?? []).allows(sourceIp)) return 'ipNotAllowedForUser';
  return undefined;
}

async function resolveTarget(kind: AccessType, ctx: SwitchContext): Promise<SwitchTarget> {
  const { tenantId } = ctx;
  const userId = ctx.ssoSession.userId;
  const [access, user] = await Promise.all([
    resolveUserAccess(tenantId, userId),
    SsoUser.findOne({ tenantId, userId }).select('status credentialGeneration accessRules consolePermitIps useApiAllowSource apiAllowSources').lean(),
  ]);
  if (!access || !user || user.status !== 'ACTIVATED') throw new AppError('UNAUTHENTICATED', 'your session has ended; sign in again');
  const assignment = access.assignments.find((a) => a.assignmentId === ctx.assignmentId);
  if (!assignment) throw new AppError('NOT_FOUND', 'you hold no assignment with this id');
  const refusal = refusalOf(kind, assignment, user, ctx.sourceIp);
  if (refusal) throw new SwitchRefusedError(kind, refusal, ctx.sourceIp);
  const role = await Role.findOne({ accountId: assignment.accountMemberNo, roleId: assignment.role.roleId, roleType: 'SSO' })
    .select('accountId roleId roleName status credentialGeneration sessionExpirationSec')
    .lean();
  // The role is being provisioned or removed (resolveUserAccess lists `syncing` ones): not now.
  if (!role) throw new AppError('CONFLICT', 'the role of this assignment is being provisioned; try again in a moment');
  if (role.status !== 'active') throw new AppError('FORBIDDEN', 'the role of this assignment is suspended');
  return { assignment, role, user };
}

async function audit(action: string, target: SwitchTarget, ctx: SwitchContext, via: 'console' | 'sts', logger: Logger): Promise<void> {
  const { role } = target;
  await Role.updateOne({ accountId: role.accountId, roleId: role.roleId }, { $set: { lastUseTime: new Date() } });
  await recordHistory(
    {
      accountId: role.accountId,
      action,
      nrn: target.assignment.role.roleNrn,
      result: 'success',
      actor: { kind: 'Role', id: role.roleId, name: role.roleName, via, sourceIdentityId: ctx.ssoSession.userId },
      sourceIp: ctx.sourceIp,
      requestId: ctx.requestId,
      tenantId: ctx.tenantId,
    },
    logger,
  );
}

export interface ConsoleSwitchResult {
  /** The console session token for the console cookie. */
  token: string;
  roleNrn: string;
  expiresAt: Date;
}

export async function switchToConsole(ctx: SwitchContext, deps: { logger: Logger }): Promise<ConsoleSwitchResult> {
  const target = await resolveTarget('console', ctx);
  const { assignment, role } = target;
  const { token, session } = await createSsoRoleSession({
    accountId: role.accountId,
    roleId: role.roleId,
    roleGeneration: role.credentialGeneration,
    durationSec: durationOf(role),
    ssoTenantId: ctx.tenantId,
    ssoUserId: ctx.ssoSession.userId,
    ssoSessionId: ctx.ssoSession.sessionId,
    permitIps: permitIpsOf(assignment.console),
    mfa: ctx.ssoSession.acr === 'mfa',
    sourceIp: ctx.sourceIp,
    userAgent: ctx.userAgent,
  });
  // Reference §2A step 7: "the session records the permission set" (shown in the admin's session list).
  await SsoUserSession.updateOne(
    { tenantId: ctx.tenantId, sessionId: ctx.ssoSession.sessionId },
    { $set: { permissionSetId: assignment.permissionSet.permissionSetId, permissionSetName: assignment.permissionSet.permissionSetName } },
  );
  await audit(CONSOLE_SWITCH_EVENT, target, ctx, 'console', deps.logger);
  return { token, roleNrn: assignment.role.roleNrn, expiresAt: session.absoluteExpiresAt };
}

export interface ApiSwitchResult extends StsCredentialsView {
  roleNrn: string;
  accountMemberNo: number;
  permissionSetName: string | null;
}

export async function switchToApi(ctx: SwitchContext, deps: { keyring: Keyring; logger: Logger }): Promise<ApiSwitchResult> {
  const target = await resolveTarget('api', ctx);
  const { assignment, role, user } = target;
  const issued = await issueSsoRoleStsCredentials(
    {
      accountId: role.accountId,
      roleId: role.roleId,
      roleGeneration: role.credentialGeneration,
      ssoTenantId: ctx.tenantId,
      ssoUserId: ctx.ssoSession.userId,
      ssoUserGeneration: user.credentialGeneration,
      durationSec: durationOf(role),
      allowSources: permitIpsOf(assignment.api),
      useMfa: ctx.ssoSession.acr === 'mfa',
    },
    deps,
  );
  await audit(API_SWITCH_EVENT, target, ctx, 'sts', deps.logger);
  return { ...issued, roleNrn: assignment.role.roleNrn, accountMemberNo: assignment.accountMemberNo, permissionSetName: assignment.permissionSet.permissionSetName };
}
