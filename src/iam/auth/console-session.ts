/**
 * The signed-in identity behind a console page request: the session cookie's token must name a
 * live session (idle and absolute expiry, session.service.ts), issued under the identity's
 * current credential generation (suspension, password reset or change end it), and a sub
 * account must still be allowed to use the console from this address (console-access.ts).
 * The admin API makes the same checks in authn/authenticate.ts.
 */
import { Account } from '../accounts/account.model.js';
import { endSession, findSession, touchSession, type ConsoleSessionRecord } from '../sessions/session.service.js';
import { SubAccount } from '../sub-accounts/sub-account.model.js';
import { subAccountConsoleRefusal, type ConsoleRefusal } from './console-access.js';
import { checkSsoRoleSession } from '../../portal/sso-role-session.js';

export type ConsoleIdentity =
  | { kind: 'Root'; accountId: number; accountName: string; loginId: string }
  | { kind: 'SubAccount'; accountId: number; accountName: string; subAccountId: string; loginId: string; name: string }
  /** An SSO user switched into an SSO role from the user portal (src/portal/sso-role-session.ts). */
  | { kind: 'SsoRole'; accountId: number; accountName: string; roleId: string; roleName: string; loginId: string; ssoUserId: string };

export type ConsoleSessionState =
  | { state: 'signedOut' }
  | { state: 'refused'; reason: ConsoleRefusal }
  | { state: 'signedIn'; session: ConsoleSessionRecord; identity: ConsoleIdentity };

export async function resolveConsoleSession(token: string | undefined, ip: string): Promise<ConsoleSessionState> {
  if (!token) return { state: 'signedOut' };
  const session = await findSession(token);
  if (!session) return { state: 'signedOut' };
  const ended = async (): Promise<ConsoleSessionState> => {
    await endSession(session.accountId, session.tokenHash);
    return { state: 'signedOut' };
  };

  const acc = await Account.findOne({ memberNo: session.accountId })
    .select('name rootLoginId rootCredentialGeneration settings.consoleAccessIps')
    .lean();
  if (!acc) return ended();
  let identity: ConsoleIdentity;
  if (session.kind === 'SsoRole') {
    const live = await checkSsoRoleSession(session, ip);
    if (!live.ok && live.reason === 'ipRefused') return { state: 'refused', reason: 'consolePermitIps' };
    if (!live.ok) return ended();
    identity = { kind: 'SsoRole', accountId: acc.memberNo, accountName: acc.name, roleId: live.role.roleId, roleName: live.role.roleName, loginId: live.user.loginId, ssoUserId: live.user.userId };
  } else if (session.kind === 'Root') {
    if (acc.rootCredentialGeneration !== session.credentialGeneration) return ended();
    identity = { kind: 'Root', accountId: acc.memberNo, accountName: acc.name, loginId: acc.rootLoginId };
  } else {
    const sub = await SubAccount.findOne({ accountId: session.accountId, subAccountId: session.subAccountId ?? '' })
      .select('subAccountId loginId name status canConsoleAccess consolePermitIps credentialGeneration')
      .lean();
    if (!sub || sub.credentialGeneration !== session.credentialGeneration || sub.status !== 'active') return ended();
    const refusal = subAccountConsoleRefusal(sub, acc.settings?.consoleAccessIps ?? [], ip);
    if (refusal) return { state: 'refused', reason: refusal };
    identity = {
      kind: 'SubAccount',
      accountId: acc.memberNo,
      accountName: acc.name,
      subAccountId: sub.subAccountId,
      loginId: sub.loginId,
      name: sub.name,
    };
  }
  await touchSession(session);
  return { state: 'signedIn', session, identity };
}
