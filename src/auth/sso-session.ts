/**
 * End-user sessions of a tenant (issue 7 "Sessions"; security-bar §4 "Session fixation",
 * "Cookies"). One service for every protocol: the login pipeline creates sessions, the portal and
 * the protocols read them, logout and the admin API end them.
 *
 * - A new random 256-bit token at every sign-in and step-up (ASVS 3.2.1): `createSsoSession`
 *   always makes a new record, `stepUpSsoSession` replaces the token of an existing one, so a
 *   token an attacker planted before authentication is never the authenticated one.
 * - The cookie is per tenant (`gh_sso_{tenantId}`; `__Host-` prefixed and Secure whenever the
 *   public URL is https), HttpOnly, SameSite=Lax, Path=/: one browser can hold sessions in several
 *   tenants, and a tenant's session is never presented to another tenant's pages.
 * - A session is live while it is unexpired (idle deadline, moved on use), before its absolute
 *   deadline, and while the user is ACTIVATED with the credential generation it was made under.
 * - Ending a session (logout, admin expiry, single-session rule, suspension) notifies the
 *   listeners registered with `onSsoSessionEnd` (OIDC back-channel logout, SAML single logout).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { CookieOptions } from 'express';
import type { Config } from '../config.js';
import type { Logger } from '../shared/logger.js';
import { hashToken } from '../shared/tokens.js';
import { SsoUser } from '../sso/users/user.model.js';
import { SsoUserSession, type SsoUserSessionDoc } from '../sso/users/user-session.model.js';

/** Longest life of a session, whatever the idle setting (Keycloak's "SSO Session Max" default is 10 h). */
export const SSO_SESSION_ABSOLUTE_SEC = 12 * 3600;
/** Idle expiry is pushed forward at most this often, so most reads stay reads. */
const TOUCH_INTERVAL_MS = 30_000;
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

export type SsoSessionRecord = SsoUserSessionDoc & { _id: unknown };

export type AuthLevel = 'pwd' | 'mfa';

export interface NewSsoSession {
  accountId: number;
  tenantId: string;
  userId: string;
  credentialGeneration: number;
  amr: string[];
  acr: AuthLevel;
  idleTimeoutSec: number;
  clientIp: string;
  userAgent?: string | undefined;
}

/** The session cookie of one tenant. Tenant ids are UUIDs, valid in a cookie name. */
export function ssoSessionCookieName(config: Pick<Config, 'baseUrl'>, tenantId: string): string {
  const base = `gh_sso_${tenantId}`;
  return config.baseUrl.startsWith('https:') ? `__Host-${base}` : base;
}

/** Cookie attributes of the session cookie (a session cookie: it ends with the browser too). */
export function ssoSessionCookieOptions(config: Pick<Config, 'baseUrl'>): CookieOptions {
  return { httpOnly: true, sameSite: 'lax', secure: config.baseUrl.startsWith('https:'), path: '/' };
}

export async function createSsoSession(input: NewSsoSession): Promise<{ token: string; session: SsoSessionRecord }> {
  const token = randomBytes(32).toString('base64url');
  const now = Date.now();
  const absolute = now + SSO_SESSION_ABSOLUTE_SEC * 1000;
  const doc = await SsoUserSession.create({
    accountId: input.accountId,
    tenantId: input.tenantId,
    userId: input.userId,
    sessionId: randomUUID(),
    tokenHash: hashToken(token),
    clientIp: input.clientIp,
    userAgent: input.userAgent?.slice(0, 256) ?? null,
    credentialGeneration: input.credentialGeneration,
    authTime: new Date(now),
    amr: input.amr,
    acr: input.acr,
    idleTimeoutSec: input.idleTimeoutSec,
    absoluteExpiresAt: new Date(absolute),
    createdAt: new Date(now),
    lastSeenAt: new Date(now),
    expiresAt: new Date(Math.min(now + input.idleTimeoutSec * 1000, absolute)),
  });
  return { token, session: doc.toObject() as SsoSessionRecord };
}

/**
 * Re-authentication inside a live session (step-up, `prompt=login`, ForceAuthn): a new token
 * replaces the old one (the old cookie value dies), and the authentication time and methods are
 * updated. Returns undefined when the session ended meanwhile.
 */
export async function stepUpSsoSession(
  s: Pick<SsoSessionRecord, 'tenantId' | 'sessionId' | 'tokenHash'>,
  auth: { amr: string[]; acr: AuthLevel },
): Promise<{ token: string; session: SsoSessionRecord } | undefined> {
  const token = randomBytes(32).toString('base64url');
  const now = new Date();
  const session = await SsoUserSession.findOneAndUpdate(
    { tenantId: s.tenantId, sessionId: s.sessionId, tokenHash: s.tokenHash },
    { $set: { tokenHash: hashToken(token), authTime: now, amr: auth.amr, acr: auth.acr, lastSeenAt: now } },
    { returnDocument: 'after' },
  ).lean<SsoSessionRecord>();
  return session ? { token, session } : undefined;
}

