/**
 * `npm run bench [name ...]`: runs the named benchmarks (default: all), each in its own
 * process so one cannot warm or pollute another's heap. A benchmark is `bench/<name>.ts` or
 * `bench/<name>/index.ts`; each prints per-core figures and ratios against a baseline measured
 * in the same run. Not part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));

function entryOf(name: string): string | undefined {
  for (const candidate of [path.join(dir, `${name}.ts`), path.join(dir, name, 'index.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

const available = readdirSync(dir)
  // measure.ts is the protocol benchmarks' shared helper, not a benchmark.
  .filter((f) => f !== 'run.ts' && f !== 'measure.ts' && !f.startsWith('.'))
  .map((f) => (statSync(path.join(dir, f)).isDirectory() ? f : f.replace(/\.ts$/, '')))
  .filter((n) => entryOf(n) !== undefined)
  .sort();

const requested = process.argv.slice(2);
const names = requested.length ? requested : available;
let failed = 0;
for (const name of names) {
  const entry = entryOf(name);
  if (!entry) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n=== bench/${name} ===`);
  const res = spawnSync(process.execPath, ['--import', 'tsx', entry], { stdio: 'inherit' });
  if (res.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
