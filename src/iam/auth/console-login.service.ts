/**
 * Console sign-in (issue 5 "Console authentication"; security-bar §4): the main account's root
 * at `/console/login`, sub accounts at `/console/login/{alias}`. No HTTP here: the console
 * router turns outcomes into pages and cookies.
 *
 * Step 1, password: every refusal (unknown login id, wrong password, suspended, console access
 * off, outside the allowed addresses, locked out) is the same `failed` outcome after the same
 * work: an argon2id verification always runs, against a dummy hash when the login id is
 * unknown, so neither the answer nor its timing tells the reasons apart. Failures count
 * against the identity and the client network (login-throttle.ts).
 *
 * Step 2, TOTP (when a device is enrolled, or a sub account's MFA is mandatory: then the first
 * device is enrolled and confirmed by its first code, security-bar §4 "MFA enrollment"): the
 * pending sign-in is a server-side challenge (login-challenge.model.ts); each code is accepted
 * once, through a compare-and-set of the owner's last accepted step (RFC 6238 §5.2).
 *
 * Success creates a new console session with a new random token (ASVS 3.2.1): the session id
 * always changes at sign-in, and only after the last factor.
 */
import { randomBytes } from 'node:crypto';
import type { Keyring } from '../../db/encryption.js';
import type { Logger } from '../../shared/logger.js';
import { hashPassword, needsRehash, verifyPassword } from '../../shared/password-hash.js';
import { Account, rootMfaContext } from '../accounts/account.model.js';
import { matchTotpStep, newTotpSecret, totpUri } from '../mfa/totp.js';
import { createSession, endSession, hashToken, type ConsoleSessionRecord } from '../sessions/session.service.js';
import { SubAccount, subAccountMfaContext } from '../sub-accounts/sub-account.model.js';
import { passwordExpired, subAccountConsoleRefusal } from './console-access.js';
import {
  LOGIN_CHALLENGE_MAX_ATTEMPTS,
  LOGIN_CHALLENGE_TTL_MS,
  LoginChallenge,
  loginChallengeSecretContext,
} from './login-challenge.model.js';
import {
  IDENTITY_RULE,
  NETWORK_RULE,
  clearFailures,
  identityThrottleKey,
  isThrottled,
  networkThrottleKey,
  recordFailure,
} from './login-throttle.js';

export interface AuthDeps {
  keyring: Keyring;
  logger: Logger;
}

/** Where a sign-in happens: the root page, or the login-alias page of one account. */
export type SignInTarget = { kind: 'Root' } | { kind: 'SubAccount'; accountId: number };

export interface PasswordStepInput {
  target: SignInTarget;
  loginId: string;
  password: string;
  /** Client address through trusted proxies only (http/client-ip.ts). */
  ip: string;
  userAgent?: string | undefined;
  /** The page the sign-in started on, to return to when the second step fails. */
  loginPath: string;
}

export type SignInOutcome =
  | { outcome: 'signedIn'; token: string; session: ConsoleSessionRecord }
  | { outcome: 'secondFactor'; challengeToken: string; mode: 'verify' | 'enroll' }
  /** One answer for every refusal (see the file comment). */
  | { outcome: 'failed' }
  /** The client network has too many recent failures. */
  | { outcome: 'throttled' };

/** The fallback idle expiry when an account has none stored (Account.settings default). */
const DEFAULT_IDLE_SEC = 3600;
/** Inputs beyond these lengths cannot belong to anyone; they still cost a verification. */
const MAX_LOGIN_ID = 60;
const MAX_PASSWORD = 1024;

let dummyHash: Promise<string> | undefined;
/**
 * A hash of a random password with the current parameters: unknown login ids are verified
 * against it so they cost what a known one costs. Computed once per process.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(24).toString('base64url'));
  return dummyHash;
}

/** The identity a password step is about, loaded with what deciding the sign-in needs. */
interface Candidate {
  accountId: number;
  kind: 'Root' | 'SubAccount';
  subAccountId: string | null;
  loginId: string;
  passwordHash: string;
  credentialGeneration: number;
  /** Why the identity may not sign in even with the right password (undefined: it may). */
  refusal: string | undefined;
  mfa: 'none' | 'verify' | 'enroll';
  mustChangePassword: boolean;
  /** Stores an upgraded hash, only if the stored one is still `old` (compare-and-set). */
  storeRehash(old: string, upgraded: string): Promise<void>;
}

