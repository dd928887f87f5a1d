/**
 * Tenant/account isolation at the storage layer (security-bar §4 "Tenant isolation", ASVS 4.2.1):
 * every query on a model that belongs to a tenant or an account must name that owner, or the
 * query throws before it reaches MongoDB. A forgotten filter becomes a crash in tests, never a
 * cross-tenant read in production. The few deliberate cross-owner operations (the expiry sweep,
 * looking up an access key before its account is known) opt out visibly with
 * `.setOptions({ unscoped: true })`.
 */
import type { Aggregate, Query, Schema } from 'mongoose';

export class UnscopedQueryError extends Error {
  constructor(model: string, op: string, key: string) {
    super(`Unscoped ${op} on ${model}: the filter must include ${key} (or opt out with setOptions({ unscoped: true }))`);
    this.name = 'UnscopedQueryError';
  }
}

export interface ScopeOptions {
  /** The owner field: 'tenantId' or 'accountId'. */
  key: 'tenantId' | 'accountId';
}

const QUERY_OPS = [
  'countDocuments',
  'deleteMany',
  'deleteOne',
  'distinct',
  'estimatedDocumentCount',
  'find',
  'findOne',
  'findOneAndDelete',
  'findOneAndReplace',
  'findOneAndUpdate',
  'replaceOne',
  'updateMany',
  'updateOne',
] as const;

/** A scope value must name owners, not match "any": a scalar, or `$eq` / `$in` of scalars. */
function isConcreteScope(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return true;
  if (typeof value !== 'object') return false;
  // ObjectId and similar BSON values
  if ('_bsontype' in value) return true;
  const entries = Object.entries(value);
  if (entries.length !== 1) return false;
  const [op, operand] = entries[0]!;
  if (op === '$eq') return isConcreteScope(operand);
  if (op === '$in') return Array.isArray(operand) && operand.length > 0 && operand.every(isConcreteScope);
  return false;
}

export function scopePlugin(schema: Schema, options: ScopeOptions): void {
  const { key } = options;
  const existing = schema.path(key);
  if (!existing) throw new Error(`scopePlugin: schema has no ${key} path`);
  // Re-declared rather than mutated: mongoose installs the immutability setter only when a
  // path is constructed with `immutable: true`. The owner of a record never changes.
  schema.add({ [key]: { ...(existing.options as object), required: true, immutable: true } });

  for (const op of QUERY_OPS) {
    schema.pre(op, function (this: Query<unknown, unknown>) {
      if (this.getOptions().unscoped === true) return;
      if (!isConcreteScope(this.getFilter()[key])) throw new UnscopedQueryError(this.model.modelName, op, key);
    });
  }

  schema.pre('aggregate', function (this: Aggregate<unknown>) {
    if (this.options.unscoped === true) return;
    const first = this.pipeline()[0] as Record<string, Record<string, unknown>> | undefined;
    const match = first?.$match;
    if (!match || !isConcreteScope(match[key])) {
      throw new UnscopedQueryError(this.model().modelName, 'aggregate', key);
    }
  });
}

declare module 'mongoose' {
  interface QueryOptions {
    /** Deliberately cross-tenant/account query: see src/db/plugins/scope.ts. */
    unscoped?: boolean;
  }
  interface AggregateOptions {
    unscoped?: boolean;
  }
}
