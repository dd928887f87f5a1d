/**
 * Admin-initiated password reset with a one-time link (issue 7 "Local credentials"). The admin API
 * (`POST /api/v1/sso/users/{userId}/password-reset`, src/sso/users/user.routes.ts) issues a link;
 * the user opens `{baseUrl}/tenants/{tenantId}/password/reset?token=…` (src/auth/password.routes.ts)
 * and chooses a new password there.
 *
 * - Issuing moves nothing: the current password keeps working and no session ends until the link
 *   is used (an admin's click, or an attacker who can only trigger e-mails, locks nobody out).
 *   A new link replaces the user's pending one.
 * - The token is 256 random bits, stored as its SHA-256 only, valid one hour, used once: the use
 *   is one compare-and-set of `usedAt`, so of two parallel submissions exactly one wins.
 * - The link is bound to the user's credential generation when issued; completing it stores the
 *   new hash, clears `needPasswordReset`, sets `passwordChangedAt`, moves the generation (every
 *   session and role credential issued before dies) and ends all the user's sessions.
 * - The token never reaches a log line: the request logger logs paths without queries
 *   (src/http/request-context.ts) and nothing here logs it.
 */
import { randomBytes } from 'node:crypto';
import { hashToken } from '../shared/tokens.js';
import type { Config } from '../config.js';
import type { Notifier } from '../notifications/notifier.js';
import { AppError, isDuplicateKeyError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { getLoginSettings } from '../sso/tenant/tenant.service.js';
import { SsoUser } from '../sso/users/user.model.js';
import { checkPasswordPolicy, hashUserPassword, type PasswordPolicyReason } from './password-policy.js';
import { PasswordReset, PASSWORD_RESET_TTL_MS } from './password-reset.model.js';
import { endUserSsoSessions } from './sso-session.js';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

/** The link a user receives. The tenant id (not the alias) keeps the link valid across alias renames. */
export function passwordResetLink(config: Pick<Config, 'baseUrl'>, tenantId: string, token: string): string {
  return `${config.baseUrl}/tenants/${encodeURIComponent(tenantId)}/password/reset?token=${token}`;
}

/** Where the link goes: the profile e-mail, else the login id (an e-mail address by Ncloud's rule). */
export function resetAddressOf(user: { loginId: string; userProfile?: { email?: string | null } | null }): string {
  const email = user.userProfile?.email;
  return email ? email : user.loginId;
}

export interface IssuedPasswordReset {
  userId: string;
  expiresAt: string;
}

/**
 * Creates a reset link for a user and sends it through the notifier (`kind: 'passwordReset'`).
 * The caller gets no token back: only the mailbox does. A pending link of the user is
 * replaced. 404 when the user does not exist; 503 (and no link left behind) when the
 * message cannot be sent.
 */
export async function issuePasswordReset(
  tenant: { tenantId: string },
  userId: string,
  deps: { config: Pick<Config, 'baseUrl'>; notifier: Notifier; logger?: Logger | undefined },
  requestedBy = '',
): Promise<IssuedPasswordReset> {
  const user = await SsoUser.findOne({ tenantId: tenant.tenantId, userId }).select('userId loginId userProfile credentialGeneration').lean();
  if (!user) throw new AppError('NOT_FOUND', `user ${userId} does not exist`);

  const token = randomBytes(32).toString('base64url');
  const tokenHash = hashToken(token);
  const now = new Date();
  const expiresAt = new Date(now.getTime() + PASSWORD_RESET_TTL_MS);
  // One document per user: the new token replaces any pending one in a single upsert. Expired
  // documents are included (the expiry plugin would hide them and the upsert would then collide
  // with the unique index); two first-time upserts racing make one duplicate-key error, retried.
  const upsert = () =>
    PasswordReset.findOneAndUpdate(
      { tenantId: tenant.tenantId, userId },
      { $set: { tokenHash, credentialGeneration: user.credentialGeneration, requestedBy, createdAt: now, usedAt: null, expiresAt } },
      { upsert: true, returnDocument: 'after' },
    )
      .setOptions({ includeExpired: true })
      .lean();
  try {
    await upsert();
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    await upsert();
  }

  const link = passwordResetLink(deps.config, tenant.tenantId, token);
  try {
    await deps.notifier.send({
      to: resetAddressOf(user),
      subject: 'Reset your password',
      text: [
        `A password reset was requested for ${user.loginId}.`,
        '',
        'Open this link within one hour to choose a new password (it works once):',
        link,
        '',
        'Your current password keeps working until you do. If you did not expect this message, tell your administrator.',
      ].join('\n'),
      kind: 'passwordReset',
      tenantId: tenant.tenantId,
    });
  } catch (err) {
    await PasswordReset.deleteOne({ tenantId: tenant.tenantId, userId, tokenHash });
    deps.logger?.warn({ err: err instanceof Error ? err.message : String(err), tenantId: tenant.tenantId, userId }, 'the password reset message could not be sent');
    throw new AppError('UNAVAILABLE', 'the password reset message could not be sent; try again later', { cause: err });
  }
  return { userId, expiresAt: expiresAt.toISOString() };
}

export interface PendingPasswordReset {
  resetId: unknown;
  userId: string;
  loginId: string;
  /** Minimum length of the tenant's login settings, for the page's hint. */
  minLength: number;
  context: string[];
  credentialGeneration: number;
}

/** The unused, unexpired link a token names in this tenant, if its user's credentials are unchanged since. */
export async function findPendingPasswordReset(tenantId: string, token: string | undefined): Promise<PendingPasswordReset | null> {
  if (!token || !TOKEN_RE.test(token)) return null;
  const reset = await PasswordReset.findOne({ tenantId, tokenHash: hashToken(token), usedAt: null }).lean();
  if (!reset) return null;
  const user = await SsoUser.findOne({ tenantId, userId: reset.userId }).select('userId loginId userProfile credentialGeneration').lean();
  if (!user || user.credentialGeneration !== reset.credentialGeneration) return null;
  const settings = await getLoginSettings(tenantId);
  const p = user.userProfile;
  return {
    resetId: reset._id,
    userId: user.userId,
    loginId: user.loginId,
    minLength: settings?.passwordMinLength ?? 12,
    context: [user.loginId, p?.email ?? '', p?.firstName ?? '', p?.lastName ?? ''],
    credentialGeneration: reset.credentialGeneration,
  };
}

export type CompletePasswordResetResult =
  | { ok: true; userId: string; loginId: string; endedSessions: number }
  | { ok: false; error: 'invalidLink' }
  | { ok: false; error: 'policy'; reasons: PasswordPolicyReason[]; minLength: number };

/**
 * Uses a link: checks the new password against the tenant's policy (a refused password leaves the
 * link usable), hashes it, then consumes the link and stores the hash. Consuming first and writing
 * under the generation the link was issued for makes each step one atomic statement: a second
 * submission finds the link used; a credential change in between makes the write miss.
 */
export async function completePasswordReset(tenantId: string, token: string, newPassword: string, logger?: Logger): Promise<CompletePasswordResetResult> {
  const pending = await findPendingPasswordReset(tenantId, token);
  if (!pending) return { ok: false, error: 'invalidLink' };
  const policy = checkPasswordPolicy(newPassword, { minLength: pending.minLength, context: pending.context });
  if (!policy.ok) return { ok: false, error: 'policy', reasons: policy.reasons, minLength: pending.minLength };

  const passwordHash = await hashUserPassword(newPassword);
  const now = new Date();
  const consumed = await PasswordReset.findOneAndUpdate(
    { tenantId, _id: pending.resetId, tokenHash: hashToken(token), usedAt: null },
    { $set: { usedAt: now } },
    { returnDocument: 'after' },
  ).lean();
  if (!consumed) return { ok: false, error: 'invalidLink' };

  const user = await SsoUser.findOneAndUpdate(
    { tenantId, userId: pending.userId, credentialGeneration: pending.credentialGeneration },
    { $set: { passwordHash, needPasswordReset: false, passwordChangedAt: now }, $inc: { credentialGeneration: 1 } },
    { returnDocument: 'after' },
  ).lean();
  if (!user) return { ok: false, error: 'invalidLink' };
  const endedSessions = await endUserSsoSessions(tenantId, pending.userId, 'userEnded');
  logger?.info({ tenantId, userId: pending.userId, endedSessions }, 'password reset through a one-time link');
  return { ok: true, userId: pending.userId, loginId: pending.loginId, endedSessions };
}
