/**
 * What the connected engine can do, detected once at connect. Gatehouse never *depends* on
 * transactions, TTL indexes or $lookup (ARCHITECTURE.md "Storage"), but uses TTL indexes where
 * they exist and falls back to the expiry sweep where they do not.
 */
import type { Connection } from 'mongoose';

export interface EngineCapabilities {
  /** Human-readable engine name and version, for the start-up log. */
  engine: string;
  version: string;
  ferretdb: boolean;
  ttlIndexes: boolean;
  transactions: boolean;
  lookup: boolean;
}

export async function detectCapabilities(conn: Connection): Promise<EngineCapabilities> {
  const db = conn.db;
  if (!db) throw new Error('detectCapabilities: connection is not open');
  const admin = db.admin();
  const build = (await admin.command({ buildInfo: 1 })) as { version?: string; ferretdbVersion?: string; ferretdb?: unknown };
  const hello = (await admin.command({ hello: 1 })) as { setName?: string; msg?: string; logicalSessionTimeoutMinutes?: number };
  const ferretdb = typeof build.ferretdbVersion === 'string' || build.ferretdb !== undefined;

  let lookup: boolean;
  try {
    // An aggregate over a collection that need not exist: errors only if $lookup is unknown.
    await db
      .collection('gatehouse_capability_probe')
      .aggregate([{ $limit: 1 }, { $lookup: { from: 'gatehouse_capability_probe', localField: 'a', foreignField: 'b', as: 'c' } }])
      .toArray();
    lookup = true;
  } catch {
    lookup = false;
  }

  return {
    engine: ferretdb ? (build.ferretdbVersion && build.ferretdbVersion !== 'unknown' ? `FerretDB ${build.ferretdbVersion}` : 'FerretDB') : 'MongoDB',
    version: build.version ?? 'unknown',
    ferretdb,
    // FerretDB v1 accepts expireAfterSeconds in createIndexes but never deletes anything.
    ttlIndexes: !ferretdb,
    transactions: !ferretdb && (hello.setName !== undefined || hello.msg === 'isdbgrid') && hello.logicalSessionTimeoutMinutes !== undefined,
    lookup,
  };
}
