/**
 * The bundled engine: when MONGODB_URI is unset, Gatehouse runs on FerretDB over a private
 * PostgreSQL cluster kept in the data directory (engine/, scripts/db.sh). This module starts it
 * through scripts/db.sh, and keeps the master key file that goes with a self-contained install.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeKey } from '../config.js';

/** The repository (or installed package) root: two levels above src/db or dist/db. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DB_SCRIPT = path.join(PROJECT_ROOT, 'scripts', 'db.sh');

export class BundledEngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundledEngineError';
  }
}

function runDbScript(command: 'start' | 'stop' | 'status', dataDir: string, extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [DB_SCRIPT, command], {
      env: { ...process.env, GATEHOUSE_DATA_DIR: dataDir, ...extraEnv },
      // Progress (building, initdb, waiting) goes straight to the user's terminal.
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }));
  });
}

export interface BundledEngine {
  uri: string;
  /** False when the engine was already running before this process started it. */
  startedHere: boolean;
  stop(): Promise<void>;
}

export async function startBundledEngine(dataDir: string, extraEnv: Record<string, string> = {}): Promise<BundledEngine> {
  if (!existsSync(DB_SCRIPT)) throw new BundledEngineError(`the engine script ${DB_SCRIPT} is missing`);
  const before = await runDbScript('status', dataDir, extraEnv).catch(() => ({ code: 3, stdout: '' }));
  const res = await runDbScript('start', dataDir, extraEnv);
  const uri = /^MONGODB_URI=(\S+)$/m.exec(res.stdout)?.[1];
  if (res.code !== 0 || !uri) {
    throw new BundledEngineError(`scripts/db.sh start exited with code ${res.code}${uri ? '' : ' without printing MONGODB_URI'}`);
  }
  const startedHere = before.code !== 0;
  return {
    uri,
    startedHere,
    async stop() {
      if (startedHere) await runDbScript('stop', dataDir, extraEnv);
    },
  };
}

export async function stopBundledEngine(dataDir: string, extraEnv: Record<string, string> = {}): Promise<void> {
  await runDbScript('stop', dataDir, extraEnv);
}

/**
 * The master key of a bundled-engine install lives beside its data (`<dataDir>/master.key`,
 * mode 0600), generated on first start. Production with an external MongoDB must pass
 * GATEHOUSE_MASTER_KEY instead (config.ts enforces it), so the key is never stored with the data.
 */
export function loadOrCreateMasterKeyFile(dataDir: string): { key: Buffer; created: boolean; file: string } {
  const file = path.join(dataDir, 'master.key');
  if (existsSync(file)) {
    const key = decodeKey(readFileSync(file, 'utf8').trim());
    if (!key) throw new BundledEngineError(`${file} does not hold a 32-byte key (64 hex digits or base64)`);
    return { key, created: false, file };
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  return { key, created: true, file };
}
