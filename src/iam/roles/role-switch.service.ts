/**
 * Switch role and "return to sub account" (seed S1 Change/switchRole; reference/ncloud-model.md
 * §3 "Roles"): a sub account signed in to the console switches its session into an active account
 * role that lists the sub account's account as a target; while switched, authenticate() resolves
 * the session to the role (`ncp:principalType = IamRole`, `ncp:sourceIdentityId` = the sub
 * account) and role management is refused until the session returns. "Role switching is
 * available only to sub accounts": the main account and API callers are refused.
 */
import { AppError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { recordHistory } from '../../resources/history/history.service.js';
import { actorOf, type AdminPrincipal } from '../principal.js';
import { buildRoleNrn } from '../nrn.js';
import { returnSessionFromRole, switchSessionToRole, type ConsoleSessionRecord } from '../sessions/session.service.js';
import { DEFAULT_ROLE_SESSION_SEC, Role } from './role.model.js';
import type { StoredRole } from './role.service.js';

/**
 * The role a caller may see for switching: one of its own account, or a foreign account's role
 * that lists the caller's account as a target. Anything else is reported as not existing, so a
 * role id of an unrelated account reveals nothing.
 */
export async function findSwitchableRole(callerAccountId: number, roleId: string): Promise<StoredRole | null> {
  // Unscoped on purpose: account roles are switched into from other accounts; role ids are global.
  const role = await Role.findOne({ roleId }).setOptions({ unscoped: true }).lean<StoredRole>();
  if (!role) return null;
  if (role.accountId !== callerAccountId && !role.targetAccounts.includes(callerAccountId)) return null;
  return role;
}

export interface SwitchedRoleView {
  roleId: string;
  roleName: string;
  nrn: string;
  /** Member number of the account that owns the role (where the switched session now acts). */
  accountId: number;
  sourceIdentityId: string;
  expiresAt: string;
}

export function assertConsoleSubAccount(principal: AdminPrincipal, session: ConsoleSessionRecord | undefined): asserts session is ConsoleSessionRecord {
  if (principal.kind === 'Root') {
    throw new AppError('FORBIDDEN', 'role switching is available only to sub accounts; the main account already holds every permission');
  }
  if (principal.via !== 'console' || !session) {
    throw new AppError('FORBIDDEN', 'role switching is a console action: sign in to the console as the sub account (access keys and temporary credentials cannot switch roles)');
  }
}

export interface SwitchAudit {
  logger: Logger;
  sourceIp: string;
  requestId: string;
}

/**
 * The role owner sees its roles being used (AWS CloudTrail logs a cross-account switch in both
 * accounts); the caller's account already gets the route's own audit event.
 */
async function auditInOwnerAccount(role: StoredRole, callerAccountId: number, action: string, principal: AdminPrincipal, audit: SwitchAudit): Promise<void> {
  if (role.accountId === callerAccountId) return;
  await recordHistory(
    { accountId: role.accountId, action, nrn: buildRoleNrn(role.accountId, role.roleId), result: 'success', actor: actorOf(principal), sourceIp: audit.sourceIp, requestId: audit.requestId },
    audit.logger,
  );
}

export async function switchRole(
  principal: AdminPrincipal,
  session: ConsoleSessionRecord | undefined,
  callerAccountId: number,
  roleId: string,
  role: StoredRole | undefined,
  audit: SwitchAudit,
): Promise<SwitchedRoleView> {
  assertConsoleSubAccount(principal, session);
  if (principal.kind !== 'SubAccount') throw new AppError('FORBIDDEN', 'return to the sub account before switching into another role');
  if (!role) throw new AppError('NOT_FOUND', `role ${roleId} does not exist`);
  if (role.roleType !== 'Account') {
    throw new AppError('BAD_REQUEST', `role ${roleId} is a ${role.roleType} role; only account roles can be switched into (SSO roles: through the Single Sign-On portal)`);
  }
  if (role.status !== 'active') throw new AppError('FORBIDDEN', `role ${roleId} is suspended`);
  if (!role.targetAccounts.includes(callerAccountId)) {
    throw new AppError('FORBIDDEN', `role ${roleId} does not list account ${callerAccountId} as a target account`);
  }
  const now = Date.now();
  const expiresAt = new Date(now + (role.sessionExpirationSec ?? DEFAULT_ROLE_SESSION_SEC) * 1000);
  // The generation read here goes into the session: a suspension racing with this switch moves
  // the role's generation past it, and authenticate() refuses the session.
  const switched = await switchSessionToRole(session.accountId, session.tokenHash, { roleId: role.roleId, generation: role.credentialGeneration, expiresAt });
  if (!switched) throw new AppError('UNAUTHENTICATED', 'the session has ended; sign in again');
  await Role.updateOne({ accountId: role.accountId, roleId: role.roleId }, { $set: { lastUseTime: new Date(now) } });
  await auditInOwnerAccount(role, callerAccountId, 'SubAccount:Change/switchRole', principal, audit);
  return {
    roleId: role.roleId,
    roleName: role.roleName,
    nrn: buildRoleNrn(role.accountId, role.roleId),
    accountId: role.accountId,
    sourceIdentityId: principal.subAccountId,
    expiresAt: expiresAt.toISOString(),
  };
}

/** Audit label of "return to sub account": not a catalog action (it is not gated), like AWS CloudTrail's ExitRole. */
export const RETURN_TO_SUB_ACCOUNT_EVENT = 'SubAccount:returnToSubAccount';

export interface ReturnedView {
  subAccountId: string;
  /** The role the session left; null when it was not switched (returning is idempotent). */
  returnedFrom: { roleId: string; nrn: string } | null;
}

/**
 * "Return to sub account". Only a console session can be switched, so only a console session can
 * return; returning only takes permissions away, so no policy gates it (a role rarely holds
 * Change/switchRole, and gating the way back by the role's policies could trap the session in
 * the role until it expires).
 */
export async function returnToSubAccount(principal: AdminPrincipal, session: ConsoleSessionRecord | undefined, audit: SwitchAudit): Promise<ReturnedView> {
  assertConsoleSubAccount(principal, session);
  // An SSO user's role session (src/portal) has no sub account to return to: it signs out instead.
  if (session.kind === 'SsoRole') throw new AppError('FORBIDDEN', 'an SSO role session has no sub account to return to; sign out, or switch role again from the user portal');
  const subAccountId = session.subAccountId ?? '';
  if (principal.kind !== 'Role') return { subAccountId, returnedFrom: null };
  const returned = await returnSessionFromRole(session.accountId, session.tokenHash);
  if (!returned) throw new AppError('UNAUTHENTICATED', 'the session has ended; sign in again');
  const event = {
    action: RETURN_TO_SUB_ACCOUNT_EVENT,
    nrn: principal.roleNrn,
    result: 'success' as const,
    actor: actorOf(principal),
    sourceIp: audit.sourceIp,
    requestId: audit.requestId,
  };
  await recordHistory({ ...event, accountId: session.accountId }, audit.logger);
  if (principal.accountId !== session.accountId) await recordHistory({ ...event, accountId: principal.accountId }, audit.logger);
  return { subAccountId, returnedFrom: { roleId: principal.roleId, nrn: principal.roleNrn } };
}
