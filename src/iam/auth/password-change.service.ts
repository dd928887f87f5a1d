/**
 * Changing one's own password from the console (`/console/password`): required before anything
 * else when the password was reset by an admin (`needPasswordReset`), generated at bootstrap
 * (root), or is older than the account's `settings.passwordExpiryDays` (reference/ncloud-model.md
 * §3 "Account-wide settings"); available at any time otherwise.
 *
 * The current password is asked again (a stolen session alone cannot change it), and wrong
 * answers count against the identity's lockout like failed sign-ins. A change moves the
 * credential generation: every other session of the identity, and a sub account's STS
 * credentials, end at once; the current session is replaced by a new one (new token).
 */
import { AppError } from '../../shared/errors.js';
import { hashPassword, verifyPassword } from '../../shared/password-hash.js';
import { Account } from '../accounts/account.model.js';
import { createSession, endRootSessions, endSubAccountSessions, type ConsoleSessionRecord } from '../sessions/session.service.js';
import { SubAccount } from '../sub-accounts/sub-account.model.js';
import { IDENTITY_RULE, identityThrottleKey, isThrottled, recordFailure } from './login-throttle.js';

export interface PasswordChangeInput {
  currentPassword: string;
  /** Already validated (length rules of sub-account.schemas.ts `passwordSchema`). */
  newPassword: string;
  ip: string;
  userAgent?: string | undefined;
}

export type PasswordChangeOutcome =
  | { outcome: 'changed'; token: string; session: ConsoleSessionRecord }
  /** Wrong current password, or the identity is locked out: the same answer. */
  | { outcome: 'wrongPassword' }
  | { outcome: 'samePassword' }
  /** The session's identity changed meanwhile (another change, a reset, a suspension): sign in again. */
  | { outcome: 'sessionEnded' };

export async function changeOwnPassword(session: ConsoleSessionRecord, input: PasswordChangeInput): Promise<PasswordChangeOutcome> {
  // An SSO user switched into a role (src/portal) has no console password: theirs is the tenant's.
  if (session.kind === 'SsoRole') throw new AppError('FORBIDDEN', 'an SSO role session has no console password; change your password in the user portal');
  const accountId = session.accountId;
  const stored =
    session.kind === 'Root'
      ? await Account.findOne({ memberNo: accountId }).select('+rootPasswordHash rootLoginId rootCredentialGeneration').lean()
      : await SubAccount.findOne({ accountId, subAccountId: session.subAccountId ?? '' })
          .select('+passwordHash loginId credentialGeneration')
          .lean();
  if (!stored) return { outcome: 'sessionEnded' };
  const { loginId, hash, generation } =
    'rootLoginId' in stored
      ? { loginId: stored.rootLoginId, hash: stored.rootPasswordHash, generation: stored.rootCredentialGeneration }
      : { loginId: stored.loginId, hash: stored.passwordHash, generation: stored.credentialGeneration };
  if (generation !== session.credentialGeneration) return { outcome: 'sessionEnded' };

  const identityKey = identityThrottleKey(session.kind === 'Root' ? { kind: 'Root', loginId } : { kind: 'SubAccount', accountId, loginId });
  const locked = await isThrottled(identityKey);
  const ok = await verifyPassword(hash, input.currentPassword);
  if (!ok || locked) {
    if (!locked) await recordFailure(identityKey, IDENTITY_RULE);
    return { outcome: 'wrongPassword' };
  }
  if (input.newPassword === input.currentPassword) return { outcome: 'samePassword' };

  const newHash = await hashPassword(input.newPassword);
  const now = new Date();
  let newGeneration: number;
  if (session.kind === 'Root') {
    const updated = await Account.findOneAndUpdate(
      { memberNo: accountId, rootCredentialGeneration: generation },
      {
        $set: { rootPasswordHash: newHash, rootPasswordGenerated: false, rootPasswordChangedAt: now },
        $inc: { rootCredentialGeneration: 1 },
      },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) return { outcome: 'sessionEnded' };
    newGeneration = updated.rootCredentialGeneration;
    await endRootSessions(accountId);
  } else {
    const subAccountId = session.subAccountId ?? '';
    const updated = await SubAccount.findOneAndUpdate(
      { accountId, subAccountId, credentialGeneration: generation },
      { $set: { passwordHash: newHash, needPasswordReset: false, passwordChangedAt: now }, $inc: { credentialGeneration: 1 } },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) return { outcome: 'sessionEnded' };
    newGeneration = updated.credentialGeneration;
    await endSubAccountSessions(accountId, subAccountId);
  }

  const { token, session: replacement } = await createSession({
    accountId,
    kind: session.kind,
    subAccountId: session.subAccountId ?? null,
    credentialGeneration: newGeneration,
    mfa: session.mfa,
    mustChangePassword: false,
    idleTimeoutSec: session.idleTimeoutSec,
    sourceIp: input.ip,
    ...(input.userAgent ? { userAgent: input.userAgent } : {}),
  });
  return { outcome: 'changed', token, session: replacement };
}

/** Guard for callers that must not run while a password change is pending. */
export function assertNoPendingPasswordChange(session: { mustChangePassword: boolean } | undefined): void {
  if (session?.mustChangePassword) throw new AppError('FORBIDDEN', 'the password must be changed before anything else');
}
