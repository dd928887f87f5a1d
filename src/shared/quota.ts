/**
 * Per-owner limits (500 sub accounts, 500 policies per account, …) enforced atomically without
 * transactions: a counter document per (owner, kind) is incremented only while below the limit
 * (a filtered $inc with upsert; when the filter fails, the upsert collides with the existing
 * _id and the limit is reached). Counting documents first and inserting after would let
 * concurrent creates overshoot.
 */
import mongoose, { Schema } from 'mongoose';
import { AppError, isDuplicateKeyError } from './errors.js';

const quotaSchema = new Schema({ _id: { type: String, required: true }, n: { type: Number, default: 0 } }, { collection: 'quotas', versionKey: false });
const Quota = mongoose.model('Quota', quotaSchema);

/** Takes one unit of `key`'s quota or throws LIMIT_EXCEEDED naming the limit. */
export async function acquireQuota(key: string, limit: number, what: string): Promise<void> {
  try {
    const doc = await Quota.findOneAndUpdate({ _id: key, n: { $lt: limit } }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
    if (!doc) throw new Error('quota update returned nothing');
  } catch (err) {
    if (isDuplicateKeyError(err)) throw new AppError('LIMIT_EXCEEDED', `at most ${limit} ${what} are allowed`);
    throw err;
  }
}

/** Gives one unit back (after a delete, or when the create that took it failed). */
export async function releaseQuota(key: string): Promise<void> {
  await Quota.updateOne({ _id: key, n: { $gt: 0 } }, { $inc: { n: -1 } });
}

export async function quotaUsed(key: string): Promise<number> {
  return (await Quota.findById(key).lean())?.n ?? 0;
}
