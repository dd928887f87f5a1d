/**
 * `useTestDatabase()` gives the calling test file its own database on the real engine, with
 * every model's indexes built, and drops it afterwards.
 */
import { randomBytes } from 'node:crypto';
import { connectDatabase, type Database } from '../../src/db/connection.js';
import { silentLogger } from './app.js';
import { testMongoUri } from './engine.js';

export interface TestDatabase {
  db: Database;
  uri: string;
  dbName: string;
}

export function useTestDatabase(label: string): TestDatabase {
  const handle = {} as TestDatabase;
  before(async function () {
    this.timeout(240_000); // the first file may wait for the engine to build and start
    handle.uri = await testMongoUri();
    handle.dbName = `t_${label.replace(/[^a-z0-9]/gi, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
    handle.db = await connectDatabase(handle.uri, { logger: silentLogger, dbName: handle.dbName });
    await handle.db.syncIndexes();
  });
  after(async () => {
    if (!handle.db) return;
    await handle.db.connection.dropDatabase();
    await handle.db.close();
  });
  return handle;
}
