/**
 * Condition keys (ARCHITECTURE.md "Conditions"; ncloud-model.md §3 "Condition keys").
 *
 * Key names compare case-insensitively in their fixed part (the docs spell `ncp:principaluuid` in lower case
 * and `ncp:resourceTag` in camel case); the tag key after the slash is case-sensitive, like the tag itself.
 */
import type { AuthorizationRequest, ContextValue, Principal } from '../types.js';

/** What an action must list for a key to be usable with it (seed tables, "Available condition keys"). */
export type KeySupport = 'principal' | 'global' | 'ncp:resourceTag' | 'ncp:requestTag';

export type KeyFamily =
  | 'principalName'
  | 'principalId'
  | 'principaluuid'
  | 'principalType'
  | 'sourceIdentityId'
  | 'sourceIdentityType'
  | 'principalTag'
  | 'resourceTag'
  | 'requestTag'
  | 'TagKeys'
  | 'SourceIp'
  | 'CurrentTime'
  | 'MultiFactorAuthPresent';

export interface ConditionKey {
  /** Canonical spelling, e.g. `ncp:resourceTag/env`: the name under which the request context carries it. */
  readonly canonical: string;
  readonly family: KeyFamily;
  /** For tag families: the tag key after the slash. */
  readonly tagKey?: string;
  readonly support: KeySupport;
  /** True when the value comes from the principal (and may therefore be bound at compile time). */
  readonly fromPrincipal: boolean;
}

interface FixedKey {
  readonly canonical: string;
  readonly family: KeyFamily;
  readonly support: KeySupport;
  readonly fromPrincipal: boolean;
}

/** "All principal properties condition keys" (S3, S4; R27). */
export const PRINCIPAL_PROPERTY_KEYS = [
  'ncp:principalName',
  'ncp:principalId',
  'ncp:principaluuid',
  'ncp:principalType',
  'ncp:sourceIdentityId',
  'ncp:sourceIdentityType',
  'ncp:principalTag/*',
] as const;

/** Gatehouse's global keys, supported by every action (ARCHITECTURE.md; Ncloud has none of them, §3 [NF]). */
export const GLOBAL_KEYS = ['ncp:SourceIp', 'ncp:CurrentTime', 'ncp:MultiFactorAuthPresent'] as const;

const FIXED: readonly FixedKey[] = [
  { canonical: 'ncp:principalName', family: 'principalName', support: 'principal', fromPrincipal: true },
  { canonical: 'ncp:principalId', family: 'principalId', support: 'principal', fromPrincipal: true },
  { canonical: 'ncp:principaluuid', family: 'principaluuid', support: 'principal', fromPrincipal: true },
  { canonical: 'ncp:principalType', family: 'principalType', support: 'principal', fromPrincipal: true },
  { canonical: 'ncp:sourceIdentityId', family: 'sourceIdentityId', support: 'principal', fromPrincipal: true },
  { canonical: 'ncp:sourceIdentityType', family: 'sourceIdentityType', support: 'principal', fromPrincipal: true },
  // ncp:TagKeys lists the tag keys a request sets, so it goes with ncp:requestTag (AWS aws:TagKeys likewise).
  { canonical: 'ncp:TagKeys', family: 'TagKeys', support: 'ncp:requestTag', fromPrincipal: false },
  { canonical: 'ncp:SourceIp', family: 'SourceIp', support: 'global', fromPrincipal: false },
  { canonical: 'ncp:CurrentTime', family: 'CurrentTime', support: 'global', fromPrincipal: false },
  { canonical: 'ncp:MultiFactorAuthPresent', family: 'MultiFactorAuthPresent', support: 'global', fromPrincipal: false },
];

const FIXED_BY_LOWER = new Map(FIXED.map((k) => [k.canonical.toLowerCase(), k]));

