/**
 * The end-user login state machine (issue 7 "The login interaction"; security-bar §4). No HTTP:
 * src/auth/routes.ts turns outcomes into pages, redirects and cookies, and calls `finishLogin`
 * (login.ts) once an outcome says `complete`.
 *
 *   identify + password ──▶ second factor? ──▶ (enrollment) ──▶ (forced password change) ──▶ complete
 *
 * - A second factor is needed when the tenant's login settings ask for MFA or possession
 *   authentication (reference/ncloud-model.md §1 "Login settings"; §2 A.5: both are enforced at
 *   sign-in), when the user has a TOTP device, or when the protocol asks for it (`requireMfa`).
 *   The user's TOTP device is used first; otherwise an e-mail or SMS one-time code when
 *   possession authentication offers that channel and the user has the address; otherwise a TOTP
 *   device must be enrolled (confirmed by its first code before it is active).
 * - Every refusal of the password step (unknown login id, wrong password, no local password,
 *   suspended, outside the user's allowed source IPs, locked) is the same `failed` outcome after
 *   the same work: one argon2id verification, against a dummy hash when there is no user
 *   (console-login.service.ts is the model), so neither the page nor its timing tells them apart.
 * - Abuse controls use the console's atomic MongoDB counters (src/iam/auth/login-throttle.ts) with
 *   SSO keys: per user (tenant + login id, hashed; the tenant's lockoutThreshold and
 *   lockoutDurationSeconds), per client network (IPv4 address or IPv6 /64), and per tenant.
 * - Codes: TOTP accepted once through a compare-and-set of `SsoUser.mfaLastStep` (RFC 6238 §5.2),
 *   ±1 step; one-time codes are 6 digits, stored hashed on the interaction, 5 minutes, single
 *   use. Five wrong codes end the interaction; each wrong code also counts toward the lockout.
 */
import { createHash, randomInt } from 'node:crypto';
import type { Config } from '../config.js';
import type { Keyring } from '../db/encryption.js';
import { dummyPasswordHash } from '../iam/auth/console-login.service.js';
import {
  NETWORK_RULE,
  clearFailures,
  isThrottled,
  networkThrottleKey,
  recordFailure,
  type ThrottleRule,
} from '../iam/auth/login-throttle.js';
import { LoginThrottle } from '../iam/auth/login-throttle.model.js';
import { matchTotpStep, newTotpSecret, totpUri } from '../iam/mfa/totp.js';
import type { Notifier } from '../notifications/notifier.js';
import { IpAllowList } from '../shared/ip.js';
import type { Logger } from '../shared/logger.js';
import { needsRehash } from '../shared/password-hash.js';
import type { LoginSettings } from '../sso/tenant/login-settings.js';
import { SsoUserSession } from '../sso/users/user-session.model.js';
import { SsoUser, ssoUserMfaContext } from '../sso/users/user.model.js';
import { hashUserPassword, verifyUserPassword } from './password-policy.js';
import { LoginInteraction, loginInteractionSecretContext, type LoginInteractionDoc, type LoginState } from './login-interaction.model.js';
import type { AuthLevel } from './sso-session.js';

export interface LoginFlowDeps {
  config: Pick<Config, 'baseUrl'>;
  keyring: Keyring;
  logger: Logger;
  notifier: Notifier;
}

export type LoginInteractionRecord = LoginInteractionDoc & { _id: unknown };

/** Wrong second-factor codes one interaction accepts before it ends (security-bar §6 #41). */
export const MAX_CODE_ATTEMPTS = 5;
/** One-time code life (issue 7: 5 minutes) and how many may be sent per interaction. */
export const OTP_TTL_MS = 5 * 60_000;
export const MAX_OTP_SENDS = 3;
/** Login ids are 3-60 characters (reference §1 "SSO User"); longer input cannot be anyone's. */
const MAX_LOGIN_ID = 60;
const MAX_PASSWORD = 1024;

/** Per client network, shared by every tenant: the console's rule (100 failures/hour, then an hour off). */
export const SSO_NETWORK_RULE: ThrottleRule = NETWORK_RULE;
/**
 * Per tenant, a ceiling against distributed stuffing: 10,000 failures in 10 minutes pause the
 * tenant's password sign-in for 5 minutes. High enough that no real user population reaches it
 * (17 failures a second, sustained); low enough to cap what a botnet rotating addresses and
 * login ids costs the tenant in argon2id work.
 */
