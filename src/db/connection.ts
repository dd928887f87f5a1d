/**
 * The database: one mongoose connection (MongoDB 6+ in production, the bundled FerretDB engine
 * in development and tests), its detected capabilities, index synchronisation and the readiness
 * probe. Models are declared on the global mongoose instance by their modules; this file owns
 * when indexes are built and how the connection is opened and closed.
 */
import mongoose, { type Connection, type Model } from 'mongoose';
import type { Logger } from '../shared/logger.js';
import { detectCapabilities, type EngineCapabilities } from './capabilities.js';
import { expiringModels, startExpirySweep, type SweepHandle } from './sweep.js';

// Fail closed on typos in filters: an unknown path would otherwise be dropped silently,
// widening the query (a dropped `tenantId` filter would read every tenant).
mongoose.set('strictQuery', 'throw');
// Indexes are built once at boot by syncIndexes(), not lazily per model.
mongoose.set('autoIndex', false);

export interface Database {
  connection: Connection;
  capabilities: EngineCapabilities;
  /** True when the engine answers a ping within the timeout. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Builds every model's indexes, plus TTL (or plain) indexes on `expiresAt`. Idempotent. */
  syncIndexes(): Promise<void>;
  /** Starts the expiry sweep where the engine has no TTL indexes; returns undefined otherwise. */
  startSweep(intervalSec: number): SweepHandle | undefined;
  close(): Promise<void>;
}

export interface ConnectOptions {
  logger: Logger;
  /** Database name when the URI has none (tests give every file its own). */
  dbName?: string;
  serverSelectionTimeoutMS?: number;
}

export function allModels(): Model<unknown>[] {
  return Object.values(mongoose.models) as Model<unknown>[];
}

export async function connectDatabase(uri: string, options: ConnectOptions): Promise<Database> {
  const { logger } = options;
  await mongoose.connect(uri, {
    ...(options.dbName ? { dbName: options.dbName } : {}),
    serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 10_000,
    bufferCommands: false,
    autoIndex: false,
    // A URI without a database name lands in `gatehouse`, not in MongoDB's `test`.
    ...(options.dbName || hasDbName(uri) ? {} : { dbName: 'gatehouse' }),
  });
  const connection = mongoose.connection;
  const capabilities = await detectCapabilities(connection);
  logger.info(
    { engine: capabilities.engine, version: capabilities.version, db: connection.name, capabilities },
    `connected to ${capabilities.engine} (MongoDB ${capabilities.version} protocol), database "${connection.name}"`,
  );

  return {
    connection,
    capabilities,
    async ping(timeoutMs = 2000) {
      const db = connection.db;
      if (connection.readyState !== mongoose.ConnectionStates.connected || !db) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      try {
        return await Promise.race([
          db
            .admin()
            .command({ ping: 1 })
            .then(() => true)
            .catch(() => false),
          timeout,
        ]);
      } finally {
        clearTimeout(timer);
      }
    },
    async syncIndexes() {
      for (const model of allModels()) {
        await model.createIndexes();
      }
      for (const model of expiringModels(allModels())) {
        await model.collection.createIndex(
          { expiresAt: 1 },
          capabilities.ttlIndexes ? { expireAfterSeconds: 0, name: 'expiresAt_ttl' } : { name: 'expiresAt_1' },
        );
      }
    },
    startSweep(intervalSec) {
      if (capabilities.ttlIndexes) return undefined;
      logger.info({ intervalSec }, 'engine has no TTL indexes: expired records are swept periodically');
      return startExpirySweep(allModels, intervalSec, logger);
    },
    async close() {
      await mongoose.disconnect();
    },
  };
}

function hasDbName(uri: string): boolean {
  const afterHosts = uri.replace(/^mongodb(\+srv)?:\/\/[^/]*/, '');
  const name = afterHosts.replace(/^\//, '').split('?')[0];
  return Boolean(name);
}
