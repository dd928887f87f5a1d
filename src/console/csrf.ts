/**
 * CSRF protection of every console form, the sign-in forms included (login CSRF; security-bar
 * §4 "CSRF (admin UI)" and §6 item 44): a signed double-submit token (csrf-csrf: an HMAC of a
 * random value bound to the browser's session and pending-sign-in cookies, in an HttpOnly
 * SameSite=Strict cookie and in the form) plus a check that the request comes from the console's
 * own origin (`config.baseUrl`).
 *
 * The origin check accepts, in this order: an `Origin` header equal to the base URL's origin;
 * `Sec-Fetch-Site: same-origin`; a `Referer` on the base URL's origin. Gatehouse answers every
 * page with `Referrer-Policy: no-referrer` (http/security-headers.ts), under which browsers send
 * `Origin: null` and no Referer on form posts; Sec-Fetch-Site (sent by every current browser)
 * is what identifies those as same-origin. A request with none of the three is refused.
 *
 * The HMAC key is never a constant: it is a random key generated once per installation and kept
 * sealed under the master key (console-key.model.ts), so it is as secret as the master key and
 * shared by every process.
 */
import { randomBytes } from 'node:crypto';
import { doubleCsrf } from 'csrf-csrf';
import type { Request, RequestHandler, Response } from 'express';
import type { Config } from '../config.js';
import type { Keyring } from '../db/encryption.js';
import { isDuplicateKeyError } from '../shared/errors.js';
import { ConsoleKey } from './console-key.model.js';
import type { ConsoleCookies } from './cookies.js';

const CSRF_KEY_ID = 'csrf-hmac';
const CSRF_KEY_CONTEXT = 'ConsoleKey:csrf-hmac';
/** The form field that carries the token. */
export const CSRF_FIELD = '_csrf';

/** The installation's CSRF HMAC key: created by the first process, read by all others. */
export async function loadCsrfKey(keyring: Keyring): Promise<string> {
  const candidate = keyring.encrypt(randomBytes(32), CSRF_KEY_CONTEXT);
  let doc: { sealed: string } | null;
  try {
    doc = await ConsoleKey.findOneAndUpdate(
      { _id: CSRF_KEY_ID },
      { $setOnInsert: { sealed: candidate } },
      { upsert: true, returnDocument: 'after' },
    ).lean();
  } catch (err) {
    // Two processes inserting at once: the other one's key stands.
    if (!isDuplicateKeyError(err)) throw err;
    doc = await ConsoleKey.findById(CSRF_KEY_ID).lean();
  }
  if (!doc) throw new Error('console CSRF key could not be stored');
  return keyring.decryptToBuffer(doc.sealed, CSRF_KEY_CONTEXT).toString('hex');
}

function cookieOf(req: Request, name: string): string {
  const v = (req.cookies as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
}

/** True when the request demonstrably comes from a page of the console's own origin. */
export function comesFromOwnOrigin(req: Request, baseOrigin: string): boolean {
  const origin = req.get('origin');
  if (origin && origin !== 'null') return origin === baseOrigin;
  const fetchSite = req.get('sec-fetch-site');
  if (fetchSite) return fetchSite === 'same-origin';
  const referer = req.get('referer');
  if (referer) {
    try {
      return new URL(referer).origin === baseOrigin;
    } catch {
      return false;
    }
  }
  return false;
}

export interface ConsoleCsrf {
  /** Loads the key once per process; pages and checks wait for it. */
  ready: RequestHandler;
  /** The token to put in a page's forms (sets or keeps the cookie). */
  token(req: Request, res: Response): string;
  /** Origin check and token check for a state-changing request. */
  verify(req: Request): 'ok' | 'foreignOrigin' | 'badToken';
}

export function consoleCsrf(config: Config, keyring: Keyring, cookies: ConsoleCookies): ConsoleCsrf {
  const baseOrigin = new URL(config.baseUrl).origin;
  let key: string | undefined;
  let loading: Promise<string> | undefined;
  const { generateCsrfToken, validateRequest } = doubleCsrf({
    getSecret: () => {
      if (key === undefined) throw new Error('console CSRF key used before it was loaded');
      return key;
    },
    // Bound to the browser's console cookies: a token minted for one session (or for the
    // signed-out state) is worthless after sign-in, sign-out or in another browser.
    getSessionIdentifier: (req) => `${cookieOf(req, cookies.session)}|${cookieOf(req, cookies.pending)}`,
    cookieName: cookies.csrf,
    cookieOptions: { ...cookies.options, sameSite: 'strict' },
    getCsrfTokenFromRequest: (req) => {
      const v = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
      return typeof v === 'string' ? v : undefined;
    },
  });
  return {
    ready: (_req, _res, next) => {
      if (key !== undefined) {
        next();
        return;
      }
      loading ??= loadCsrfKey(keyring);
      loading.then(
        (k) => {
          key = k;
          next();
        },
        (err: unknown) => {
          loading = undefined;
          next(err);
        },
      );
    },
    token: (req, res) => generateCsrfToken(req, res),
    verify(req) {
      if (!comesFromOwnOrigin(req, baseOrigin)) return 'foreignOrigin';
      return validateRequest(req) ? 'ok' : 'badToken';
    },
  };
}