const TAG_PREFIXES: readonly {
  readonly lower: string;
  readonly canonical: string;
  readonly family: KeyFamily;
  readonly support: KeySupport;
  readonly fromPrincipal: boolean;
}[] = [
  { lower: 'ncp:principaltag/', canonical: 'ncp:principalTag/', family: 'principalTag', support: 'principal', fromPrincipal: true },
  { lower: 'ncp:resourcetag/', canonical: 'ncp:resourceTag/', family: 'resourceTag', support: 'ncp:resourceTag', fromPrincipal: false },
  { lower: 'ncp:requesttag/', canonical: 'ncp:requestTag/', family: 'requestTag', support: 'ncp:requestTag', fromPrincipal: false },
];

/** Tag keys follow the SSO tag rule (ncloud-model.md §1 "Tags"): ≤128 characters of `[A-Za-z0-9_./=+\-@]`. */
const TAG_KEY = /^[A-Za-z0-9_./=+\-@]{1,128}$/;

export type KeyParse = { readonly ok: true; readonly key: ConditionKey } | { readonly ok: false; readonly message: string };

export function parseConditionKey(raw: string): KeyParse {
  const lower = raw.toLowerCase();
  const fixed = FIXED_BY_LOWER.get(lower);
  if (fixed) return { ok: true, key: fixed };
  for (const p of TAG_PREFIXES) {
    if (lower.startsWith(p.lower)) {
      const tagKey = raw.slice(p.lower.length);
      if (!TAG_KEY.test(tagKey)) {
        return { ok: false, message: `tag key after "${p.canonical}" must be 1-128 characters of letters, digits and _ . / = + - @` };
      }
      return {
        ok: true,
        key: { canonical: p.canonical + tagKey, family: p.family, tagKey, support: p.support, fromPrincipal: p.fromPrincipal },
      };
    }
  }
  return { ok: false, message: `unknown condition key "${raw}"` };
}

/** `ncp:principalType` values (§3: `IamUser|IamRole`). */
export function principalTypeValue(p: Principal): string | undefined {
  return p.type === 'SubAccount' ? 'IamUser' : p.type === 'Role' ? 'IamRole' : undefined;
}

/** Reads a principal-property key from a principal (undefined = absent). */
export function principalValue(key: ConditionKey, p: Principal): string | undefined {
  switch (key.family) {
    case 'principalName':
      return p.name;
    case 'principalId':
      return p.id;
    case 'principaluuid':
      return p.uuid;
    case 'principalType':
      return principalTypeValue(p);
    case 'sourceIdentityId':
      return p.sourceIdentityId;
    case 'sourceIdentityType':
      return p.sourceIdentityType;
    case 'principalTag':
      return ownTag(p.tags, key.tagKey ?? '');
    default:
      return undefined;
  }
}

/** Own properties only: a tag named `constructor` must not read Object.prototype. */
export function ownTag(tags: Readonly<Record<string, string>> | undefined, k: string): string | undefined {
  return tags !== undefined && Object.hasOwn(tags, k) ? tags[k] : undefined;
}

export type KeyGetter = (req: AuthorizationRequest) => ContextValue | null | undefined;

/**
 * A closure that reads one key from a request: principal properties from the principal, everything else
 * from `context[canonical]`. Built once per condition at compile time (no string work per decision).
 */
export function keyGetter(key: ConditionKey): KeyGetter {
  switch (key.family) {
    case 'principalName':
      return (r) => r.principal.name;
    case 'principalId':
      return (r) => r.principal.id;
    case 'principaluuid':
      return (r) => r.principal.uuid;
    case 'principalType':
      return (r) => principalTypeValue(r.principal);
    case 'sourceIdentityId':
      return (r) => r.principal.sourceIdentityId;
    case 'sourceIdentityType':
      return (r) => r.principal.sourceIdentityType;
    case 'principalTag': {
      const t = key.tagKey ?? '';
      return (r) => ownTag(r.principal.tags, t);
    }
    default: {
      const name = key.canonical;
      return (r) => {
        const c = r.context;
        return c === undefined ? undefined : c[name];
      };
    }
  }
}
