/**
 * Lockout and rate limits for console sign-in (security-bar §4 "Rate limiting / lockout /
 * stuffing", ASVS V2.2.1; §6 items 38 and 39): failures are counted per login identity and per
 * client network, in MongoDB so every process sees the same counters.
 *
 * - Identity: 5 failures within 15 minutes lock the identity for 15 minutes (Keycloak's
 *   "temporary lockout" defaults are of this order; ASVS caps at 100 per hour). The identity key
 *   is counted whether or not the login id exists, so a locked identity and an unknown one look
 *   the same.
 * - Network: 100 failures within an hour from one IPv4 address or one IPv6 /64 (a single host
 *   usually holds a whole /64, so rotating addresses inside it must not reset the count) block
 *   that network for an hour.
 *
 * Each step is one atomic statement on one document (no transactions): `$inc` with an upsert
 * on `_id`, a reset of an expired counter guarded by its expiry, and the lock set only once.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { isDuplicateKeyError } from '../../shared/errors.js';
import { LoginThrottle } from './login-throttle.model.js';

export interface ThrottleRule {
  /** Failures that trigger the lock. */
  limit: number;
  /** The counting window, from the first failure. */
  windowMs: number;
  /** How long the lock lasts once the limit is reached. */
  lockMs: number;
}

export const IDENTITY_RULE: ThrottleRule = { limit: 5, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };
export const NETWORK_RULE: ThrottleRule = { limit: 100, windowMs: 60 * 60_000, lockMs: 60 * 60_000 };

/**
 * The counter key of a login identity. Hashed: people type passwords into the login-id field,
 * and what they typed must not be stored in clear.
 */
export function identityThrottleKey(
  identity: { kind: 'Root'; loginId: string } | { kind: 'SubAccount'; accountId: number; loginId: string },
): string {
  const raw =
    identity.kind === 'Root' ? `root|${identity.loginId.toLowerCase()}` : `sub|${identity.accountId}|${identity.loginId.toLowerCase()}`;
  return `id:${createHash('sha256').update(raw).digest('base64url')}`;
}

/** The eight 16-bit groups of an IPv6 address, or undefined. */
function ipv6Groups(ip: string): number[] | undefined {
  const addr = ip.split('%')[0] ?? '';
  if (isIP(addr) !== 6) return undefined;
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const [head = '', tail] = addr.split('::') as [string, string | undefined];
  const h = toGroups(head);
  if (tail === undefined) return h;
  const t = toGroups(tail);
  return [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/** The counter key of a client network: the IPv4 address, or the IPv6 /64 it belongs to. */
export function networkThrottleKey(ip: string): string {
  if (isIP(ip) === 4) return `ip:${ip}`;
  const groups = ipv6Groups(ip);
  if (groups)
    return `ip:${groups
      .slice(0, 4)
      .map((g) => g.toString(16))
      .join(':')}::/64`;
  return 'ip:unknown';
}

/** True while the key is locked. */
export async function isThrottled(key: string, now = new Date()): Promise<boolean> {
  const doc = await LoginThrottle.findById(key).lean();
  return doc?.lockedUntil != null && doc.lockedUntil.getTime() > now.getTime();
}

/** Counts one failure; locks the key when the count reaches the rule's limit. */
export async function recordFailure(key: string, rule: ThrottleRule, now = new Date()): Promise<{ failures: number; locked: boolean }> {
  for (let attempt = 0; attempt < 4; attempt++) {
    let doc: { failures: number; lockedUntil?: Date | null; expiresAt: Date } | null;
    try {
      // Reads see only unexpired counters (expiry plugin), so an expired one makes the upsert
      // collide on `_id` instead of counting into a stale window.
      doc = await LoginThrottle.findOneAndUpdate(
        { _id: key },
        {
          $inc: { failures: 1 },
          $setOnInsert: { windowStart: now, lockedUntil: null, expiresAt: new Date(now.getTime() + rule.windowMs) },
        },
        { upsert: true, returnDocument: 'after' },
      ).lean();
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // An expired counter is still stored (engines without TTL indexes, or before the TTL
      // monitor ran): start a new window on it, guarded so two processes reset it only once.
      await LoginThrottle.updateOne(
        { _id: key, expiresAt: { $lte: now } },
        { $set: { failures: 0, windowStart: now, lockedUntil: null, expiresAt: new Date(now.getTime() + rule.windowMs) } },
      ).setOptions({ includeExpired: true });
      continue;
    }
    if (!doc) continue;
    if (doc.failures >= rule.limit && doc.lockedUntil == null) {
      const lockedUntil = new Date(now.getTime() + rule.lockMs);
      const expiresAt = new Date(Math.max(lockedUntil.getTime(), doc.expiresAt.getTime()));
      await LoginThrottle.updateOne({ _id: key, lockedUntil: null }, { $set: { lockedUntil, expiresAt } });
      return { failures: doc.failures, locked: true };
    }
    return { failures: doc.failures, locked: doc.lockedUntil != null && doc.lockedUntil.getTime() > now.getTime() };
  }
  throw new Error(`login throttle: could not count a failure for ${key}`);
}

/** Forgets an identity's failures after a successful sign-in (network counters stay). */
export async function clearFailures(key: string): Promise<void> {
  await LoginThrottle.deleteOne({ _id: key });
}
