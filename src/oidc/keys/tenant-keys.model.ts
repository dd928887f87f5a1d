/**
 * A tenant's OpenID Provider key material (issue 8 "Keys"): its signing keys (RS256 2048-bit and
 * ES256) with their rotation state, and the secret oidc-provider signs its cookies with.
 *
 * One document per tenant, so that first use (two processes racing to create the keys) is settled
 * by the unique index on `tenantId`, and a rotation is one compare-and-set on `revision`: every
 * write is atomic on one document (ARCHITECTURE.md "Storage": no transactions).
 *
 * The public halves (`keys[].publicJwk`) are plain; every private half and the cookie keys live in
 * one envelope-encrypted JSON blob (`secretsEncrypted`, keyring context `oidcTenantSecretsContext`),
 * marked secret so it is never serialized nor selected unless asked for.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';
import { secretPlugin } from '../../db/plugins/secret.js';

export const SIGNING_KEY_STATES = ['next', 'current', 'retired'] as const;
export type SigningKeyState = (typeof SIGNING_KEY_STATES)[number];
export const SIGNING_ALGS = ['RS256', 'ES256'] as const;
export type SigningAlg = (typeof SIGNING_ALGS)[number];

const signingKey = new Schema(
  {
    kid: { type: String, required: true },
    alg: { type: String, enum: SIGNING_ALGS, required: true },
    state: { type: String, enum: SIGNING_KEY_STATES, required: true },
    /** The public JWK as published in the JWKS (kty, kid, alg, use, n/e or crv/x/y). */
    publicJwk: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
    activatedAt: { type: Date, default: null },
    retiredAt: { type: Date, default: null },
  },
  { _id: false },
);

const tenantKeysSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    /** Compare-and-set guard of rotations. */
    revision: { type: Number, default: 0 },
    keys: { type: [signingKey], default: [] },
    /** Envelope-encrypted JSON `{ privateJwks: { [kid]: JWK }, cookieKeys: string[] }`. */
    secretsEncrypted: { type: String, required: true, secret: true },
  },
  { timestamps: true, collection: 'oidc_tenant_keys', minimize: false },
);
tenantKeysSchema.index({ tenantId: 1 }, { unique: true });
tenantKeysSchema.plugin(scopePlugin, { key: 'tenantId' });
tenantKeysSchema.plugin(secretPlugin);

export type TenantKeysDoc = InferSchemaType<typeof tenantKeysSchema>;
/** One signing key as stored (public half only). */
export interface StoredSigningKey {
  kid: string;
  alg: SigningAlg;
  state: SigningKeyState;
  publicJwk: Record<string, unknown>;
  createdAt: Date;
  activatedAt: Date | null;
  retiredAt: Date | null;
}
export const OidcTenantKeys = mongoose.model('OidcTenantKeys', tenantKeysSchema);

export function oidcTenantSecretsContext(tenantId: string): string {
  return `OidcTenantKeys:${tenantId}:secrets`;
}
