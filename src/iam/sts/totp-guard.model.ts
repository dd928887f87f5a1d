/**
 * What keeps a TOTP factor from being replayed or guessed when codes are verified for callers
 * who already hold a signing key (STS): security-bar §4 "TOTP" (each code once, RFC 6238 §5.2;
 * a per-factor attempt limit) and §6 item 41 (the same code twice, sequentially or in parallel:
 * the second is rejected; the sixth wrong code locks the factor).
 *
 * Both guards are built on inserts into a unique `_id`, because an insert is the one write that
 * is atomic on every engine Gatehouse runs on: FerretDB v1 executes an update as a read followed
 * by a write of the whole document (internal/handler/msg_update.go, then `UPDATE … WHERE _id`),
 * so a conditional `updateOne({ mfaLastStep: { $lt: step } })` lets two concurrent requests both
 * "win". The compare-and-set on `SubAccount.mfaLastStep` is kept (atomic on MongoDB, and what
 * orders steps: an older step after a newer one is refused); the markers here close the race.
 */
import mongoose, { Schema } from 'mongoose';
import { expiryPlugin } from '../../db/plugins/expiry.js';
import { scopePlugin } from '../../db/plugins/scope.js';
import { isDuplicateKeyError } from '../../shared/errors.js';
import { TOTP_PERIOD_SEC } from '../mfa/totp.js';

/** Attempts allowed per factor within MFA_ATTEMPT_WINDOW_MS; the next is refused (locked). */
export const MFA_MAX_FAILURES = 5;
export const MFA_ATTEMPT_WINDOW_MS = 15 * 60 * 1000;

/** One consumed time step of one factor (`_id` = factor + step). */
const usedStepSchema = new Schema(
  { _id: { type: String, required: true }, accountId: { type: Number, required: true }, expiresAt: { type: Date, required: true } },
  { collection: 'totp_used_steps', versionKey: false },
);
usedStepSchema.plugin(scopePlugin, { key: 'accountId' });
usedStepSchema.plugin(expiryPlugin);
const UsedTotpStep = mongoose.model('UsedTotpStep', usedStepSchema);

/**
 * One attempt slot of one factor (`_id` = factor + slot number 0..MFA_MAX_FAILURES-1). A
 * verification takes a free slot before it checks the code and keeps it when the code is wrong;
 * with every slot held, the factor is locked. Slots free themselves MFA_ATTEMPT_WINDOW_MS after
 * they were taken (a rolling window), and all at once when a right code is given.
 */
const attemptSchema = new Schema(
  {
    _id: { type: String, required: true },
    accountId: { type: Number, required: true },
    factor: { type: String, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'totp_attempts', versionKey: false },
);
attemptSchema.index({ accountId: 1, factor: 1 });
attemptSchema.plugin(scopePlugin, { key: 'accountId' });
attemptSchema.plugin(expiryPlugin);
const TotpAttempt = mongoose.model('TotpAttempt', attemptSchema);

/** Names a factor: `SubAccount:{subAccountId}` (one TOTP device per sub account). */
export const subAccountFactor = (subAccountId: string): string => `SubAccount:${subAccountId}`;

/**
 * Marks `step` of a factor as used; false when it already was. A marker outlives the code's
 * validity (±1 step, src/iam/mfa/totp.ts), so an expired marker that the sweep has not removed
 * yet can only collide with a code that no longer verifies.
 */
export async function markTotpStepUsed(accountId: number, factor: string, step: number): Promise<boolean> {
  try {
    await UsedTotpStep.create({
      _id: `${accountId}:${factor}:${step}`,
      accountId,
      expiresAt: new Date((step + 3) * TOTP_PERIOD_SEC * 1000),
    });
    return true;
  } catch (err) {
    if (isDuplicateKeyError(err)) return false;
    throw err;
  }
}

/** Takes an attempt slot; returns when the factor unlocks instead if none is free. */
export async function takeTotpAttempt(accountId: number, factor: string, now = new Date()): Promise<{ lockedUntil?: Date }> {
  const expiresAt = new Date(now.getTime() + MFA_ATTEMPT_WINDOW_MS);
  for (let slot = 0; slot < MFA_MAX_FAILURES; slot++) {
    const _id = `${accountId}:${factor}:${slot}`;
    for (let tries = 0; tries < 2; tries++) {
      try {
        await TotpAttempt.create({ _id, accountId, factor, expiresAt });
        return {};
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
      }
      // Held: free it if its window has passed and the sweep has not removed it yet, then retry
      // once (a concurrent taker may win the insert; the unique _id decides).
      const freed = await TotpAttempt.deleteOne({ _id, accountId, expiresAt: { $lte: now } }).setOptions({ includeExpired: true });
      if (freed.deletedCount === 0) break;
    }
  }
  const held = await TotpAttempt.find({ accountId, factor }).sort({ expiresAt: 1 }).limit(1).lean();
  return { lockedUntil: held[0]?.expiresAt ?? expiresAt };
}

/** A right code frees every slot of the factor. */
export async function clearTotpAttempts(accountId: number, factor: string): Promise<void> {
  await TotpAttempt.deleteMany({ accountId, factor }).setOptions({ includeExpired: true });
}
