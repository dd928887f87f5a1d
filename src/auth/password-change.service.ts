/**
 * A signed-in user changes their own password (issue 7 "password change"; the portal's profile
 * page calls this). The current password is verified with argon2id first (a stolen session alone
 * cannot take over the account), failures are counted per user in the shared throttle
 * (src/iam/auth/login-throttle.ts: 5 in 15 minutes lock the form for 15 minutes), the new one is
 * checked against the tenant's policy and hashed over its NFKC form.
 *
 * On success the user's credential generation moves, which kills every session and role
 * credential issued before; the session the change was made from (`keepSessionId`) is carried
 * into the new generation, and all the user's OTHER sessions are ended (ASVS 3.3.3, Keycloak's
 * "sign out other devices"). The write is a compare-and-set on the generation read, so a
 * concurrent reset or suspension is never overwritten.
 */
import { AppError } from '../shared/errors.js';
import { clearFailures, IDENTITY_RULE, isThrottled, recordFailure } from '../iam/auth/login-throttle.js';
import { getLoginSettings } from '../sso/tenant/tenant.service.js';
import { SsoUserSession } from '../sso/users/user-session.model.js';
import { SsoUser } from '../sso/users/user.model.js';
import { checkPasswordPolicy, hashUserPassword, verifyUserPassword, type PasswordPolicyReason } from './password-policy.js';
import { endUserSsoSessions } from './sso-session.js';

export type ChangeOwnPasswordResult =
  | { ok: true; endedSessions: number }
  /** The current password is wrong, or the user has none (federated users change it at their IdP). */
  | { ok: false; field: 'currentPassword'; error: 'wrongPassword' | 'throttled' }
  | { ok: false; field: 'newPassword'; error: 'policy'; reasons: PasswordPolicyReason[]; minLength: number };

export interface ChangeOwnPasswordOptions {
  /** The session the change is made from: kept alive; every other session of the user ends. */
  keepSessionId?: string | undefined;
}

function throttleKey(tenantId: string, userId: string): string {
  return `ssoPasswordChange:${tenantId}:${userId}`;
}

export async function changeOwnPassword(
  tenantId: string,
  userId: string,
  current: string,
  next: string,
  options: ChangeOwnPasswordOptions = {},
): Promise<ChangeOwnPasswordResult> {
  const key = throttleKey(tenantId, userId);
  if (await isThrottled(key)) return { ok: false, field: 'currentPassword', error: 'throttled' };

  const user = await SsoUser.findOne({ tenantId, userId }).select('+passwordHash').lean();
  if (!user || user.status !== 'ACTIVATED') throw new AppError('NOT_FOUND', `user ${userId} does not exist`);
  if (!user.passwordHash || !(await verifyUserPassword(user.passwordHash, current))) {
    const { locked } = await recordFailure(key, IDENTITY_RULE);
    return { ok: false, field: 'currentPassword', error: locked ? 'throttled' : 'wrongPassword' };
  }

  const minLength = (await getLoginSettings(tenantId))?.passwordMinLength ?? 12;
  const p = user.userProfile;
  const policy = checkPasswordPolicy(next, { minLength, context: [user.loginId, p?.email, p?.firstName, p?.lastName] });
  if (!policy.ok) return { ok: false, field: 'newPassword', error: 'policy', reasons: policy.reasons, minLength };

  const passwordHash = await hashUserPassword(next);
  const updated = await SsoUser.findOneAndUpdate(
    { tenantId, userId, status: 'ACTIVATED', credentialGeneration: user.credentialGeneration },
    { $set: { passwordHash, needPasswordReset: false, passwordChangedAt: new Date() }, $inc: { credentialGeneration: 1 } },
    { returnDocument: 'after' },
  ).lean();
  if (!updated) throw new AppError('CONFLICT', 'the credentials of this user changed meanwhile; sign in again');
  await clearFailures(key);

  if (options.keepSessionId) {
    await SsoUserSession.updateOne(
      { tenantId, userId, sessionId: options.keepSessionId, credentialGeneration: user.credentialGeneration },
      { $set: { credentialGeneration: updated.credentialGeneration } },
    );
  }
  const endedSessions = await endUserSsoSessions(tenantId, userId, 'userEnded', options.keepSessionId);
  return { ok: true, endedSessions };
}
