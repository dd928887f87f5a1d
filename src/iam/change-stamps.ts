/**
 * Cross-process cache invalidation (ARCHITECTURE.md "Storage": "a change stamp in MongoDB that
 * each process polls"). Any change to an account's policies, group memberships, roles or
 * principals bumps the account's stamp atomically ($inc). Caches remember the stamp they were
 * built under; this process sees its own bumps at once and other processes' within one poll.
 */
import mongoose, { Schema } from 'mongoose';
import type { Logger } from '../shared/logger.js';

const changeStampSchema = new Schema({ _id: { type: String, required: true }, n: { type: Number, default: 0 } }, { collection: 'change_stamps', versionKey: false });
const ChangeStampModel = mongoose.model('ChangeStamp', changeStampSchema);

export class ChangeStamps {
  private readonly known = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  /** The last stamp seen for a scope (e.g. `account:1000001`), reading it once if unknown. */
  async current(scope: string): Promise<number> {
    const cached = this.known.get(scope);
    if (cached !== undefined) return cached;
    const doc = await ChangeStampModel.findById(scope).lean();
    const n = doc?.n ?? 0;
    // A concurrent bump may already have stored a newer value: never move backwards.
    this.known.set(scope, Math.max(n, this.known.get(scope) ?? 0));
    return this.known.get(scope)!;
  }

  /** Records a change: other processes see it at their next poll, this one at once. */
  async bump(scope: string): Promise<void> {
    const doc = await ChangeStampModel.findOneAndUpdate({ _id: scope }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
    this.known.set(scope, Math.max(doc?.n ?? 0, (this.known.get(scope) ?? 0) + 1));
  }

  /** Re-reads the stamps of every scope this process caches anything for. */
  async poll(): Promise<void> {
    if (this.known.size === 0) return;
    const docs = await ChangeStampModel.find({ _id: { $in: [...this.known.keys()] } }).lean();
    for (const d of docs) if (d.n > (this.known.get(d._id) ?? 0)) this.known.set(d._id, d.n);
  }

  start(intervalMs: number, logger: Logger): void {
    this.stop();
    this.timer = setInterval(() => {
      this.poll().catch((err: unknown) => logger.warn({ err }, 'change-stamp poll failed'));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}

export function accountScope(accountId: number): string {
  return `account:${accountId}`;
}
