/**
 * The test suite's MongoDB-protocol server: MONGODB_URI when set (CI exports the one .ci/run
 * started), otherwise the bundled engine, started once per run on a temporary data directory
 * with fsync off, and stopped by the root hook in setup.ts.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startBundledEngine, stopBundledEngine } from '../../src/db/bundled.js';

export const TEST_ENGINE_ENV = { GATEHOUSE_DB_FSYNC: 'off' };

/** A temporary data dir the engine's PostgreSQL (run as the postgres user under root) can reach. */
export function tempEngineDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

let shared: Promise<{ uri: string; dataDir: string }> | undefined;

export function testMongoUri(): Promise<string> {
  const fromEnv = process.env.MONGODB_URI;
  if (fromEnv) return Promise.resolve(fromEnv);
  shared ??= (async () => {
    const dataDir = tempEngineDir('gatehouse-test-engine-');
    const engine = await startBundledEngine(dataDir, TEST_ENGINE_ENV);
    return { uri: engine.uri, dataDir };
  })();
  return shared.then((s) => s.uri);
}

/** Stops the engine this run started, if any (root afterAll hook). */
export async function stopSharedEngine(): Promise<void> {
  if (!shared) return;
  const { dataDir } = await shared;
  shared = undefined;
  await stopBundledEngine(dataDir, TEST_ENGINE_ENV);
  rmSync(dataDir, { recursive: true, force: true });
}

/** A private engine instance a test may stop and restart (readiness tests). */
export async function startPrivateEngine(): Promise<{ uri: string; dataDir: string; start(): Promise<string>; stop(): Promise<void>; remove(): Promise<void> }> {
  const dataDir = tempEngineDir('gatehouse-private-engine-');
  const first = await startBundledEngine(dataDir, TEST_ENGINE_ENV);
  return {
    uri: first.uri,
    dataDir,
    start: async () => (await startBundledEngine(dataDir, TEST_ENGINE_ENV)).uri,
    stop: () => stopBundledEngine(dataDir, TEST_ENGINE_ENV),
    remove: async () => {
      await stopBundledEngine(dataDir, TEST_ENGINE_ENV);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
