/**
 * What the benchmarks share.
 *
 * - `option()`: command-line numbers.
 * - `measure()`: a closed loop of N concurrent workers in this process for a fixed time; reports
 *   operations per wall-clock second and per CPU-second of this process ("per core"). For
 *   baselines that are function calls (argon2id, bare samlify signing).
 * - `startLoadClient()` / `serveLoad()`: the same closed loop run by a separate Node.js process
 *   (the "browsers" or "clients"), so that "per core" for a server counts the server's CPU only
 *   (this process: HTTP server, database driver, worker threads), not the HTTP client's. A
 *   benchmark file is its own load client: started with `--load-client`, it calls `serveLoad()`
 *   with its named operations instead of `main()`.
 * - `BENCH_PROFILE=dir`: every measured window (local or remote) also writes a V8 CPU profile of
 *   this process to `dir/<label>.cpuprofile` (open it in Chrome DevTools or speedscope).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name} needs a positive number`);
    process.exit(2);
  }
  return n;
}

export interface Measured {
  count: number;
  wallSec: number;
  /** CPU seconds of this process (user + system, all threads) during the window. */
  cpuSec: number;
}

export interface RemoteMeasured extends Measured {
  /** CPU seconds the load-generating process spent (reported, never counted as the server's). */
  clientCpuSec: number;
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Starts a CPU profile when BENCH_PROFILE is set; the returned function stops it and writes `<label>.cpuprofile`. */
async function profileWindow(label: string): Promise<() => Promise<void>> {
  const dir = process.env.BENCH_PROFILE;
  if (!dir) return async () => undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${label.replace(/[^A-Za-z0-9_.-]+/g, '-')}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`  (CPU profile of "${label}" written to ${file})`);
  };
}

/** Runs `one` with `concurrency` in flight until `seconds` pass. */
async function closedLoop(seconds: number, concurrency: number, one: () => Promise<void>): Promise<{ count: number; wallSec: number }> {
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + seconds * 1000;
  let count = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await one();
        count++;
      }
    }),
  );
  return { count, wallSec: Number(process.hrtime.bigint() - t0) / 1e9 };
}

export async function measure(seconds: number, concurrency: number, one: () => Promise<void>, label = 'local'): Promise<Measured> {
  const stop = await profileWindow(label);
  const cpu0 = cpuNow();
  const r = await closedLoop(seconds, concurrency, one);
  const cpuSec = cpuNow() - cpu0;
  await stop();
  return { ...r, cpuSec };
}

export const perCore = (m: Measured): number => m.count / m.cpuSec;
export const perSec = (m: Measured): number => m.count / m.wallSec;

/** Named operations a load client can run: each factory gets the job's params and returns one operation. */
export type LoadOps = Record<string, (params: never) => (() => Promise<void>) | Promise<() => Promise<void>>>;

interface LoadJob {
  op: string;
  params: unknown;
  seconds: number;
  concurrency: number;
}

export const isLoadClient = (): boolean => process.argv.includes('--load-client');

/** The load client's main: answers one JSON line per job read from stdin. */
export async function serveLoad(ops: LoadOps): Promise<void> {
  const lines = createInterface({ input: process.stdin });
  process.stdout.write('ready\n');
  for await (const line of lines) {
    if (!line.trim()) continue;
    const job = JSON.parse(line) as LoadJob;
    try {
      const factory = ops[job.op] as ((params: unknown) => (() => Promise<void>) | Promise<() => Promise<void>>) | undefined;
      if (!factory) throw new Error(`unknown load operation "${job.op}"`);
      const one = await factory(job.params);
      const cpu0 = cpuNow();
      const r = await closedLoop(job.seconds, job.concurrency, one);
      process.stdout.write(`${JSON.stringify({ ...r, clientCpuSec: cpuNow() - cpu0 })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) })}\n`);
    }
  }
}

export interface LoadClient {
  /** Runs `op` in the client process; the returned cpuSec is this (server) process's CPU during the window. */
  run(op: string, params: unknown, seconds: number, concurrency: number, label?: string): Promise<RemoteMeasured>;
  close(): void;
}

/** Starts `benchFile` (pass `import.meta.url`) as a load client and waits until it has loaded. */
export async function startLoadClient(benchFile: string): Promise<LoadClient> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(benchFile), '--load-client'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const iterator = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.value !== 'ready') throw new Error(`the load client did not start (${String(first.value)})`);
  return {
    run: async (op, params, seconds, concurrency, label = op) => {
      const stop = await profileWindow(label);
      const cpu0 = cpuNow();
      child.stdin.write(`${JSON.stringify({ op, params, seconds, concurrency } satisfies LoadJob)}\n`);
      const answer = await iterator.next();
      const cpuSec = cpuNow() - cpu0;
      await stop();
      if (answer.done) throw new Error('the load client ended without an answer');
      const r = JSON.parse(answer.value) as { count: number; wallSec: number; clientCpuSec: number; error?: string };
      if (r.error) throw new Error(`load client: ${r.error}`);
      return { count: r.count, wallSec: r.wallSec, cpuSec, clientCpuSec: r.clientCpuSec };
    },
    close: () => {
      child.stdin.end();
    },
  };
}
