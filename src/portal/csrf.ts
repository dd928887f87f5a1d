/**
 * CSRF protection of the portal's forms (security-bar §4 "CSRF", §6 item 44): the SSO session's
 * synchronizer token plus the origin check the console uses (src/console/csrf.ts
 * `comesFromOwnOrigin`: Origin, else Sec-Fetch-Site, else Referer; none of them → refused).
 *
 * The token is the sign-in module's `ssoSessionCsrfToken` (src/auth/sso-session.ts: derived from
 * the session's token hash, which only the server and the holder of the HttpOnly cookie know), so
 * the portal's sign-out button posts to `/tenants/{t}/logout` with the very token that route
 * checks, and every portal form shares it. It changes with the session token (sign-in, step-up),
 * so a form rendered before a re-authentication is refused after it. Field name `_csrf`.
 */
import type { Request } from 'express';
import type { Config } from '../config.js';
import { sameSecret } from '../shared/tokens.js';
import { ssoSessionCsrfToken, type SsoSessionRecord } from '../auth/sso-session.js';
import { CSRF_FIELD, comesFromOwnOrigin } from '../console/csrf.js';

export const PORTAL_CSRF_FIELD = CSRF_FIELD;

/** The portal CSRF token of an SSO session. */
export function portalCsrfToken(session: Pick<SsoSessionRecord, 'tokenHash'>): string {
  return ssoSessionCsrfToken(session);
}

/** Origin check, then the token of the form against the session's. */
export function verifyPortalCsrf(req: Request, session: Pick<SsoSessionRecord, 'tokenHash'>, config: Pick<Config, 'baseUrl'>): 'ok' | 'foreignOrigin' | 'badToken' {
  if (!comesFromOwnOrigin(req, new URL(config.baseUrl).origin)) return 'foreignOrigin';
  const sent = (req.body as Record<string, unknown> | undefined)?.[PORTAL_CSRF_FIELD];
  return typeof sent === 'string' && sameSecret(sent, portalCsrfToken(session)) ? 'ok' : 'badToken';
}
