/**
 * Records that expire (sessions, one-time codes, OIDC artifacts, replay caches) carry an
 * `expiresAt` date. ARCHITECTURE.md "Storage": expiry is always checked when a record is read,
 * because engines without TTL indexes (FerretDB) keep expired documents until the sweep
 * (src/db/sweep.ts) removes them, and even MongoDB's TTL monitor runs only once a minute.
 *
 * The plugin adds the path, filters reads to unexpired documents (opt out with
 * `.setOptions({ includeExpired: true })`), and registers the model for TTL-index creation
 * (src/db/indexes.ts) or sweeping, depending on what the engine supports.
 */
import type { Query, Schema } from 'mongoose';

export const EXPIRING_SCHEMAS = new WeakSet<Schema>();

const READ_OPS = ['countDocuments', 'find', 'findOne', 'findOneAndUpdate', 'findOneAndReplace', 'distinct', 'updateOne', 'updateMany'] as const;

export function expiryPlugin(schema: Schema): void {
  if (!schema.path('expiresAt')) schema.add({ expiresAt: { type: Date, required: true } });
  EXPIRING_SCHEMAS.add(schema);
  for (const op of READ_OPS) {
    schema.pre(op, function (this: Query<unknown, unknown>) {
      if (this.getOptions().includeExpired === true) return;
      // Combined with $and so a caller's own condition on expiresAt is kept, not overwritten.
      this.and([{ expiresAt: { $gt: new Date() } }]);
    });
  }
}

declare module 'mongoose' {
  interface QueryOptions {
    /** Read expired records too (maintenance only). See src/db/plugins/expiry.ts. */
    includeExpired?: boolean;
  }
}