async function loadRoot(loginId: string): Promise<Candidate | undefined> {
  if (!loginId || loginId.length > MAX_LOGIN_ID) return undefined;
  const acc = await Account.findOne({ rootLoginId: loginId })
    .select('+rootPasswordHash +rootMfaSecretEncrypted memberNo rootLoginId rootPasswordGenerated rootCredentialGeneration rootMfaEnabled')
    .lean();
  if (!acc) return undefined;
  return {
    accountId: acc.memberNo,
    kind: 'Root',
    subAccountId: null,
    loginId: acc.rootLoginId,
    passwordHash: acc.rootPasswordHash,
    credentialGeneration: acc.rootCredentialGeneration,
    refusal: undefined,
    mfa: acc.rootMfaEnabled && acc.rootMfaSecretEncrypted ? 'verify' : 'none',
    // A generated root password was printed once at bootstrap: the console asks to replace it.
    mustChangePassword: acc.rootPasswordGenerated,
    async storeRehash(old, upgraded) {
      await Account.updateOne({ memberNo: acc.memberNo, rootPasswordHash: old }, { $set: { rootPasswordHash: upgraded } });
    },
  };
}

async function loadSubAccount(accountId: number, loginId: string, ip: string): Promise<Candidate | undefined> {
  // The account is read whether or not the login id exists: the same reads either way.
  const acc = await Account.findOne({ memberNo: accountId }).select('settings').lean();
  if (!acc || !loginId || loginId.length > MAX_LOGIN_ID) return undefined;
  const sub = await SubAccount.findOne({ accountId, loginIdKey: loginId.toLowerCase() })
    .select(
      '+passwordHash subAccountId loginId status canConsoleAccess consolePermitIps isMfaMandatory mfaEnabled mfaSecretEncrypted needPasswordReset passwordChangedAt credentialGeneration',
    )
    .lean();
  if (!sub) return undefined;
  return {
    accountId,
    kind: 'SubAccount',
    subAccountId: sub.subAccountId,
    loginId: sub.loginId,
    passwordHash: sub.passwordHash,
    credentialGeneration: sub.credentialGeneration,
    refusal: subAccountConsoleRefusal(sub, acc.settings?.consoleAccessIps ?? [], ip),
    mfa: sub.mfaEnabled ? 'verify' : sub.isMfaMandatory ? 'enroll' : 'none',
    mustChangePassword: sub.needPasswordReset || passwordExpired(sub.passwordChangedAt, acc.settings?.passwordExpiryDays),
    async storeRehash(old, upgraded) {
      await SubAccount.updateOne({ accountId, subAccountId: sub.subAccountId, passwordHash: old }, { $set: { passwordHash: upgraded } });
    },
  };
}

