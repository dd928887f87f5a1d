/**
 * Secret fields (password hashes, encrypted keys, client secrets) never leave a document through
 * serialization. Mark a path with `secret: true`; this plugin
 * - strips it from `toJSON()` and `toObject()` (so an API response built from a document cannot
 *   leak it, even by mistake), and
 * - excludes it from query results by default (`select: false`), so a service that needs it must
 *   ask for it by name: `.select('+passwordHash')`.
 */
import type { Query, Schema, SchemaTypeOptions } from 'mongoose';

declare module 'mongoose' {
  interface SchemaTypeOptions<T> {
    /** Never serialized, not selected unless asked for. See src/db/plugins/secret.ts. */
    secret?: boolean;
    /** Phantom use of T keeps the augmentation's generics aligned. */
    __secretOf?: T;
  }
}

type Transform = (doc: unknown, ret: Record<string, unknown>, options: unknown) => unknown;

function deletePath(target: Record<string, unknown>, dotted: string): void {
  const parts = dotted.split('.');
  let node: unknown = target;
  for (let i = 0; i < parts.length - 1; i++) {
    if (typeof node !== 'object' || node === null) return;
    node = (node as Record<string, unknown>)[parts[i]!];
  }
  if (Array.isArray(node)) {
    for (const item of node) if (item && typeof item === 'object') delete (item as Record<string, unknown>)[parts.at(-1)!];
  } else if (typeof node === 'object' && node !== null) {
    delete (node as Record<string, unknown>)[parts.at(-1)!];
  }
}

export function secretFieldsOf(schema: Schema): string[] {
  const paths: string[] = [];
  schema.eachPath((name, type) => {
    if ((type.options as SchemaTypeOptions<unknown>).secret === true) paths.push(name);
  });
  return paths;
}

const FIND_AND_MODIFY = ['findOneAndUpdate', 'findOneAndDelete', 'findOneAndReplace'] as const;
const ADDED = Symbol('secretsAdded');

export function secretPlugin(schema: Schema): void {
  const secrets = secretFieldsOf(schema);
  if (secrets.length === 0) return;
  for (const p of secrets) schema.path(p).select(false);

  // FerretDB's findAndModify rejects projections (NotImplemented). For these operations the
  // secrets are selected explicitly (no projection is sent) and removed from the result
  // afterwards unless the caller asked for them, so every engine behaves the same.
  for (const op of FIND_AND_MODIFY) {
    schema.pre(op, function (this: Query<unknown, unknown>) {
      const fields = (this.projection() ?? {}) as Record<string, unknown>;
      const asked = new Set(Object.keys(fields).filter((k) => k.startsWith('+')).map((k) => k.slice(1)));
      const added = secrets.filter((p) => !asked.has(p) && fields[p] === undefined);
      if (added.length === 0) return;
      this.select(added.map((p) => `+${p}`).join(' '));
      (this as unknown as Record<symbol, string[]>)[ADDED] = added;
    });
    schema.post(op, function (this: Query<unknown, unknown>, res: unknown) {
      const added = (this as unknown as Record<symbol, string[] | undefined>)[ADDED];
      if (!added || !res || typeof res !== 'object') return;
      // lean results are plain objects; documents keep the values in `_doc` (toJSON strips them anyway).
      const target = ('_doc' in res ? (res as { _doc: Record<string, unknown> })._doc : res) as Record<string, unknown>;
      for (const p of added) deletePath(target, p);
    });
  }

  for (const method of ['toJSON', 'toObject'] as const) {
    const existing = schema.get(method) as { transform?: Transform | boolean } | undefined;
    const previous = typeof existing?.transform === 'function' ? existing.transform : undefined;
    schema.set(method, {
      ...(existing ?? {}),
      transform(doc: unknown, ret: Record<string, unknown>, options: unknown) {
        for (const p of secrets) deletePath(ret, p);
        return previous ? previous(doc, ret, options) : ret;
      },
    });
  }
}
