/**
 * The console's cookies (security-bar §4 "Cookies", ASVS 3.4.1-3.4.5): HttpOnly, Path=/,
 * SameSite, and on HTTPS base URLs Secure with the `__Host-` prefix (no Domain, so no sibling
 * host can set or read them).
 *   session: the console session token (SameSite=Lax, ends with the browser; the server
 *            enforces idle and absolute expiry);
 *   pending: the sign-in waiting for its TOTP code (5 minutes);
 *   csrf:    the double-submit CSRF token (csrf.ts).
 */
import type { CookieOptions } from 'express';
import { sessionCookieName } from '../app.js';
import type { Config } from '../config.js';
import { LOGIN_CHALLENGE_TTL_MS } from '../iam/auth/login-challenge.model.js';

export interface ConsoleCookies {
  session: string;
  pending: string;
  csrf: string;
  /** Common attributes. */
  options: CookieOptions & { httpOnly: true; path: '/'; secure: boolean };
  pendingOptions: CookieOptions;
}

export function consoleCookies(config: Pick<Config, 'baseUrl'>): ConsoleCookies {
  const secure = config.baseUrl.startsWith('https:');
  const prefix = secure ? '__Host-' : '';
  const options = { httpOnly: true as const, path: '/' as const, secure, sameSite: 'lax' as const };
  return {
    session: sessionCookieName(config),
    pending: `${prefix}gh_console_mfa`,
    csrf: `${prefix}gh_csrf`,
    options,
    pendingOptions: { ...options, sameSite: 'strict', maxAge: LOGIN_CHALLENGE_TTL_MS },
  };
}