export const SSO_TENANT_RULE: ThrottleRule = { limit: 10_000, windowMs: 10 * 60_000, lockMs: 5 * 60_000 };
/** The per-user window: ASVS V2.2.1 counts failures per hour. */
const USER_WINDOW_MS = 60 * 60_000;

export function userThrottleRule(settings: Pick<LoginSettings, 'lockoutThreshold' | 'lockoutDurationSeconds'>): ThrottleRule {
  return { limit: settings.lockoutThreshold, windowMs: USER_WINDOW_MS, lockMs: settings.lockoutDurationSeconds * 1000 };
}

/** Counter key of a login id in a tenant; hashed, because people type passwords into the login-id field. */
export function ssoUserThrottleKey(tenantId: string, loginId: string): string {
  return `sso-id:${createHash('sha256').update(`${tenantId}|${loginId.toLowerCase()}`).digest('base64url')}`;
}

/** Counter key of a client network for SSO sign-in (IPv4 address or IPv6 /64). */
export function ssoNetworkThrottleKey(ip: string): string {
  return `sso-${networkThrottleKey(ip)}`;
}

export function ssoTenantThrottleKey(tenantId: string): string {
  return `sso-tenant:${tenantId}`;
}

export type SecondFactorMethod = 'totp' | 'email' | 'sms';

export type StepOutcome =
  /** Go on to the page of this state (mfa, otp, enroll, changePassword). */
  | { outcome: 'next'; state: LoginState }
  /** Every factor passed: finishLogin with this. */
  | { outcome: 'complete'; who: { userId: string; credentialGeneration: number; amr: string[]; acr: AuthLevel } }
  /** The one answer for every refused password step. */
  | { outcome: 'failed' }
  /** The network or the tenant has too many recent failures. */
  | { outcome: 'throttled' }
  /** Local passwords are off for this tenant. */
  | { outcome: 'disabled' }
  /** A wrong, expired or reused code; the page asks again. */
  | { outcome: 'wrongCode' }
  /** The interaction went back to the start (too many codes, user locked or changed). */
  | { outcome: 'restart' }
  /** The interaction is not in a state that accepts this step (another tab moved it on). */
  | { outcome: 'stale' };

function hashCode(interactionId: string, code: string): string {
  return createHash('sha256').update(`${interactionId}|${code}`).digest('base64url');
}

function isPlainLoginId(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return s.length > 0 && s.length <= MAX_LOGIN_ID && !/[\u0000-\u001f\u007f]/.test(s);
}

const USER_FIELDS =
  '+passwordHash userId loginId status consolePermitIps needPasswordReset mfaEnabled credentialGeneration userProfile.email userProfile.phoneCountryCode userProfile.phoneNo';

/** The login id a step-up interaction is fixed to, or undefined (not a step-up, or the session ended). */
export async function stepUpLoginId(it: Pick<LoginInteractionDoc, 'tenantId' | 'stepUpSessionId'>): Promise<string | undefined> {
  if (!it.stepUpSessionId) return undefined;
  const s = await SsoUserSession.findOne({ tenantId: it.tenantId, sessionId: it.stepUpSessionId }).select('userId').lean();
  if (!s) return undefined;
  const u = await SsoUser.findOne({ tenantId: it.tenantId, userId: s.userId }).select('loginId').lean();
  return u?.loginId;
}

/** The second-factor methods this user can use in this tenant, best first. */
export function availableMethods(
  settings: Pick<LoginSettings, 'possessionAuthenticationEnabled' | 'possessionAuthenticationTypes'>,
  user: { mfaEnabled: boolean; userProfile?: { email?: string | null; phoneNo?: string | null } | null },
): SecondFactorMethod[] {
  const out: SecondFactorMethod[] = [];
  if (user.mfaEnabled) out.push('totp');
  if (settings.possessionAuthenticationEnabled) {
    if (settings.possessionAuthenticationTypes.includes('Email') && user.userProfile?.email) out.push('email');
    if (settings.possessionAuthenticationTypes.includes('SMS') && user.userProfile?.phoneNo) out.push('sms');
  }
  return out;
}

/**
 * Step 1: login id and password (one form, like Keycloak's default). For a step-up interaction
 * the login id is the session's user, whatever the form says.
 */
