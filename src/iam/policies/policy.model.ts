/**
 * A user-created policy (reference/ncloud-model.md §3): name unique per account
 * (case-insensitively, through `nameKey`), description ≤ 300 bytes, the Ncloud policy document,
 * tags; at most 500 per account. System-managed policies are not stored: they come from the
 * catalog (src/policy/catalog/managed.ts) and are referenced by their stable ids.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

export const POLICY_LIMIT = 500;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const policySchema = new Schema(
  {
    accountId: { type: Number, required: true },
    policyId: { type: String, required: true },
    name: { type: String, required: true },
    nameKey: { type: String, required: true },
    description: { type: String, default: '' },
    document: { type: Schema.Types.Mixed, required: true },
    /** Whether related actions were added to the Allow targets when the document was last written
     *  (seed S1 "Caution": added by default, a deselection is respected). What was decided is
     *  stored in `document`; evaluation never adds related actions. */
    relatedActionsIncluded: { type: Boolean, default: true },
    tags: { type: [tag], default: [] },
  },
  { timestamps: true, collection: 'policies', minimize: false },
);
policySchema.index({ policyId: 1 }, { unique: true });
policySchema.index({ accountId: 1, nameKey: 1 }, { unique: true });
policySchema.plugin(scopePlugin, { key: 'accountId' });

export type PolicyDoc = InferSchemaType<typeof policySchema>;
export const Policy = mongoose.model('Policy', policySchema);
