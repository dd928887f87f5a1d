/**
 * A cheap fingerprint of compile inputs, so that the IAM module's cache of compiled sets can tell whether a
 * cached set still matches (the cache itself belongs to the IAM module, issue 4 "Compilation").
 * FNV-1a in two independent 32-bit lanes: not cryptographic, collision odds ~2^-64 for honest inputs.
 */
import type { Principal } from './types.js';

/** Bumped whenever compiled semantics change, so caches built by an older engine are not reused. */
export const ENGINE_VERSION = 1;

export interface FingerprintInput {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly document: unknown;
}

/** FNV-1a; the second lane reads the string backwards so the two lanes do not collide together. */
function fnv(s: string, seed: number, step: 1 | -1): number {
  let h = seed >>> 0;
  const n = s.length;
  for (let j = 0; j < n; j++) {
    h ^= s.charCodeAt(step === 1 ? j : n - 1 - j);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function principalKey(p: Principal): string {
  const tags = p.tags
    ? Object.keys(p.tags)
        .sort()
        .map((k) => [k, p.tags?.[k]])
    : [];
  return JSON.stringify([p.type, p.id, p.name, p.uuid, p.sourceIdentityId, p.sourceIdentityType, tags]);
}

export function fingerprintPolicies(policies: readonly FingerprintInput[], principal?: Principal): string {
  let s = `v${ENGINE_VERSION}`;
  for (const p of policies) s += `\u0001${p.id}\u0000${p.kind}\u0000${p.name}\u0000${JSON.stringify(p.document)}`;
  if (principal) s += `\u0002${principalKey(principal)}`;
  return fnv(s, 0x811c9dc5, 1).toString(16).padStart(8, '0') + fnv(s, 0x050c5d1f, -1).toString(16).padStart(8, '0');
}

function sameTags(a: Principal['tags'], b: Principal['tags']): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  let n = 0;
  for (const k in a) {
    if (!Object.hasOwn(a, k)) continue;
    if (!Object.hasOwn(b, k) || a[k] !== b[k]) return false;
    n++;
  }
  for (const k in b) if (Object.hasOwn(b, k)) n--;
  return n === 0;
}

/** Two principals that bind policy variables identically (no allocation: it runs per decision). */
export function samePrincipal(a: Principal, b: Principal): boolean {
  return (
    a === b ||
    (a.type === b.type &&
      a.id === b.id &&
      a.name === b.name &&
      a.uuid === b.uuid &&
      a.sourceIdentityId === b.sourceIdentityId &&
      a.sourceIdentityType === b.sourceIdentityType &&
      sameTags(a.tags, b.tags))
  );
}
