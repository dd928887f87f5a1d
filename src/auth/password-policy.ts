/**
 * The password rules of tenant users' local credentials (issue 7 "Local credentials"), after
 * NIST SP 800-63B §3.1.1.2 (rev. 4; security-bar §4):
 *   - length over composition: at least the tenant's `passwordMinLength` (login settings, default
 *     12), at most 256 characters, no "one digit, one symbol" rules;
 *   - characters are Unicode code points after NFKC normalisation, so "ｐａｓｓ" and "pass" are one
 *     password and an emoji counts once; nothing is trimmed or truncated: spaces are characters;
 *   - refused when found on a blocklist of common and breached passwords shipped with the project
 *     (data/common-passwords.txt.gz, provenance in data/README.md), compared case-insensitively,
 *     also after stripping leading/trailing digits and punctuation ("Dragon2024!" is "dragon"),
 *     and when it is one short unit repeated or a straight run ("aaaa…", "abcdef…", "9876…"),
 *     which §3.1.1.2 lists as "repetitive or sequential characters";
 *   - refused when it contains context words: the login id, the e-mail's local part, the user's
 *     names and the service name (§3.1.1.2 "context-specific words … and derivatives thereof").
 *
 * Callers hash and verify `normalizePassword(p)` (or `hashUserPassword`/`verifyUserPassword`
 * below), never the raw input: the normalisation NIST asks for must happen on both sides or a
 * password typed on another keyboard would stop matching its own hash.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { hashPassword, verifyPassword } from '../shared/password-hash.js';

export const PASSWORD_MAX_LENGTH = 256;
/** The tenant default (login-settings.ts DEFAULT_LOGIN_SETTINGS.passwordMinLength). */
export const PASSWORD_DEFAULT_MIN_LENGTH = 12;

/**
 * Why a password was refused, as stable codes: the API turns them into one English message
 * (`describePasswordPolicyFailure`), the sign-in pages into their own language.
 */
export type PasswordPolicyReason = 'tooShort' | 'tooLong' | 'common' | 'repetitive' | 'contextWord';

export type PasswordPolicyResult = { ok: true } | { ok: false; reasons: PasswordPolicyReason[] };

export interface PasswordPolicyOptions {
  /** The tenant's `passwordMinLength`; defaults to 12. */
  minLength?: number | undefined;
  /** Words the password must not contain: login id, e-mail, first/last name, ... Empty values are ignored. */
  context?: ReadonlyArray<string | null | undefined>;
}

/** NFKC (NIST SP 800-63B §5.1.1.2): the form that is checked, hashed and verified. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

/** Hash of a tenant user's password: argon2id (OWASP parameters) over its NFKC form. */
export function hashUserPassword(password: string): Promise<string> {
  return hashPassword(normalizePassword(password));
}

/** Verifies a tenant user's password against a stored PHC string, over its NFKC form. */
export function verifyUserPassword(phc: string, password: string): Promise<boolean> {
  return verifyPassword(phc, normalizePassword(password));
}

// The service's own name is always a context word (§3.1.1.2 "the name of the service").
const SERVICE_WORDS = ['gatehouse'];
/** Context pieces shorter than this are only refused as the whole password: "kim" inside "skimming" is no leak. */
const MIN_CONTEXT_PIECE = 4;

/** Loaded once, on first use (about 56,000 entries, 160 KB gzipped). */
let blocklist: Set<string> | undefined;

/** The file lives beside the sources; from dist/auth the same relative path reaches the project root. */
const BLOCKLIST_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'auth', 'data', 'common-passwords.txt.gz');

function commonPasswords(): Set<string> {
  if (!blocklist) {
    const text = gunzipSync(readFileSync(BLOCKLIST_FILE)).toString('utf8');
    blocklist = new Set(text.split('\n').filter((line) => line.length > 0));
  }
  return blocklist;
}

/** Loads the blocklist now (at start, so the first sign-up does not pay for it). Returns its size. */
export function loadPasswordBlocklist(): number {
  return commonPasswords().size;
}

function codePoints(s: string): string[] {
  return Array.from(s);
}

