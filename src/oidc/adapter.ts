/**
 * oidc-provider's storage adapter on MongoDB (issue 8 "MongoDB adapter"), one collection for every
 * model (src/oidc/artifact.model.ts), bound to one tenant.
 *
 * Beyond the interface:
 * - `Client` is not stored here: clients come from the tenant's Application rows
 *   (`ClientSource`, src/oidc/clients.ts).
 * - `consume` is one atomic write that only succeeds for an unconsumed artifact. oidc-provider
 *   checks `consumed` on the artifact it read and then consumes it, so two concurrent redemptions
 *   of one code or refresh token could both pass its check; here the loser finds nothing to
 *   consume, the grant is revoked (RFC 9700 §4.5, §4.14: reuse means theft) and the request fails
 *   with invalid_grant.
 * - `ReplayDetection` (private_key_jwt `jti`) is insert-only: a concurrent second use of a `jti`
 *   hits the unique `_id` and fails as invalid_client (security-bar §6 #31).
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { isDuplicateKeyError } from '../shared/errors.js';
import { OidcArtifact } from './artifact.model.js';

/** Where the provider's clients come from (the tenant's OAUTH2 applications). */
export type ClientSource = (clientId: string) => Promise<AdapterPayload | undefined>;

/** Artifacts without an expiry (none in practice) are kept this long. */
const NO_EXPIRY_SEC = 14 * 86400;
/** Models whose reuse means a stolen credential. */
const SINGLE_USE_MODELS = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);

interface StoredArtifact {
  payload: string;
  consumedAt?: Date | null;
}

function toPayload(doc: StoredArtifact | null): AdapterPayload | undefined {
  if (!doc) return undefined;
  const payload = JSON.parse(doc.payload) as AdapterPayload;
  if (doc.consumedAt) payload.consumed = Math.floor(doc.consumedAt.getTime() / 1000);
  return payload;
}

/** Revokes every grant a user gave a client (consent withdrawn), with all their tokens. */
export async function revokeUserClientGrants(tenantId: string, accountId: string, clientId: string): Promise<number> {
  const grants = await OidcArtifact.find({ tenantId, accountId, model: 'Grant', clientId }).select('_id').setOptions({ includeExpired: true }).lean();
  const grantIds = grants.map((g) => String(g._id).slice('Grant:'.length));
  if (grantIds.length) await OidcArtifact.deleteMany({ tenantId, grantId: { $in: grantIds } });
  return grantIds.length;
}

/** Deletes every artifact of a grant in a tenant (tokens, codes, the grant itself). */
export async function revokeGrantArtifacts(tenantId: string, grantId: string): Promise<void> {
  await OidcArtifact.deleteMany({ tenantId, grantId });
}

export function mongoAdapterFor(tenantId: string, clients: ClientSource): new (name: string) => Adapter {
  return class MongoAdapter implements Adapter {
    private readonly model: string;

    constructor(name: string) {
      this.model = name;
    }

    private key(id: string): string {
      return `${this.model}:${id}`;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      if (this.model === 'Client') throw new Error('clients are managed through the applications API');
      const expiresAt = new Date(Date.now() + (expiresIn ?? NO_EXPIRY_SEC) * 1000);
      const doc = {
        model: this.model,
        tenantId,
        payload: JSON.stringify(payload),
        // A grant is its own grant: revokeByGrantId then removes it with its tokens.
        grantId: this.model === 'Grant' ? id : (payload.grantId ?? null),
        userCode: payload.userCode ?? null,
        uid: payload.uid ?? null,
        accountId: this.model === 'Session' || this.model === 'Grant' ? (payload.accountId ?? null) : null,
        clientId: this.model === 'Grant' ? (payload.clientId ?? null) : null,
        expiresAt,
      };
      if (this.model === 'ReplayDetection') {
        try {
          await OidcArtifact.create({ _id: this.key(id), ...doc });
        } catch (err) {
          if (isDuplicateKeyError(err)) throw new errors.InvalidClientAuth('client assertion tokens must only be used once');
          throw err;
        }
        return;
      }
      // The hot path of every token issued: straight to the driver (no query building or
      // hydration). The filter names the tenant as the scope plugin would require, and an expired
      // leftover with this id (not yet swept) is overwritten, not duplicated.
      await OidcArtifact.collection.updateOne({ _id: this.key(id), tenantId } as Record<string, unknown>, { $set: doc }, { upsert: true });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.model === 'Client') return clients(id);
      // Driver call on the hot path (every token use); tenant-scoped and unexpired as the plugins would make it.
      const doc = await OidcArtifact.collection.findOne<StoredArtifact>({ _id: this.key(id), tenantId, expiresAt: { $gt: new Date() } } as Record<string, unknown>, {
        projection: { payload: 1, consumedAt: 1 },
      });
      return toPayload(doc);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const doc = await OidcArtifact.findOne({ tenantId, userCode, model: this.model }).select('payload consumedAt').lean<StoredArtifact>();
      return toPayload(doc);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const doc = await OidcArtifact.findOne({ tenantId, uid, model: this.model }).select('payload consumedAt').lean<StoredArtifact>();
      return toPayload(doc);
    }

    async consume(id: string): Promise<void> {
      const res = await OidcArtifact.updateOne({ _id: this.key(id), tenantId, consumedAt: null }, { $set: { consumedAt: new Date() } });
      if (res.modifiedCount === 1 || !SINGLE_USE_MODELS.has(this.model)) return;
      // Someone consumed it between oidc-provider's read and this write: a concurrent reuse.
      const doc = await OidcArtifact.findOne({ _id: this.key(id), tenantId }).select('grantId').setOptions({ includeExpired: true }).lean<{ grantId: string | null }>();
      if (doc?.grantId) await revokeGrantArtifacts(tenantId, doc.grantId);
      throw new errors.InvalidGrant('grant request is invalid (already used)');
    }

    async destroy(id: string): Promise<void> {
      await OidcArtifact.deleteOne({ _id: this.key(id), tenantId });
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await OidcArtifact.deleteMany({ tenantId, grantId, model: this.model });
    }
  };
}