/** Step 1: login id and password. */
export async function passwordStep(input: PasswordStepInput, deps: AuthDeps): Promise<SignInOutcome> {
  const { target, ip } = input;
  const log = deps.logger.child({ event: 'console.signIn', target: target.kind, ip });
  const networkKey = networkThrottleKey(ip);
  if (await isThrottled(networkKey)) {
    log.warn('console sign-in refused: too many failures from this network');
    return { outcome: 'throttled' };
  }
  const identityKey = identityThrottleKey(
    target.kind === 'Root'
      ? { kind: 'Root', loginId: input.loginId }
      : { kind: 'SubAccount', accountId: target.accountId, loginId: input.loginId },
  );
  const locked = await isThrottled(identityKey);
  const candidate = target.kind === 'Root' ? await loadRoot(input.loginId) : await loadSubAccount(target.accountId, input.loginId, ip);
  const password = input.password.length > MAX_PASSWORD ? '' : input.password;
  const passwordOk = (await verifyPassword(candidate?.passwordHash ?? (await dummyPasswordHash()), password)) && password !== '';

  const reason = !candidate ? 'unknownLoginId' : !passwordOk ? 'wrongPassword' : locked ? 'locked' : candidate.refusal;
  if (!candidate || reason !== undefined) {
    await recordFailure(networkKey, NETWORK_RULE);
    // A locked identity is not counted further: its lock would otherwise never end under attack.
    const identity = locked ? { locked: true } : await recordFailure(identityKey, IDENTITY_RULE);
    log.info(
      { reason, accountId: candidate?.accountId, subAccountId: candidate?.subAccountId, lockedNow: identity.locked },
      'console sign-in failed',
    );
    return { outcome: 'failed' };
  }

  await clearFailures(identityKey);
  if (needsRehash(candidate.passwordHash)) await candidate.storeRehash(candidate.passwordHash, await hashPassword(password));

  if (candidate.mfa !== 'none') {
    const challengeToken = randomBytes(32).toString('base64url');
    const tokenHash = hashToken(challengeToken);
    await LoginChallenge.create({
      accountId: candidate.accountId,
      tokenHash,
      kind: candidate.kind,
      subAccountId: candidate.subAccountId,
      loginId: candidate.loginId,
      identityKey,
      credentialGeneration: candidate.credentialGeneration,
      mustChangePassword: candidate.mustChangePassword,
      mode: candidate.mfa,
      enrollSecretEncrypted:
        candidate.mfa === 'enroll' ? deps.keyring.encrypt(newTotpSecret(), loginChallengeSecretContext(tokenHash)) : null,
      loginPath: input.loginPath,
      expiresAt: new Date(Date.now() + LOGIN_CHALLENGE_TTL_MS),
    });
    log.info(
      { accountId: candidate.accountId, subAccountId: candidate.subAccountId, mode: candidate.mfa },
      'console sign-in: password accepted, second factor required',
    );
    return { outcome: 'secondFactor', challengeToken, mode: candidate.mfa };
  }

  const opened = await openSession({ ...candidate, mfa: false, ip, userAgent: input.userAgent });
  log.info({ accountId: candidate.accountId, subAccountId: candidate.subAccountId }, 'console sign-in succeeded');
  return opened;
}

async function openSession(p: {
  accountId: number;
  kind: 'Root' | 'SubAccount';
  subAccountId: string | null;
  credentialGeneration: number;
  mfa: boolean;
  mustChangePassword: boolean;
  ip: string;
  userAgent?: string | undefined;
}): Promise<Extract<SignInOutcome, { outcome: 'signedIn' }>> {
  const acc = await Account.findOne({ memberNo: p.accountId }).select('settings.sessionIdleSec').lean();
  const { token, session } = await createSession({
    accountId: p.accountId,
    kind: p.kind,
    subAccountId: p.subAccountId,
    credentialGeneration: p.credentialGeneration,
    mfa: p.mfa,
    mustChangePassword: p.mustChangePassword,
    idleTimeoutSec: acc?.settings?.sessionIdleSec ?? DEFAULT_IDLE_SEC,
    sourceIp: p.ip,
    ...(p.userAgent ? { userAgent: p.userAgent } : {}),
  });
  if (p.kind === 'SubAccount' && p.subAccountId)
    await SubAccount.updateOne({ accountId: p.accountId, subAccountId: p.subAccountId }, { $set: { lastLoginAt: new Date() } });
  return { outcome: 'signedIn', token, session };
}

const CHALLENGE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

function findChallenge(token: string) {
  if (!CHALLENGE_TOKEN.test(token)) return Promise.resolve(null);
  // Deliberately unscoped: the cookie's token is the only key the browser presents.
  return LoginChallenge.findOne({ tokenHash: hashToken(token) })
    .setOptions({ unscoped: true })
    .select('+enrollSecretEncrypted')
    .lean();
}

export interface PendingSignIn {
  mode: 'verify' | 'enroll';
  loginPath: string;
  attemptsLeft: number;
  /** Enrollment only: what the authenticator app needs (shown once, on this page only). */
  enrollment?: { secret: string; otpauthUri: string };
}