export async function passwordStep(
  it: LoginInteractionRecord,
  input: { loginId: string; password: string; ip: string },
  settings: LoginSettings,
  deps: LoginFlowDeps,
): Promise<StepOutcome> {
  const log = deps.logger.child({ event: 'sso.signIn', tenantId: it.tenantId, interactionId: it.interactionId, ip: input.ip });
  if (it.state === 'completed') return { outcome: 'stale' };
  if (!settings.localPasswordEnabled) return { outcome: 'disabled' };
  const networkKey = ssoNetworkThrottleKey(input.ip);
  const tenantKey = ssoTenantThrottleKey(it.tenantId);
  const loginId = (await stepUpLoginId(it)) ?? input.loginId.trim();
  const userKey = ssoUserThrottleKey(it.tenantId, loginId);
  // Independent reads at once: this is the hot path of every sign-in.
  const [networkThrottled, tenantThrottled, userCounter, user] = await Promise.all([
    isThrottled(networkKey),
    isThrottled(tenantKey),
    LoginThrottle.findById(userKey).lean(),
    isPlainLoginId(loginId)
      ? SsoUser.findOne({ tenantId: it.tenantId, loginIdKey: loginId.toLowerCase() }).select(USER_FIELDS).lean()
      : null,
  ]);
  if (networkThrottled || tenantThrottled) {
    log.warn('SSO sign-in refused: too many failures from this network or in this tenant');
    return { outcome: 'throttled' };
  }
  const locked = userCounter?.lockedUntil != null && userCounter.lockedUntil.getTime() > Date.now();
  // Passwords are never trimmed; an oversized one costs the same verification and fails.
  const password = input.password.length > MAX_PASSWORD ? '' : input.password;
  const storedHash = user?.passwordHash ?? null;
  // NFKC on both sides (password-policy.ts), so a password typed on another keyboard still matches.
  const passwordOk =
    (await verifyUserPassword(storedHash ?? (await dummyPasswordHash()), password)) && password !== '' && storedHash !== null;

  const reason = !user
    ? 'unknownLoginId'
    : !storedHash
      ? 'noLocalPassword'
      : !passwordOk
        ? 'wrongPassword'
        : locked
          ? 'locked'
          : user.status !== 'ACTIVATED'
            ? 'suspended'
            : user.consolePermitIps.length > 0 && !new IpAllowList(user.consolePermitIps).allows(input.ip)
              ? 'sourceIpNotAllowed'
              : undefined;
  if (!user || reason !== undefined) {
    await recordFailure(networkKey, SSO_NETWORK_RULE);
    await recordFailure(tenantKey, SSO_TENANT_RULE);
    // A locked user is not counted further: the lock would otherwise never end under attack.
    const counted = locked ? { locked: true } : await recordFailure(userKey, userThrottleRule(settings));
    log.info({ reason, userId: user?.userId, lockedNow: counted.locked }, 'SSO sign-in failed');
    return { outcome: 'failed' };
  }

  // Earlier failures are forgotten (only when there were any: one write less per sign-in).
  if (userCounter) await clearFailures(userKey);
  if (needsRehash(storedHash!)) {
    // Compare-and-set: a password changed meanwhile is never overwritten by the old one's upgrade.
    await SsoUser.updateOne(
      { tenantId: it.tenantId, userId: user.userId, passwordHash: storedHash },
      { $set: { passwordHash: await hashUserPassword(password) } },
    );
    log.info({ userId: user.userId }, 'SSO sign-in: password hash upgraded to the current argon2id parameters');
  }

  const methods = availableMethods(settings, user);
  const secondFactor =
    settings.multiFactorAuthenticationEnabled || settings.possessionAuthenticationEnabled || user.mfaEnabled || it.requireMfa;
  const base = { userId: user.userId, loginId: user.loginId, credentialGeneration: user.credentialGeneration, amr: ['pwd'] };
  if (!secondFactor) {
    if (user.needPasswordReset) return moveTo(it, 'changePassword', base);
    return { outcome: 'complete', who: { userId: user.userId, credentialGeneration: user.credentialGeneration, amr: ['pwd'], acr: 'pwd' } };
  }
  const first = methods[0];
  if (first === 'totp') return moveTo(it, 'mfa', base);
  if (first === 'email' || first === 'sms') {
    const moved = await moveTo(it, 'otp', base);
    if (moved.outcome !== 'next') return moved;
    return sendOneTimeCode({ ...it, ...base, state: 'otp' }, first, deps);
  }
  const secret = newTotpSecret();
  log.info({ userId: user.userId }, 'SSO sign-in: a second factor is required and the user has none; enrollment');
  return moveTo(it, 'enroll', {
    ...base,
    enrollSecretEncrypted: deps.keyring.encrypt(secret, loginInteractionSecretContext(it.tenantId, it.interactionId)),
  });
}

