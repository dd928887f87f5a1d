/**
 * CSRF protection of the portal's forms (security-bar §4 "CSRF", §6 item 44): a synchronizer
 * token bound to the SSO session plus the origin check the console uses (src/console/csrf.ts
 * `comesFromOwnOrigin`: Origin, else Sec-Fetch-Site, else Referer; none of them → refused).
 *
 * The token is HMAC-SHA256(installation key, tenant id + SSO session id), so nothing is stored
 * and every process computes the same one: it is worthless in another session, another tenant or
 * after sign-out (the session id is gone), and survives a step-up (the session id stays, only
 * the cookie token changes). The key is the console's sealed random CSRF key (loadCsrfKey), used
 * here with its own domain label so a console token is never a portal token.
 *
 * Field name `_csrf` (the console's CSRF_FIELD); `portalCsrfToken` is exported so the sign-in
 * module's logout form and check can use the same token.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Config } from '../config.js';
import type { Keyring } from '../db/encryption.js';
import { CSRF_FIELD, comesFromOwnOrigin, loadCsrfKey } from '../console/csrf.js';

export const PORTAL_CSRF_FIELD = CSRF_FIELD;

let key: Promise<string> | undefined;

function csrfKey(keyring: Keyring): Promise<string> {
  key ??= loadCsrfKey(keyring).catch((err: unknown) => {
    key = undefined;
    throw err;
  });
  return key;
}

/** The portal CSRF token of an SSO session. */
export async function portalCsrfToken(keyring: Keyring, session: { tenantId: string; sessionId: string }): Promise<string> {
  return createHmac('sha256', await csrfKey(keyring)).update(`gatehouse:portal-csrf:${session.tenantId}:${session.sessionId}`).digest('base64url');
}

/** Origin check, then the token of the form against the session's. */
export async function verifyPortalCsrf(
  req: Request,
  session: { tenantId: string; sessionId: string },
  deps: { config: Pick<Config, 'baseUrl'>; keyring: Keyring },
): Promise<'ok' | 'foreignOrigin' | 'badToken'> {
  if (!comesFromOwnOrigin(req, new URL(deps.config.baseUrl).origin)) return 'foreignOrigin';
  const sent = (req.body as Record<string, unknown> | undefined)?.[PORTAL_CSRF_FIELD];
  if (typeof sent !== 'string' || sent.length === 0) return 'badToken';
  const expected = Buffer.from(await portalCsrfToken(deps.keyring, session));
  const given = Buffer.from(sent);
  return given.length === expected.length && timingSafeEqual(given, expected) ? 'ok' : 'badToken';
}
