/**
 * The login pipeline as the protocols see it (ARCHITECTURE.md "Request flows": both protocols
 * share one login/MFA/session pipeline and neither knows how a user proved who they are).
 *
 *   protocol endpoint ──▶ currentSsoSession(req) + sessionSatisfies(session, requirements)?
 *        │ yes: use the session                          │ no (or passive → protocol error)
 *        │                                               ▼
 *        │                 beginLogin(req, res, { returnTo, requirements }) → 303 to the login page
 *        │                                               │  identify → password → MFA/OTP/enroll
 *        │                                               ▼
 *        │                 finishLogin (pipeline) → session cookie → 303 to returnTo?login={id}
 *        ▼                                               ▼
 *   protocol resumes ◀── takeLoginResult(req, res, tenantId, id): once, bound to this browser
 *
 * The result says who signed in, when (`authTime`) and how (`amr`, `acr`), so OIDC can honour
 * `prompt=login`/`max_age`/`acr_values` and SAML `ForceAuthn`/`RequestedAuthnContext`.
 */
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Config } from '../config.js';
import type { Keyring } from '../db/encryption.js';
import { clientIp } from '../http/client-ip.js';
import { AppError } from '../shared/errors.js';
import { hashToken } from '../shared/tokens.js';
import type { Logger } from '../shared/logger.js';
import { LoginInteraction, LOGIN_INTERACTION_TTL_MS, type LoginInteractionDoc } from './login-interaction.model.js';
import {
  createSsoSession,
  endSsoSession,
  endUserSsoSessions,
  findSsoSession,
  ssoSessionCookieName,
  ssoSessionCookieOptions,
  stepUpSsoSession,
  type AuthLevel,
  type SsoSessionRecord,
} from './sso-session.js';

export interface LoginDeps {
  config: Config;
  keyring: Keyring;
  logger: Logger;
}

/** What a protocol requires of the authentication (OIDC `prompt=login`, `max_age`, `acr_values`; SAML `ForceAuthn`, `RequestedAuthnContext`). */
export interface LoginRequirements {
  /** Authenticate again even with a live session. */
  forceAuthn?: boolean;
  /** A session whose authentication is older than this must authenticate again. */
  maxAgeSec?: number;
  /** Two factors are required (`acr=mfa`). */
  requireMfa?: boolean;
}

export interface BeginLoginInput {
  tenant: { tenantId: string; accountId: number };
  /**
   * Where to come back to: a path of this tenant (`/tenants/{tenantId or alias}/...`), never a
   * URL (no open redirect); `?login={interactionId}` is appended on completion.
   */
  returnTo: string;
  client: 'portal' | 'oidc' | 'saml';
  clientName?: string | undefined;
  requirements?: LoginRequirements | undefined;
}

export interface LoginResult {
  session: SsoSessionRecord;
  authTime: Date;
  amr: string[];
  acr: AuthLevel;
}

/** The browser-binding cookie of login interactions (one per tenant; short-lived). */
export function loginBindingCookieName(config: Pick<Config, 'baseUrl'>, tenantId: string): string {
  const base = `gh_login_${tenantId}`;
  return config.baseUrl.startsWith('https:') ? `__Host-${base}` : base;
}

const RETURN_TO = /^\/tenants\/[A-Za-z0-9-]{1,64}\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$/;

/** A return path is a same-origin path under /tenants/ with no `//`, backslash or dot segments. */
export function isSafeReturnTo(p: string): boolean {
  if (p.length > 2048 || !RETURN_TO.test(p) || p.includes('//') || p.includes('\\')) return false;
  const pathPart = p.split('?')[0] ?? '';
  return !pathPart.split('/').some((seg) => seg === '.' || seg === '..' || /%2e|%2f|%5c/i.test(seg));
}

/** The browser's live session in the tenant, or null. */
export async function currentSsoSession(req: Request, tenantId: string, config: Pick<Config, 'baseUrl'>): Promise<SsoSessionRecord | null> {
  const cookies = (req as Request & { cookies?: Record<string, string> }).cookies ?? {};
  return findSsoSession(tenantId, cookies[ssoSessionCookieName(config, tenantId)]);
}

/** Whether a live session meets the requirements without authenticating again. */
export function sessionSatisfies(s: Pick<SsoSessionRecord, 'authTime' | 'acr'>, r: LoginRequirements | undefined, now = Date.now()): boolean {
  if (!r) return true;
  if (r.forceAuthn) return false;
  if (r.maxAgeSec !== undefined && now - s.authTime.getTime() > r.maxAgeSec * 1000) return false;
  if (r.requireMfa && s.acr !== 'mfa') return false;
  return true;
}

/**
 * Starts a login interaction: stores it, binds it to this browser with a cookie, and returns the
 * URL (a path) of the tenant's login page to send the browser to with a 303.
 */