/** Moves an interaction that is not completed to a state (one atomic write). */
async function moveTo(it: LoginInteractionRecord, state: LoginState, set: Record<string, unknown>): Promise<StepOutcome> {
  const moved = await LoginInteraction.updateOne(
    { tenantId: it.tenantId, interactionId: it.interactionId, state: { $ne: 'completed' } },
    { $set: { ...set, state, notice: null, otpHash: null, otpChannel: null, otpExpiresAt: null } },
  );
  return moved.modifiedCount === 1 ? { outcome: 'next', state } : { outcome: 'stale' };
}

/** Back to the login form (the identified user and passed factors are forgotten). */
export async function restart(it: LoginInteractionRecord, notice: string): Promise<StepOutcome> {
  await LoginInteraction.updateOne(
    { tenantId: it.tenantId, interactionId: it.interactionId, state: { $ne: 'completed' } },
    {
      $set: {
        state: 'identify',
        notice,
        userId: null,
        loginId: null,
        amr: [],
        credentialGeneration: null,
        attempts: 0,
        enrollSecretEncrypted: null,
        otpHash: null,
        otpChannel: null,
        otpExpiresAt: null,
      },
    },
  );
  return { outcome: 'restart' };
}

/** Masks an address for the page ("a•••@example.com", "•••5678"): enough to recognise, not to harvest. */
export function maskDestination(channel: 'email' | 'sms', to: string): string {
  if (channel === 'email') {
    const at = to.lastIndexOf('@');
    return at > 0 ? `${to.slice(0, 1)}•••${to.slice(at)}` : '•••';
  }
  return `•••${to.replace(/\D/g, '').slice(-4)}`;
}

/**
 * Sends a one-time code by e-mail or SMS (possession authentication). SMS goes through the
 * notifier with kind `sms` and the phone number as address: Gatehouse ships no SMS transport;
 * operators plug a gateway into the notifier, and the outbox stores the message meanwhile.
 */
export async function sendOneTimeCode(it: LoginInteractionRecord, channel: 'email' | 'sms', deps: LoginFlowDeps): Promise<StepOutcome> {
  if (!it.userId || it.state === 'completed' || it.state === 'identify') return { outcome: 'stale' };
  const user = await SsoUser.findOne({ tenantId: it.tenantId, userId: it.userId })
    .select('status credentialGeneration userProfile.email userProfile.phoneCountryCode userProfile.phoneNo')
    .lean();
  if (!user || user.status !== 'ACTIVATED' || user.credentialGeneration !== it.credentialGeneration) return restart(it, 'restart');
  const to =
    channel === 'email'
      ? user.userProfile?.email
      : `${user.userProfile?.phoneCountryCode ?? ''}${user.userProfile?.phoneNo ?? ''}`.replace(/[^\d+]/g, '');
  if (!to) return { outcome: 'stale' };
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  // One send taken atomically; the new code replaces any earlier one.
  const taken = await LoginInteraction.updateOne(
    {
      tenantId: it.tenantId,
      interactionId: it.interactionId,
      userId: it.userId,
      state: { $in: ['mfa', 'otp', 'enroll'] },
      otpSends: { $lt: MAX_OTP_SENDS },
    },
    {
      $inc: { otpSends: 1 },
      $set: {
        state: 'otp',
        otpHash: hashCode(it.interactionId, code),
        otpChannel: channel,
        otpExpiresAt: new Date(Date.now() + OTP_TTL_MS),
        notice: null,
      },
    },
  );
  if (taken.modifiedCount !== 1) {
    await LoginInteraction.updateOne({ tenantId: it.tenantId, interactionId: it.interactionId }, { $set: { notice: 'sendLimit' } });
    return { outcome: 'wrongCode' };
  }
  await deps.notifier.send({
    to,
    kind: channel === 'email' ? 'otp' : 'sms',
    tenantId: it.tenantId,
    subject: 'Your sign-in code',
    text: `Your Gatehouse sign-in code is ${code}. It expires in 5 minutes. If you did not try to sign in, ignore this message and tell your administrator.`,
  });
  deps.logger.info({ event: 'sso.signIn.otpSent', tenantId: it.tenantId, userId: it.userId, channel }, 'SSO sign-in: one-time code sent');
  return { outcome: 'next', state: 'otp' };
}

