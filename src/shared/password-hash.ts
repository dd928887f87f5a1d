/**
 * Password hashing: argon2id at the OWASP parameters (m = 19 MiB, t = 2, p = 1; security-bar §4),
 * PHC strings, computed on libuv's thread pool by @node-rs/argon2 so the event loop keeps serving.
 * `needsRehash` lets a successful login upgrade a hash when the parameters rise.
 */
import { hash, verify } from '@node-rs/argon2';

/** `Algorithm.Argon2id` of @node-rs/argon2 (an ambient const enum, not importable under verbatimModuleSyntax). */
const ARGON2ID = 2;

export const PASSWORD_HASH_PARAMS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, { ...PASSWORD_HASH_PARAMS, algorithm: ARGON2ID });
}

export async function verifyPassword(phc: string, password: string): Promise<boolean> {
  try {
    return await verify(phc, password);
  } catch {
    // A malformed stored hash is a failed verification, never an exception path an attacker can probe.
    return false;
  }
}

export function needsRehash(phc: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(phc);
  if (!m) return true;
  return Number(m[1]) < PASSWORD_HASH_PARAMS.memoryCost || Number(m[2]) < PASSWORD_HASH_PARAMS.timeCost;
}
