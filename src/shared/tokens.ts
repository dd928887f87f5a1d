/**
 * Bearer secrets held by browsers and mail boxes (session cookies, login bindings, reset links,
 * challenge tokens): only their SHA-256 is stored, so a database read reveals nothing usable, and
 * a lookup by hash is an ordinary indexed equality. One definition for every module.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

/** SHA-256 of a token, base64url: what is stored and looked up. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

/**
 * Constant-time equality of two secrets of any lengths (CSRF tokens, MACs): both sides are hashed
 * to one length first, so neither the length nor the first differing byte shows in the timing.
 * An empty or missing side is never equal.
 */
export function sameSecret(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}