/** Switches an interaction waiting for a code back to the user's TOTP device. */
export async function useTotp(it: LoginInteractionRecord): Promise<StepOutcome> {
  if (!it.userId || (it.state !== 'otp' && it.state !== 'mfa')) return { outcome: 'stale' };
  const user = await SsoUser.findOne({ tenantId: it.tenantId, userId: it.userId }).select('mfaEnabled').lean();
  if (!user?.mfaEnabled) return { outcome: 'stale' };
  return moveTo(it, 'mfa', {});
}

/**
 * Step 2: a code for the interaction's state: the TOTP device (`mfa`), the enrollment being
 * confirmed (`enroll`), or the one-time code sent (`otp`).
 */
export async function codeStep(
  it: LoginInteractionRecord,
  input: { code: string; ip: string },
  settings: LoginSettings,
  deps: LoginFlowDeps,
): Promise<StepOutcome> {
  if (!it.userId || (it.state !== 'mfa' && it.state !== 'enroll' && it.state !== 'otp')) return { outcome: 'stale' };
  const userId = it.userId;
  const log = deps.logger.child({ event: 'sso.signIn.mfa', tenantId: it.tenantId, userId, interactionId: it.interactionId, ip: input.ip });
  const userKey = ssoUserThrottleKey(it.tenantId, it.loginId ?? '');

  // One attempt, taken atomically (security-bar §4: per-factor attempt limit).
  const counted = await LoginInteraction.findOneAndUpdate(
    { tenantId: it.tenantId, interactionId: it.interactionId, state: it.state, userId, attempts: { $lt: MAX_CODE_ATTEMPTS } },
    { $inc: { attempts: 1 } },
    { returnDocument: 'after' },
  ).lean<LoginInteractionRecord>();
  if (!counted) {
    log.info('SSO sign-in: no code attempts left; back to the start');
    return restart(it, 'restart');
  }
  if (await isThrottled(ssoNetworkThrottleKey(input.ip))) return restart(it, 'throttled');
  if (await isThrottled(userKey)) return restart(it, 'restart');

  const user = await SsoUser.findOne({ tenantId: it.tenantId, userId })
    .select('+mfaSecretEncrypted status credentialGeneration mfaEnabled needPasswordReset consolePermitIps userProfile.email')
    .lean();
  if (!user || user.status !== 'ACTIVATED' || user.credentialGeneration !== it.credentialGeneration) return restart(it, 'restart');
  if (user.consolePermitIps.length > 0 && !new IpAllowList(user.consolePermitIps).allows(input.ip)) return restart(it, 'restart');

  const code = input.code.replace(/\s/g, '');
  let result: 'ok' | 'wrong' | 'reused' | 'gone';
  let amr: string[] = ['pwd', 'otp', 'mfa'];
  if (it.state === 'mfa') {
    if (!user.mfaEnabled || !user.mfaSecretEncrypted) return restart(it, 'restart');
    const secret = deps.keyring.decrypt(user.mfaSecretEncrypted, ssoUserMfaContext(userId));
    const step = await matchTotpStep(secret, code);
    if (step === undefined) result = 'wrong';
    else {
      // RFC 6238 §5.2: each code once. Of two requests with the same code, one moves the step.
      const res = await SsoUser.updateOne({ tenantId: it.tenantId, userId, mfaLastStep: { $lt: step } }, { $set: { mfaLastStep: step } });
      result = res.modifiedCount === 1 ? 'ok' : 'reused';
    }
  } else if (it.state === 'enroll') {
    const stored = await LoginInteraction.findOne({ tenantId: it.tenantId, interactionId: it.interactionId })
      .select('+enrollSecretEncrypted')
      .lean();
    if (!stored?.enrollSecretEncrypted) return restart(it, 'restart');
    const secret = deps.keyring.decrypt(stored.enrollSecretEncrypted, loginInteractionSecretContext(it.tenantId, it.interactionId));
    const step = await matchTotpStep(secret, code);
    if (step === undefined) result = 'wrong';
    else {
      // The device becomes active only with its first valid code, consumed by the same write.
      const res = await SsoUser.updateOne(
        { tenantId: it.tenantId, userId, mfaEnabled: false, credentialGeneration: it.credentialGeneration },
        {
          $set: {
            mfaSecretEncrypted: deps.keyring.encrypt(secret, ssoUserMfaContext(userId)),
            mfaEnabled: true,
            mfaLastStep: step,
            mfaRegisteredAt: new Date(),
          },
        },
      );
      result = res.modifiedCount === 1 ? 'ok' : 'gone';
      if (result === 'ok') {
        log.info('SSO sign-in: TOTP device enrolled and confirmed');
        // Security-bar §4 "MFA enrollment": the user is told, so an enrollment they did not make is noticed.
        const email = user.userProfile?.email;
        if (email) {
          await deps.notifier.send({
            to: email,
            kind: 'mfaEnrolled',
            tenantId: it.tenantId,
            subject: 'A new sign-in verification device was added',
            text: 'An authenticator app was just set up for two-step verification on your account. If this was not you, tell your administrator at once.',
          });
        }
      }
    }
  } else {
    if (!/^\d{6}$/.test(code) || !it.otpChannel) result = 'wrong';
    else {
      // Single use: the code's hash is cleared by the write that accepts it.
      const res = await LoginInteraction.updateOne(
        {
          tenantId: it.tenantId,
          interactionId: it.interactionId,
          state: 'otp',
          otpHash: hashCode(it.interactionId, code),
          otpExpiresAt: { $gt: new Date() },
        },
        { $set: { otpHash: null, otpExpiresAt: null } },
      );
      result = res.modifiedCount === 1 ? 'ok' : 'wrong';
    }
    amr = it.otpChannel === 'sms' ? ['pwd', 'sms', 'mfa'] : ['pwd', 'otp', 'mfa'];
  }

  if (result === 'gone') return restart(it, 'restart');
  if (result !== 'ok') {
    if (result === 'reused') log.warn('TOTP code reused: rejected (RFC 6238 §5.2)');
    else log.info({ state: it.state }, 'SSO sign-in: wrong code');
    await recordFailure(ssoNetworkThrottleKey(input.ip), SSO_NETWORK_RULE);
    const u = await recordFailure(userKey, userThrottleRule(settings));
    if (u.locked || counted.attempts >= MAX_CODE_ATTEMPTS) {
      log.info({ lockedNow: u.locked }, 'SSO sign-in: too many wrong codes; back to the start');
      return restart(it, 'restart');
    }
    await LoginInteraction.updateOne(
      { tenantId: it.tenantId, interactionId: it.interactionId, state: it.state },
      { $set: { notice: 'wrongCode' } },
    );
    return { outcome: 'wrongCode' };
  }

  if (user.needPasswordReset) return moveTo(it, 'changePassword', { amr });
  return { outcome: 'complete', who: { userId, credentialGeneration: user.credentialGeneration, amr, acr: 'mfa' } };
}

