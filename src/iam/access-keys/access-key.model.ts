/**
 * API access keys (Ncloud's `x-ncp-iam-access-key`): the key id is public, the secret is stored
 * envelope-encrypted (src/db/encryption.ts) because verifying Ncloud's HMAC request signature
 * needs the secret itself. At most 2 per owner (reference/ncloud-model.md §3).
 *
 * The limit of a sub account is held by a unique index, not by counting: each key of a sub
 * account occupies slot "0" or "1" of its owner, so two concurrent creates cannot both take the
 * last slot (ARCHITECTURE.md "Storage": uniqueness only through unique indexes), and deleting a
 * key frees its slot with no counter to repair. Keys outside that limit (the root key from
 * GATEHOUSE_ROOT_ACCESS_KEY, fixtures) get a slot of their own that nothing else can take.
 */
import { randomUUID } from 'node:crypto';
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';
import { secretPlugin } from '../../db/plugins/secret.js';

const accessKeySchema = new Schema(
  {
    accountId: { type: Number, required: true },
    accessKey: { type: String, required: true },
    secretEncrypted: { type: String, required: true, secret: true },
    owner: {
      type: { type: String, enum: ['root', 'subAccount'], required: true },
      id: { type: String, default: null },
    },
    /** "0" / "1" for sub-account keys (SUB_ACCOUNT_ACCESS_KEY_LIMIT); a unique filler otherwise. */
    slot: { type: String, default: () => `free:${randomUUID()}` },
    status: { type: String, enum: ['active', 'inactive'], default: 'active' },
    lastUsedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'access_keys' },
);
accessKeySchema.index({ accessKey: 1 }, { unique: true });
accessKeySchema.index({ accountId: 1, 'owner.type': 1, 'owner.id': 1, slot: 1 }, { unique: true });
accessKeySchema.plugin(scopePlugin, { key: 'accountId' });
accessKeySchema.plugin(secretPlugin);

/** Ncloud: at most 2 access keys per sub account (seed S1, reference/ncloud-model.md §3). */
export const SUB_ACCOUNT_ACCESS_KEY_LIMIT = 2;
export const SUB_ACCOUNT_KEY_SLOTS = Array.from({ length: SUB_ACCOUNT_ACCESS_KEY_LIMIT }, (_, i) => String(i));

export type AccessKeyDoc = InferSchemaType<typeof accessKeySchema>;
export const AccessKey = mongoose.model('AccessKey', accessKeySchema);

/** The AAD context binding an encrypted secret to its key id (see Keyring). */
export function accessKeySecretContext(accessKey: string): string {
  return `AccessKey:${accessKey}:secret`;
}