/**
 * The live session a cookie token names in a tenant, or null. Checks the idle deadline (expiry
 * plugin), the absolute deadline, and that the user is still ACTIVATED under the same credential
 * generation; pushes the idle deadline forward.
 */
export async function findSsoSession(tenantId: string, token: string | undefined): Promise<SsoSessionRecord | null> {
  if (!token || !TOKEN_RE.test(token)) return null;
  const s = await SsoUserSession.findOne({ tenantId, tokenHash: hashToken(token) }).lean<SsoSessionRecord>();
  if (!s || s.absoluteExpiresAt.getTime() <= Date.now()) return null;
  const user = await SsoUser.findOne({ tenantId, userId: s.userId }).select('status credentialGeneration').lean();
  if (!user || user.status !== 'ACTIVATED' || user.credentialGeneration !== s.credentialGeneration) return null;
  await touchSsoSession(s);
  return s;
}

async function touchSsoSession(s: SsoSessionRecord): Promise<void> {
  const now = Date.now();
  if (now - s.lastSeenAt.getTime() < TOUCH_INTERVAL_MS) return;
  const expiresAt = new Date(Math.min(now + s.idleTimeoutSec * 1000, s.absoluteExpiresAt.getTime()));
  await SsoUserSession.updateOne({ tenantId: s.tenantId, sessionId: s.sessionId }, { $set: { lastSeenAt: new Date(now), expiresAt } });
}

// ---------------------------------------------------------------------------------------------
// Ending sessions, and who hears about it

export type SessionEndReason = 'logout' | 'adminExpired' | 'singleSession' | 'suspended' | 'deleted' | 'userEnded';

export interface EndedSsoSession {
  accountId: number;
  tenantId: string;
  userId: string;
  sessionId: string;
  reason: SessionEndReason;
}

export type SessionEndListener = (ended: EndedSsoSession) => Promise<void>;
const listeners: SessionEndListener[] = [];
let listenerLogger: Logger | undefined;

/**
 * Registers a listener (protocols: back-channel logout, SAML SLO bookkeeping). Listeners run after
 * the session is deleted; a failing listener is logged and does not stop the others. Returns an
 * unsubscribe function (tests).
 */
export function onSsoSessionEnd(listener: SessionEndListener, logger?: Logger): () => void {
  listeners.push(listener);
  if (logger) listenerLogger = logger;
  return () => {
    const i = listeners.indexOf(listener);
    if (i >= 0) listeners.splice(i, 1);
  };
}

async function notifyEnded(ended: EndedSsoSession): Promise<void> {
  for (const l of [...listeners]) {
    try {
      await l(ended);
    } catch (err) {
      listenerLogger?.warn({ err, sessionId: ended.sessionId, tenantId: ended.tenantId }, 'a session-end listener failed');
    }
  }
}

/** Ends one session; true if it was live. Listeners hear of it once, from whichever caller deleted it. */
export async function endSsoSession(tenantId: string, sessionId: string, reason: SessionEndReason): Promise<boolean> {
  const d = await SsoUserSession.findOneAndDelete({ tenantId, sessionId }).setOptions({ includeExpired: true }).lean<SsoSessionRecord>();
  if (!d) return false;
  const live = d.expiresAt.getTime() > Date.now();
  await notifyEnded({ accountId: d.accountId, tenantId, userId: d.userId, sessionId, reason });
  return live;
}

/**
 * Ends the user's sessions (all, or all but `exceptSessionId`); returns how many were live.
 * One delete per session so each is announced exactly once even when two callers race.
 */
export async function endUserSsoSessions(tenantId: string, userId: string, reason: SessionEndReason, exceptSessionId?: string): Promise<number> {
  const all = await SsoUserSession.find({ tenantId, userId }).setOptions({ includeExpired: true }).select('sessionId').lean();
  let live = 0;
  for (const s of all) {
    if (s.sessionId === exceptSessionId) continue;
    if (await endSsoSession(tenantId, s.sessionId, reason)) live++;
  }
  return live;
}

/**
 * The CSRF token of forms that act on a live session (sign-out here; the portal's forms may use
 * it too): derived from the session's token hash, which only the server and the holder of the
 * HttpOnly cookie can know, so a cross-site page cannot produce it. It changes with the token
 * (every sign-in and step-up).
 */
export function ssoSessionCsrfToken(s: Pick<SsoSessionRecord, 'tokenHash'>): string {
  return createHash('sha256').update(`gh-sso-csrf|${s.tokenHash ?? ''}`).digest('base64url');
}
