/**
 * Messages kept in MongoDB instead of being sent (issue 7 "Notifications transport"): the
 * transport of development, tests and the demo, where no SMTP server is configured. Messages hold
 * one-time codes and reset links, so they expire (a day) like every other secret-bearing record.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { expiryPlugin } from '../db/plugins/expiry.js';

export const OUTBOX_RETENTION_MS = 24 * 3600_000;

const outboxSchema = new Schema(
  {
    to: { type: String, required: true },
    subject: { type: String, required: true },
    text: { type: String, required: true },
    /** What the message is for (`otp`, `passwordReset`, `certificateExpiry`, ...), for readers and tests. */
    kind: { type: String, required: true },
    tenantId: { type: String, default: null },
    createdAt: { type: Date, default: () => new Date() },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'notification_outbox' },
);
outboxSchema.index({ to: 1, createdAt: -1 });
outboxSchema.plugin(expiryPlugin);

export type OutboxMessageDoc = InferSchemaType<typeof outboxSchema>;
export const OutboxMessage = mongoose.model('OutboxMessage', outboxSchema);