export async function beginLogin(req: Request, res: Response, input: BeginLoginInput, deps: Pick<LoginDeps, 'config'>): Promise<string> {
  if (!isSafeReturnTo(input.returnTo)) throw new AppError('VALIDATION_FAILED', 'the sign-in return path is not a path of this tenant');
  const interactionId = randomBytes(16).toString('base64url');
  const binding = randomBytes(32).toString('base64url');
  const current = await currentSsoSession(req, input.tenant.tenantId, deps.config);
  await LoginInteraction.create({
    accountId: input.tenant.accountId,
    tenantId: input.tenant.tenantId,
    interactionId,
    bindingHash: hashToken(binding),
    csrfToken: randomBytes(32).toString('base64url'),
    returnTo: input.returnTo,
    client: input.client,
    clientName: input.clientName ?? null,
    forceAuthn: input.requirements?.forceAuthn ?? false,
    maxAgeSec: input.requirements?.maxAgeSec ?? null,
    requireMfa: input.requirements?.requireMfa ?? false,
    // A live session re-authenticating keeps its identity: the pipeline starts at its user.
    stepUpSessionId: current?.sessionId ?? null,
    expiresAt: new Date(Date.now() + LOGIN_INTERACTION_TTL_MS),
  });
  res.cookie(loginBindingCookieName(deps.config, input.tenant.tenantId), binding, {
    ...ssoSessionCookieOptions(deps.config),
    maxAge: LOGIN_INTERACTION_TTL_MS,
  });
  return `/tenants/${input.tenant.tenantId}/login?interaction=${interactionId}`;
}

/** The interaction of this browser, or null (unknown, expired, or bound to another browser). */
export async function findBoundInteraction(req: Request, tenantId: string, interactionId: string, config: Pick<Config, 'baseUrl'>) {
  if (!/^[A-Za-z0-9_-]{22}$/.test(interactionId)) return null;
  const cookies = (req as Request & { cookies?: Record<string, string> }).cookies ?? {};
  const binding = cookies[loginBindingCookieName(config, tenantId)];
  if (!binding) return null;
  return LoginInteraction.findOne({ tenantId, interactionId, bindingHash: hashToken(binding) }).lean<LoginInteractionDoc>();
}

/**
 * Completes an interaction whose user passed every required factor: a new session (or a new
 * token for the session that stepped up), the cookie, the single-session rule, and the result
 * stored for the protocol. Returns where to send the browser (303).
 *
 * Guarded by state: only a not-yet-completed interaction completes, once.
 */
export async function finishLogin(
  req: Request,
  res: Response,
  it: Pick<LoginInteractionDoc, 'tenantId' | 'accountId' | 'interactionId' | 'returnTo' | 'stepUpSessionId' | 'state'>,
  who: { userId: string; credentialGeneration: number; amr: string[]; acr: AuthLevel },
  settings: { idleTimeoutSec: number; multipleLoginAllowed: boolean },
  deps: LoginDeps,
): Promise<string> {
  const claimed = await LoginInteraction.findOneAndUpdate(
    { tenantId: it.tenantId, interactionId: it.interactionId, state: { $ne: 'completed' } },
    { $set: { state: 'completed', completedAt: new Date() } },
    { returnDocument: 'after' },
  ).lean<LoginInteractionDoc>();
  if (!claimed) throw new AppError('CONFLICT', 'this sign-in was already completed');

  let opened: { token: string; session: SsoSessionRecord } | undefined;
  const current = await currentSsoSession(req, it.tenantId, deps.config);
  if (current && current.userId === who.userId && current.sessionId === it.stepUpSessionId) {
    opened = await stepUpSsoSession(current, { amr: who.amr, acr: who.acr });
  }
  opened ??= await createSsoSession({
    accountId: it.accountId,
    tenantId: it.tenantId,
    userId: who.userId,
    credentialGeneration: who.credentialGeneration,
    amr: who.amr,
    acr: who.acr,
    idleTimeoutSec: settings.idleTimeoutSec,
    clientIp: clientIp(req),
    userAgent: req.get('user-agent'),
  });
  if (!settings.multipleLoginAllowed) await endUserSsoSessions(it.tenantId, who.userId, 'singleSession', opened.session.sessionId);
  // A session of another user in this browser ends: one browser, one signed-in user per tenant.
  if (current && current.userId !== who.userId) await endSsoSession(it.tenantId, current.sessionId, 'logout');

  await LoginInteraction.updateOne(
    { tenantId: it.tenantId, interactionId: it.interactionId },
    { $set: { sessionId: opened.session.sessionId, authTime: opened.session.authTime, acr: who.acr, amr: who.amr, userId: who.userId } },
  );
  res.cookie(ssoSessionCookieName(deps.config, it.tenantId), opened.token, ssoSessionCookieOptions(deps.config));
  deps.logger.info({ event: 'sso.signIn', tenantId: it.tenantId, userId: who.userId, sessionId: opened.session.sessionId, amr: who.amr }, 'SSO sign-in completed');
  return `${it.returnTo}${it.returnTo.includes('?') ? '&' : '?'}login=${it.interactionId}`;
}

/**
 * The protocol's side of the return: the completed interaction's result, exactly once, only in
 * the browser it is bound to, and only while its session is still the browser's live session.
 */
export async function takeLoginResult(req: Request, res: Response, tenantId: string, interactionId: string, deps: Pick<LoginDeps, 'config'>): Promise<LoginResult | null> {
  const it = await findBoundInteraction(req, tenantId, interactionId, deps.config);
  if (!it || it.state !== 'completed' || !it.sessionId) return null;
  const taken = await LoginInteraction.updateOne({ tenantId, interactionId, consumedAt: null }, { $set: { consumedAt: new Date() } });
  if (taken.modifiedCount !== 1) return null;
  const session = await currentSsoSession(req, tenantId, deps.config);
  if (!session || session.sessionId !== it.sessionId) return null;
  res.clearCookie(loginBindingCookieName(deps.config, tenantId), ssoSessionCookieOptions(deps.config));
  return { session, authTime: session.authTime, amr: session.amr, acr: session.acr as AuthLevel };
}
