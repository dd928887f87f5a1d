/**
 * `npx tsx bench/engine.ts [--no-baseline] [--docs N] [--iterations N]`: latency of the bundled
 * engine (FerretDB on PostgreSQL, engine/ and scripts/db.sh) at 20,000 documents, through mongoose.
 *
 * With MONGODB_URI set, it measures that server only. Otherwise it starts the bundled engine in a
 * temporary data directory, and then (unless --no-baseline) a second one with
 * GATEHOUSE_DB_GIN_TWINS=off, the baseline: FerretDB's own btree indexes only, which cannot serve
 * its `_jsonb -> 'field' @> value` filters (engine/postgresql.sql explains the GIN twins). Both
 * run the same workload, one after the other, and the table shows the speed-up. Each engine it
 * started is stopped and its directory removed.
 *
 * One client, sequential operations: the figures are per-operation latencies (median and p95,
 * milliseconds) and the sequential rate on one connection. Queries use lean() so mongoose
 * hydration does not hide the database's cost.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import mongoose, { type Connection, type Types } from 'mongoose';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const DB_SCRIPT = path.join(ROOT, 'scripts', 'db.sh');

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const raw = i >= 0 ? process.argv[i + 1] : undefined;
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`${name} needs a positive integer`);
    process.exit(2);
  }
  return n;
}

const DOCS = option('--docs', 20_000);
const ITERATIONS = option('--iterations', 300);
const WARMUP = Math.min(30, ITERATIONS);
const TENANTS = 100;
const WITH_BASELINE = !process.argv.includes('--no-baseline');

interface OpResult {
  op: string;
  median: number;
  p95: number;
  opsPerSecond: number;
}

interface RunResult {
  label: string;
  server: string;
  loadSeconds: number;
  ops: OpResult[];
}

function quantile(sorted: number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

async function measure(op: string, fn: (i: number) => Promise<unknown>): Promise<OpResult> {
  for (let i = 0; i < WARMUP; i++) await fn(i);
  const samples: number[] = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = process.hrtime.bigint();
    await fn(WARMUP + i);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
  samples.sort((a, b) => a - b);
  return { op, median: quantile(samples, 0.5), p95: quantile(samples, 0.95), opsPerSecond: (ITERATIONS * 1000) / totalMs };
}

/** A small deterministic PRNG, so both engines get the same lookups. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const userSchema = new mongoose.Schema(
  {
    tenantId: { type: String, required: true, index: true },
    email: { type: String, required: true, unique: true },
    displayName: String,
    status: String,
    createdAt: Date,
  },
  { versionKey: false },
);

async function run(label: string, uri: string): Promise<RunResult> {
  const conn: Connection = await mongoose.createConnection(uri, { dbName: `bench_engine_${process.pid}` }).asPromise();
  try {
    const User = conn.model('User', userSchema, 'users');
    await User.collection.drop().catch(() => undefined);
    await User.createCollection();
    await User.syncIndexes();
    const admin = conn.db?.admin();
    const info = admin ? await admin.command({ buildInfo: 1 }) : {};
    const server = `${String(info.ferretdbVersion ? 'FerretDB' : 'MongoDB')} (reports ${String(info.version)})`;

    const loadStart = process.hrtime.bigint();
    const ids: Types.ObjectId[] = [];
    const batch = 1000;
    for (let from = 0; from < DOCS; from += batch) {
      const docs = [];
      for (let i = from; i < Math.min(DOCS, from + batch); i++) {
        docs.push({
          tenantId: `t${i % TENANTS}`,
          email: `user${i}@example.com`,
          displayName: `User ${i}`,
          status: 'active',
          createdAt: new Date(),
        });
      }
      const inserted = await User.insertMany(docs, { ordered: false, lean: true });
      for (const d of inserted) ids.push(d._id as Types.ObjectId);
      process.stderr.write(`\r  [${label}] loading ${Math.min(DOCS, from + batch)}/${DOCS} documents`);
    }
    const loadSeconds = Number(process.hrtime.bigint() - loadStart) / 1e9;
    process.stderr.write(` in ${loadSeconds.toFixed(1)} s\n`);

    const rnd = prng(42);
    const pick = () => Math.floor(rnd() * DOCS);
    const ops: OpResult[] = [];
    const step = async (name: string, fn: (i: number) => Promise<unknown>) => {
      process.stderr.write(`  [${label}] ${name}\n`);
      ops.push(await measure(name, fn));
    };
    await step('insert one', (i) => User.create({ tenantId: `t${i % TENANTS}`, email: `new${i}@example.com`, status: 'active' }));
    await step('findById', async () => {
      const doc = await User.findById(ids[pick()]).lean();
      if (!doc) throw new Error('findById found nothing');
    });
    await step('findOne {email}', async () => {
      const doc = await User.findOne({ email: `user${pick()}@example.com` }).lean();
      if (!doc) throw new Error('findOne found nothing');
    });
    await step('findOne {tenantId, email}', async () => {
      const n = pick();
      const doc = await User.findOne({ tenantId: `t${n % TENANTS}`, email: `user${n}@example.com` }).lean();
      if (!doc) throw new Error('compound findOne found nothing');
    });
    await step(`countDocuments {tenantId}`, async () => {
      const n = await User.countDocuments({ tenantId: `t${pick() % TENANTS}` });
      if (n < DOCS / TENANTS) throw new Error(`countDocuments returned ${n}`);
    });
    await conn.db?.dropDatabase();
    return { label, server, loadSeconds, ops };
  } finally {
    await conn.close();
  }
}

interface StartedEngine {
  uri: string;
  stop(): void;
}

function startEngine(extraEnv: Record<string, string>): StartedEngine {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-engine-'));
  const env = { ...process.env, GATEHOUSE_DATA_DIR: dataDir, ...extraEnv };
  const res = spawnSync('bash', [DB_SCRIPT, 'start'], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const uri = /^MONGODB_URI=(\S+)$/m.exec(res.stdout ?? '')?.[1];
  const stop = () => {
    spawnSync('bash', [DB_SCRIPT, 'stop'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    rmSync(dataDir, { recursive: true, force: true });
  };
  if (res.status !== 0 || !uri) {
    stop();
    throw new Error(`scripts/db.sh start failed (exit ${res.status})`);
  }
  return { uri, stop };
}

async function withEngine(label: string, extraEnv: Record<string, string>): Promise<RunResult> {
  process.stderr.write(`starting the bundled engine (${label})…\n`);
  const engine = startEngine(extraEnv);
  const stopOnSignal = () => {
    engine.stop();
    process.exit(130);
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    return await run(label, engine.uri);
  } finally {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    engine.stop();
  }
}

function printTable(main: RunResult, baseline?: RunResult): void {
  const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
  const head = ['operation', 'median ms', 'p95 ms', 'ops/s'];
  if (baseline) head.push('baseline median', 'baseline p95', 'speed-up');
  const rows = main.ops.map((r, i) => {
    const row = [r.op, fmt(r.median), fmt(r.p95), fmt(r.opsPerSecond)];
    const b = baseline?.ops[i];
    if (b) row.push(fmt(b.median), fmt(b.p95), `${(b.median / r.median).toFixed(1)}x`);
    return row;
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

async function main(): Promise<void> {
  const external = process.env.MONGODB_URI;
  console.log(
    `engine benchmark: ${DOCS} documents (${TENANTS} tenants; unique index on email, index on tenantId), ` +
      `${ITERATIONS} timed operations each after ${WARMUP} warm-up, 1 client, ${os.cpus().length} cores`,
  );
  let main: RunResult;
  let baseline: RunResult | undefined;
  if (external) {
    main = await run('MONGODB_URI', external);
  } else {
    main = await withEngine('GIN twins', {});
    if (WITH_BASELINE) baseline = await withEngine('baseline: no GIN twins', { GATEHOUSE_DB_GIN_TWINS: 'off' });
  }
  console.log(
    `server: ${main.server}${external ? '' : `, bundled engine, fsync ${process.env.GATEHOUSE_DB_FSYNC === 'off' ? 'off' : 'on'}`}; ` +
      `load: ${main.loadSeconds.toFixed(1)} s (${Math.round(DOCS / main.loadSeconds)} docs/s)` +
      (baseline ? `; baseline load: ${baseline.loadSeconds.toFixed(1)} s` : ''),
  );
  printTable(main, baseline);
  if (baseline) console.log('baseline = the same engine without the GIN twin indexes (GATEHOUSE_DB_GIN_TWINS=off)');
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
