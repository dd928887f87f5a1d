/**
 * Per-tenant signing keys of the OpenID Provider (issue 8 "Keys"; security-bar §4 "Tenant
 * isolation": per-tenant issuer and keys).
 *
 * Life of a key: `next` → `current` → `retired` → removed.
 * - Tokens are signed with `current` only (one RS256 and one ES256 key).
 * - `next` is published in the JWKS before it ever signs, so relying parties that cache the JWKS
 *   already hold it when a rotation makes it current.
 * - `retired` stays published until `retiredAt + RETIRED_KEY_RETENTION_SEC` (the longest life of a
 *   token we sign), so a token signed just before a rotation still verifies; then it is removed.
 * First use creates current + next. A rotation (CLI `gatehouse oidc rotate-keys`, admin API) makes
 * next current, the old current retired, and creates a new next; it bumps the tenant's change
 * stamp so every process rebuilds its cached Provider with the new keys.
 */
import { generateKeyPair, randomBytes, type JsonWebKey as NodeJwk } from 'node:crypto';
import { promisify } from 'node:util';
import type { Keyring } from '../../db/encryption.js';
import type { ChangeStamps } from '../../iam/change-stamps.js';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { tenantScope } from '../../sso/tenant/tenant-context.js';
import { ID_TOKEN_TTL_SEC } from '../lifetimes.js';
import { OidcTenantKeys, oidcTenantSecretsContext, type SigningAlg, type SigningKeyState, type StoredSigningKey } from './tenant-keys.model.js';

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * How long a retired key stays published: the longest life of anything signed with it. Gatehouse
 * signs ID tokens and logout tokens (access and refresh tokens are opaque), so that is the ID
 * token lifetime, plus oidc-provider's default clock tolerance.
 */
export const RETIRED_KEY_RETENTION_SEC = ID_TOKEN_TTL_SEC + 15;

export type Jwk = NodeJwk & { kid: string; alg: string; use: string; key_ops?: string[] };

interface TenantSecrets {
  privateJwks: Record<string, Jwk>;
  /** oidc-provider `cookies.keys`: the first signs, all verify. */
  cookieKeys: string[];
}

export interface TenantRef {
  tenantId: string;
  accountId: number;
}

/** What the Provider of a tenant is built from. */
export interface TenantKeyMaterial {
  revision: number;
  /**
   * oidc-provider's `jwks`: the current keys without `key_ops` (oidc-provider signs with them),
   * the next and unexpired retired keys with `key_ops: ['verify']` (published and usable to check
   * an `id_token_hint`, never selected for signing: keystore.selectForSign filters on key_ops).
   */
  providerJwks: { keys: Jwk[] };
  cookieKeys: string[];
  keys: PublicKeyInfo[];
}

export interface PublicKeyInfo {
  kid: string;
  alg: SigningAlg;
  state: SigningKeyState;
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
}

async function newKey(alg: SigningAlg, state: SigningKeyState, now: Date): Promise<{ stored: StoredSigningKey; privateJwk: Jwk }> {
  const kid = randomBytes(12).toString('base64url');
  const pair =
    alg === 'RS256'
      ? await generateKeyPairAsync('rsa', { modulusLength: 2048, publicExponent: 0x10001 })
      : await generateKeyPairAsync('ec', { namedCurve: 'P-256' });
  const meta = { kid, alg, use: 'sig' };
  const publicJwk = { ...pair.publicKey.export({ format: 'jwk' }), ...meta };
  const privateJwk = { ...pair.privateKey.export({ format: 'jwk' }), ...meta } as Jwk;
  return {
    stored: { kid, alg, state, publicJwk, createdAt: now, activatedAt: state === 'current' ? now : null, retiredAt: null },
    privateJwk,
  };
}

async function newKeySet(state: SigningKeyState, now: Date) {
  return Promise.all([newKey('RS256', state, now), newKey('ES256', state, now)]);
}

function isExpiredRetired(k: Pick<StoredSigningKey, 'state' | 'retiredAt'>, now: number): boolean {
  return k.state === 'retired' && (!k.retiredAt || k.retiredAt.getTime() + RETIRED_KEY_RETENTION_SEC * 1000 <= now);
}

function materialOf(doc: { revision: number; keys: StoredSigningKey[] }, secrets: TenantSecrets, now = Date.now()): TenantKeyMaterial {
  const live = doc.keys.filter((k) => !isExpiredRetired(k, now));
  const order: Record<SigningKeyState, number> = { current: 0, next: 1, retired: 2 };
  live.sort((a, b) => order[a.state as SigningKeyState] - order[b.state as SigningKeyState]);
  const keys: Jwk[] = [];
  for (const k of live) {
    const priv = secrets.privateJwks[k.kid];
    if (!priv) throw new AppError('INTERNAL', `the private half of signing key ${k.kid} is missing`);
    keys.push(k.state === 'current' ? { ...priv } : { ...priv, key_ops: ['verify'] });
  }
  return {
    revision: doc.revision,
    providerJwks: { keys },
    cookieKeys: secrets.cookieKeys,
    keys: live.map((k) => ({
      kid: k.kid,
      alg: k.alg as SigningAlg,
      state: k.state as SigningKeyState,
      createdAt: k.createdAt,
      activatedAt: k.activatedAt ?? null,
      retiredAt: k.retiredAt ?? null,
    })),
  };
}