/** The pending sign-in behind a challenge cookie, or undefined when it expired or never was. */
export async function pendingSignIn(token: string, deps: AuthDeps): Promise<PendingSignIn | undefined> {
  const ch = await findChallenge(token);
  if (!ch) return undefined;
  const view: PendingSignIn = {
    mode: ch.mode,
    loginPath: ch.loginPath,
    attemptsLeft: Math.max(LOGIN_CHALLENGE_MAX_ATTEMPTS - ch.attempts, 0),
  };
  if (ch.mode === 'enroll' && ch.enrollSecretEncrypted) {
    const secret = deps.keyring.decrypt(ch.enrollSecretEncrypted, loginChallengeSecretContext(ch.tokenHash));
    const acc = await Account.findOne({ memberNo: ch.accountId }).select('name').lean();
    view.enrollment = { secret, otpauthUri: totpUri(secret, `Gatehouse ${acc?.name ?? ch.accountId}`, `${ch.loginId}@${ch.accountId}`) };
  }
  return view;
}

export type SecondFactorOutcome =
  | Extract<SignInOutcome, { outcome: 'signedIn' }>
  /** Wrong, expired or reused code; the challenge stays for another try. */
  | { outcome: 'wrongCode'; attemptsLeft: number }
  /** The challenge is gone (expired, used, out of attempts, identity locked or changed): start again. */
  | { outcome: 'restart'; loginPath: string };

/** Step 2: the TOTP code (verification of the enrolled device, or confirmation of a new one). */
export async function secondFactorStep(
  input: { challengeToken: string; code: string; ip: string; userAgent?: string | undefined },
  deps: AuthDeps,
): Promise<SecondFactorOutcome> {
  const ch = await findChallenge(input.challengeToken);
  if (!ch) return { outcome: 'restart', loginPath: '/console/login' };
  const log = deps.logger.child({ event: 'console.signIn.mfa', accountId: ch.accountId, subAccountId: ch.subAccountId, ip: input.ip });
  const restart = async (reason: string): Promise<SecondFactorOutcome> => {
    await LoginChallenge.deleteOne({ accountId: ch.accountId, tokenHash: ch.tokenHash });
    log.info({ reason }, 'console sign-in: second step abandoned');
    return { outcome: 'restart', loginPath: ch.loginPath };
  };

  // One attempt, taken atomically (security-bar §4: per-factor attempt limit).
  const counted = await LoginChallenge.findOneAndUpdate(
    { accountId: ch.accountId, tokenHash: ch.tokenHash, attempts: { $lt: LOGIN_CHALLENGE_MAX_ATTEMPTS } },
    { $inc: { attempts: 1 } },
    { returnDocument: 'after' },
  ).lean();
  if (!counted) return restart('no attempts left');
  if (await isThrottled(networkThrottleKey(input.ip))) return restart('network throttled');
  if (await isThrottled(ch.identityKey)) return restart('identity locked');

  const accepted =
    ch.kind === 'Root' ? await acceptRootCode(ch, input.code, deps) : await acceptSubAccountCode(ch, input.code, input.ip, deps);
  if (accepted === 'gone') return restart('the identity changed since the password step');
  if (accepted !== 'ok') {
    log.warn({ reason: accepted }, accepted === 'reused' ? 'TOTP code reused: rejected (RFC 6238 §5.2)' : 'wrong TOTP code');
    await recordFailure(networkThrottleKey(input.ip), NETWORK_RULE);
    const identity = await recordFailure(ch.identityKey, IDENTITY_RULE);
    const attemptsLeft = LOGIN_CHALLENGE_MAX_ATTEMPTS - counted.attempts;
    if (identity.locked || attemptsLeft <= 0) return restart(identity.locked ? 'identity locked' : 'no attempts left');
    return { outcome: 'wrongCode', attemptsLeft };
  }

  // Single use: of two requests finishing the same challenge at once, one gets the session.
  const consumed = await LoginChallenge.findOneAndDelete({ accountId: ch.accountId, tokenHash: ch.tokenHash }).lean();
  if (!consumed) return { outcome: 'restart', loginPath: ch.loginPath };
  const opened = await openSession({
    accountId: ch.accountId,
    kind: ch.kind,
    subAccountId: ch.subAccountId ?? null,
    credentialGeneration: ch.credentialGeneration,
    mfa: true,
    mustChangePassword: ch.mustChangePassword,
    ip: input.ip,
    userAgent: input.userAgent,
  });
  log.info(
    { mode: ch.mode },
    ch.mode === 'enroll' ? 'console sign-in succeeded; MFA device enrolled' : 'console sign-in succeeded with TOTP',
  );
  return opened;
}

