/**
 * The expiry sweep: on engines without TTL indexes, deletes records whose `expiresAt` has passed.
 * Reads already ignore such records (plugins/expiry.ts); the sweep only reclaims space. Each
 * delete is one atomic statement per collection, so several processes sweeping at once is safe.
 */
import type { Model } from 'mongoose';
import type { Logger } from '../shared/logger.js';
import { EXPIRING_SCHEMAS } from './plugins/expiry.js';

export interface SweepResult {
  [model: string]: number;
}

export function expiringModels(models: Iterable<Model<unknown>>): Model<unknown>[] {
  return [...models].filter((m) => EXPIRING_SCHEMAS.has(m.schema));
}

export async function sweepExpired(models: Iterable<Model<unknown>>, now = new Date()): Promise<SweepResult> {
  const result: SweepResult = {};
  for (const model of expiringModels(models)) {
    const res = await model
      .deleteMany({ expiresAt: { $lte: now } })
      .setOptions({ unscoped: true, includeExpired: true });
    result[model.modelName] = res.deletedCount;
  }
  return result;
}

export interface SweepHandle {
  stop(): void;
}

export function startExpirySweep(models: () => Iterable<Model<unknown>>, intervalSec: number, logger: Logger): SweepHandle {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweepExpired(models())
      .then((res) => {
        const total = Object.values(res).reduce((a, b) => a + b, 0);
        if (total > 0) logger.debug({ deleted: res }, 'expiry sweep removed expired records');
      })
      .catch((err: unknown) => logger.warn({ err }, 'expiry sweep failed; will retry'))
      .finally(() => {
        running = false;
      });
  }, intervalSec * 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
