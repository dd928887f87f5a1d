/**
 * The audit trail and Resource Manager's per-resource history (seed S3 `View/getResourceHistory`):
 * one event per admin mutation, and per denied admin call, with actor, account, action,
 * resource NRN, source IP and result (ARCHITECTURE.md "Conventions"). Never secrets.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

const historyEventSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    at: { type: Date, required: true, default: () => new Date() },
    action: { type: String, required: true },
    nrn: { type: String, required: true },
    result: { type: String, enum: ['success', 'denied', 'failed'], required: true },
    errorCode: { type: String, default: null },
    actor: {
      kind: { type: String, required: true },
      id: { type: String, required: true },
      name: { type: String, default: '' },
      via: { type: String, default: '' },
      sourceIdentityId: { type: String, default: null },
    },
    sourceIp: { type: String, default: '' },
    requestId: { type: String, default: '' },
    tenantId: { type: String, default: null },
    /** Decisive policy statements of a denial (policy ids and statement indexes only). */
    decisive: { type: [Schema.Types.Mixed], default: [] },
  },
  { collection: 'history_events', versionKey: false },
);
historyEventSchema.index({ accountId: 1, at: -1 });
historyEventSchema.index({ accountId: 1, nrn: 1, at: -1 });
historyEventSchema.plugin(scopePlugin, { key: 'accountId' });

export type HistoryEventDoc = InferSchemaType<typeof historyEventSchema>;
export const HistoryEvent = mongoose.model('HistoryEvent', historyEventSchema);