/** One unit of up to 4 characters repeated over the whole password ("abab…", "aaaa…"), or a repeated common word. */
function isRepetitive(chars: string[], lower: string, common: Set<string>): boolean {
  const n = chars.length;
  for (let unit = 1; unit <= n / 2; unit++) {
    if (n % unit !== 0) continue;
    let repeats = true;
    for (let i = unit; i < n && repeats; i++) repeats = chars[i] === chars[i - unit];
    if (repeats && (unit <= 4 || common.has(codePoints(lower).slice(0, unit).join('')))) return true;
  }
  return false;
}

/** Every character one code point above (or every one below) the previous: "abcdefgh", "987654321". */
function isSequential(chars: string[]): boolean {
  if (chars.length < 3) return false;
  const cps = chars.map((c) => c.codePointAt(0) ?? 0);
  const step = (cps[1] ?? 0) - (cps[0] ?? 0);
  if (step !== 1 && step !== -1) return false;
  for (let i = 2; i < cps.length; i++) if ((cps[i] ?? 0) - (cps[i - 1] ?? 0) !== step) return false;
  return true;
}

/** The lowercase pieces of the context a password must not contain. */
function contextPieces(context: ReadonlyArray<string | null | undefined>): { whole: Set<string>; pieces: Set<string> } {
  const whole = new Set<string>();
  const pieces = new Set<string>(SERVICE_WORDS);
  for (const raw of context) {
    if (!raw) continue;
    const value = raw.normalize('NFKC').toLowerCase().trim();
    if (!value) continue;
    whole.add(value);
    // An e-mail contributes its local part (the domain is shared by every colleague and says little).
    const at = value.lastIndexOf('@');
    const local = at > 0 ? value.slice(0, at) : value;
    whole.add(local);
    for (const candidate of [local, ...local.split(/[\s._@+-]+/u)]) {
      if (codePoints(candidate).length >= MIN_CONTEXT_PIECE) pieces.add(candidate);
    }
  }
  return { whole, pieces };
}

/**
 * Checks a password against the policy. Pure apart from the blocklist, which is read from disk
 * once. Reasons are reported together (too short and common are both worth saying).
 */
export function checkPasswordPolicy(password: string, options: PasswordPolicyOptions = {}): PasswordPolicyResult {
  const minLength = options.minLength ?? PASSWORD_DEFAULT_MIN_LENGTH;
  const normalized = normalizePassword(password);
  const chars = codePoints(normalized);
  const reasons: PasswordPolicyReason[] = [];

  if (chars.length < minLength) reasons.push('tooShort');
  if (chars.length > PASSWORD_MAX_LENGTH) reasons.push('tooLong');

  const lower = normalized.toLowerCase();
  const common = commonPasswords();
  // Digits and punctuation around a listed word are the first mutations crackers try.
  const core = lower.replace(/^[\p{N}\p{P}\p{S}\s]+|[\p{N}\p{P}\p{S}\s]+$/gu, '');
  if (common.has(lower) || (core.length > 0 && common.has(core))) reasons.push('common');
  else if (chars.length > 0 && (isRepetitive(chars, lower, common) || isSequential(chars))) reasons.push('repetitive');

  const { whole, pieces } = contextPieces(options.context ?? []);
  if (whole.has(lower) || whole.has(core) || [...pieces].some((piece) => lower.includes(piece))) reasons.push('contextWord');

  return reasons.length === 0 ? { ok: true } : { ok: false, reasons };
}

/** One English sentence for API field errors and logs-free audit details. */
export function describePasswordPolicyFailure(reasons: readonly PasswordPolicyReason[], minLength = PASSWORD_DEFAULT_MIN_LENGTH): string {
  const parts = reasons.map((reason) => {
    switch (reason) {
      case 'tooShort':
        return `must be at least ${minLength} characters`;
      case 'tooLong':
        return `must be at most ${PASSWORD_MAX_LENGTH} characters`;
      case 'common':
        return 'is a commonly used or breached password';
      case 'repetitive':
        return 'must not be a repeated or sequential run of characters';
      case 'contextWord':
        return "must not contain the user's login id, e-mail, name or the service name";
    }
  });
  return parts.join('; ');
}
