/**
 * A group of sub accounts (seed S1 "Group"). Membership is stored on the sub account
 * (`groupIds`), so resolving a principal's policies reads that sub account and its groups only.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const adminGroupSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    groupId: { type: String, required: true },
    name: { type: String, required: true },
    nameKey: { type: String, required: true },
    description: { type: String, default: '' },
    policyIds: { type: [String], default: [] },
    tags: { type: [tag], default: [] },
  },
  { timestamps: true, collection: 'admin_groups' },
);
adminGroupSchema.index({ groupId: 1 }, { unique: true });
adminGroupSchema.index({ accountId: 1, nameKey: 1 }, { unique: true });
adminGroupSchema.index({ accountId: 1, policyIds: 1 });
adminGroupSchema.plugin(scopePlugin, { key: 'accountId' });

export type AdminGroupDoc = InferSchemaType<typeof adminGroupSchema>;
export const AdminGroup = mongoose.model('AdminGroup', adminGroupSchema);