/** What the enrollment page shows (the secret is shown on this page only, never stored in clear). */
export async function enrollmentOf(
  it: LoginInteractionRecord,
  issuer: string,
  deps: Pick<LoginFlowDeps, 'keyring'>,
): Promise<{ secret: string; otpauthUri: string } | undefined> {
  if (it.state !== 'enroll') return undefined;
  const stored = await LoginInteraction.findOne({ tenantId: it.tenantId, interactionId: it.interactionId })
    .select('+enrollSecretEncrypted')
    .lean();
  if (!stored?.enrollSecretEncrypted) return undefined;
  const secret = deps.keyring.decrypt(stored.enrollSecretEncrypted, loginInteractionSecretContext(it.tenantId, it.interactionId));
  return { secret, otpauthUri: totpUri(secret, issuer, it.loginId ?? '') };
}

/** After finishLogin: the user's last sign-in time (reference §1 `lastLoginDateTime`). */
export async function recordSignIn(tenantId: string, userId: string): Promise<void> {
  await SsoUser.updateOne({ tenantId, userId }, { $set: { lastLoginAt: new Date() } });
}

/** The interaction's current record (after a step moved it). */
export function reloadInteraction(it: Pick<LoginInteractionDoc, 'tenantId' | 'interactionId'>): Promise<LoginInteractionRecord | null> {
  return LoginInteraction.findOne({ tenantId: it.tenantId, interactionId: it.interactionId }).lean<LoginInteractionRecord>();
}