function openSecrets(tenantId: string, sealed: string, keyring: Keyring): TenantSecrets {
  return JSON.parse(keyring.decrypt(sealed, oidcTenantSecretsContext(tenantId))) as TenantSecrets;
}

function sealSecrets(tenantId: string, secrets: TenantSecrets, keyring: Keyring): string {
  return keyring.encrypt(JSON.stringify(secrets), oidcTenantSecretsContext(tenantId));
}

interface StoredKeys {
  revision: number;
  keys: StoredSigningKey[];
  secretsEncrypted: string;
}

async function readKeys(tenantId: string): Promise<StoredKeys | null> {
  return OidcTenantKeys.findOne({ tenantId }).select('+secretsEncrypted').lean<StoredKeys>();
}

/**
 * The tenant's key material, creating current + next keys and the cookie secret on first use.
 * Two processes racing here both generate keys; the unique index keeps exactly one set and the
 * loser reads the winner's.
 */
export async function loadTenantKeys(tenant: TenantRef, keyring: Keyring): Promise<TenantKeyMaterial> {
  const existing = await readKeys(tenant.tenantId);
  if (existing) return materialOf(existing, openSecrets(tenant.tenantId, existing.secretsEncrypted, keyring));

  const now = new Date();
  const generated = [...(await newKeySet('current', now)), ...(await newKeySet('next', now))];
  const secrets: TenantSecrets = {
    privateJwks: Object.fromEntries(generated.map((g) => [g.stored.kid, g.privateJwk])),
    cookieKeys: [randomBytes(32).toString('base64url')],
  };
  try {
    await OidcTenantKeys.create({
      accountId: tenant.accountId,
      tenantId: tenant.tenantId,
      revision: 0,
      keys: generated.map((g) => g.stored),
      secretsEncrypted: sealSecrets(tenant.tenantId, secrets, keyring),
    });
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
  }
  const stored = await readKeys(tenant.tenantId);
  if (!stored) throw new AppError('INTERNAL', 'the tenant signing keys vanished after creation');
  return materialOf(stored, openSecrets(tenant.tenantId, stored.secretsEncrypted, keyring));
}

export interface RotationReport {
  tenantId: string;
  /** The keys that sign from now on (the former `next`). */
  activated: string[];
  /** The former current keys, published until `retiredUntil`. */
  retired: string[];
  retiredUntil: Date;
  /** The new `next` keys. */
  created: string[];
  /** Retired keys whose tokens have all expired, no longer published. */
  removed: string[];
}

/**
 * Rotates a tenant's signing keys: next → current, current → retired, a new next; expired
 * retired keys are dropped. One compare-and-set on the tenant's key document (retried when a
 * concurrent rotation won), then the tenant's change stamp moves so cached Providers are rebuilt.
 */
export async function rotateSigningKeys(tenant: TenantRef, deps: { keyring: Keyring; stamps: ChangeStamps }): Promise<RotationReport> {
  await loadTenantKeys(tenant, deps.keyring);
  for (let attempt = 0; attempt < 5; attempt++) {
    const doc = await readKeys(tenant.tenantId);
    if (!doc) throw new AppError('INTERNAL', 'the tenant signing keys vanished');
    const secrets = openSecrets(tenant.tenantId, doc.secretsEncrypted, deps.keyring);
    const now = new Date();
    const removed = doc.keys.filter((k) => isExpiredRetired(k, now.getTime()));
    const kept = doc.keys.filter((k) => !isExpiredRetired(k, now.getTime()));
    const activated: string[] = [];
    const retired: string[] = [];
    const rotated: StoredSigningKey[] = kept.map((k) => {
      if (k.state === 'current') {
        retired.push(k.kid);
        return { ...k, state: 'retired', retiredAt: now };
      }
      if (k.state === 'next') {
        activated.push(k.kid);
        return { ...k, state: 'current', activatedAt: now };
      }
      return k;
    });
    const fresh = await newKeySet('next', now);
    for (const k of removed) delete secrets.privateJwks[k.kid];
    for (const g of fresh) secrets.privateJwks[g.stored.kid] = g.privateJwk;
    const updated = await OidcTenantKeys.findOneAndUpdate(
      { tenantId: tenant.tenantId, revision: doc.revision },
      { $set: { keys: [...rotated, ...fresh.map((g) => g.stored)], secretsEncrypted: sealSecrets(tenant.tenantId, secrets, deps.keyring), revision: doc.revision + 1 } },
      { returnDocument: 'after' },
    ).lean();
    if (!updated) continue; // a concurrent rotation won: rotate again on top of its result
    await deps.stamps.bump(tenantScope(tenant.tenantId));
    return {
      tenantId: tenant.tenantId,
      activated,
      retired,
      retiredUntil: new Date(now.getTime() + RETIRED_KEY_RETENTION_SEC * 1000),
      created: fresh.map((g) => g.stored.kid),
      removed: removed.map((k) => k.kid),
    };
  }
  throw new AppError('CONFLICT', 'the signing keys were rotated concurrently too many times; try again');
}
