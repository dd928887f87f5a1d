/**
 * An account: the unit that owns a Single Sign-On tenant, sub accounts, policies and resources.
 * `memberNo` is Ncloud's numeric member number (it appears in every NRN, e.g.
 * `nrn:PUB:SSO::1000001:User/…`). The main account's root identity signs in to the console with
 * `rootLoginId` and a password (argon2id, secret field).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { secretPlugin } from '../../db/plugins/secret.js';

const accountSchema = new Schema(
  {
    memberNo: { type: Number, required: true, unique: true, min: 1 },
    name: { type: String, required: true, maxlength: 60 },
    type: { type: String, enum: ['main'], required: true, default: 'main' },
    organizationId: { type: String, default: null },
    rootLoginId: { type: String, required: true },
    rootPasswordHash: { type: String, required: true, secret: true },
    /** Set when the root password was generated and printed: the console asks to change it. */
    rootPasswordGenerated: { type: Boolean, default: false },
  },
  { timestamps: true, collection: 'accounts' },
);
accountSchema.index({ rootLoginId: 1 }, { unique: true });
accountSchema.plugin(secretPlugin);

export type AccountDoc = InferSchemaType<typeof accountSchema>;
export const Account = mongoose.model('Account', accountSchema);
