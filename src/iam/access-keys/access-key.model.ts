/**
 * API access keys (Ncloud's `x-ncp-iam-access-key`): the key id is public, the secret is stored
 * envelope-encrypted (src/db/encryption.ts) because verifying Ncloud's HMAC request signature
 * needs the secret itself. At most 2 per owner (reference/ncloud-model.md §3).
 */
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
    status: { type: String, enum: ['active', 'inactive'], default: 'active' },
    lastUsedAt: { type: Date, default: null },
  },
  { timestamps: true, collection: 'access_keys' },
);
accessKeySchema.index({ accessKey: 1 }, { unique: true });
accessKeySchema.index({ accountId: 1, 'owner.type': 1, 'owner.id': 1 });
accessKeySchema.plugin(scopePlugin, { key: 'accountId' });
accessKeySchema.plugin(secretPlugin);

export type AccessKeyDoc = InferSchemaType<typeof accessKeySchema>;
export const AccessKey = mongoose.model('AccessKey', accessKeySchema);

/** The AAD context binding an encrypted secret to its key id (see Keyring). */
export function accessKeySecretContext(accessKey: string): string {
  return `AccessKey:${accessKey}:secret`;
}