type Challenge = NonNullable<Awaited<ReturnType<typeof findChallenge>>>;
type CodeCheck = 'ok' | 'wrong' | 'reused' | 'gone';

async function acceptRootCode(ch: Challenge, code: string, deps: AuthDeps): Promise<CodeCheck> {
  const acc = await Account.findOne({ memberNo: ch.accountId })
    .select('+rootMfaSecretEncrypted rootCredentialGeneration rootMfaEnabled')
    .lean();
  if (!acc || acc.rootCredentialGeneration !== ch.credentialGeneration || !acc.rootMfaEnabled || !acc.rootMfaSecretEncrypted) return 'gone';
  const secret = deps.keyring.decrypt(acc.rootMfaSecretEncrypted, rootMfaContext(ch.accountId));
  const step = await matchTotpStep(secret, code.trim());
  if (step === undefined) return 'wrong';
  const res = await Account.updateOne({ memberNo: ch.accountId, rootMfaLastStep: { $lt: step } }, { $set: { rootMfaLastStep: step } });
  return res.modifiedCount === 1 ? 'ok' : 'reused';
}

async function acceptSubAccountCode(ch: Challenge, code: string, ip: string, deps: AuthDeps): Promise<CodeCheck> {
  const subAccountId = ch.subAccountId ?? '';
  const [acc, sub] = await Promise.all([
    Account.findOne({ memberNo: ch.accountId }).select('settings.consoleAccessIps').lean(),
    SubAccount.findOne({ accountId: ch.accountId, subAccountId })
      .select('+mfaSecretEncrypted status canConsoleAccess consolePermitIps mfaEnabled credentialGeneration')
      .lean(),
  ]);
  if (!sub || sub.credentialGeneration !== ch.credentialGeneration) return 'gone';
  if (subAccountConsoleRefusal(sub, acc?.settings?.consoleAccessIps ?? [], ip)) return 'gone';

  if (ch.mode === 'verify') {
    if (!sub.mfaEnabled || !sub.mfaSecretEncrypted) return 'gone';
    const secret = deps.keyring.decrypt(sub.mfaSecretEncrypted, subAccountMfaContext(subAccountId));
    const step = await matchTotpStep(secret, code.trim());
    if (step === undefined) return 'wrong';
    const res = await SubAccount.updateOne(
      { accountId: ch.accountId, subAccountId, mfaLastStep: { $lt: step } },
      { $set: { mfaLastStep: step } },
    );
    return res.modifiedCount === 1 ? 'ok' : 'reused';
  }

  // Enrollment: the device becomes active only with its first valid code, and that code is
  // consumed by the same write (mfaLastStep), so it cannot be replayed afterwards.
  if (!ch.enrollSecretEncrypted) return 'gone';
  const secret = deps.keyring.decrypt(ch.enrollSecretEncrypted, loginChallengeSecretContext(ch.tokenHash));
  const step = await matchTotpStep(secret, code.trim());
  if (step === undefined) return 'wrong';
  const res = await SubAccount.updateOne(
    { accountId: ch.accountId, subAccountId, mfaEnabled: false, credentialGeneration: ch.credentialGeneration },
    { $set: { mfaSecretEncrypted: deps.keyring.encrypt(secret, subAccountMfaContext(subAccountId)), mfaEnabled: true, mfaLastStep: step } },
  );
  return res.modifiedCount === 1 ? 'ok' : 'gone';
}

/** Sign-out: ends the session behind the cookie's token (no-op when it already ended). */
export async function signOut(session: { accountId: number; tokenHash: string }): Promise<void> {
  await endSession(session.accountId, session.tokenHash);
}

/** Abandons a pending sign-in (a new sign-in replaces it). */
export async function dropPendingSignIn(token: string): Promise<void> {
  if (!CHALLENGE_TOKEN.test(token)) return;
  await LoginChallenge.deleteOne({ tokenHash: hashToken(token) }).setOptions({ unscoped: true });
}
