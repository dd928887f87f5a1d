/**
 * Policy decision benchmark (issue 4 "Benchmark"; not part of `npm test`):
 *   npx tsx bench/policy/index.ts [--requests N]      or   npm run bench policy
 * Gatehouse, @cedar-policy/cedar-wasm (preparsed, stateful) and casbin evaluate the same seeded workload in one
 * thread of one process; the run fails (exit 1) if any decision differs between engines. Prints decisions per
 * second per engine and the ratios Gatehouse/cedar and Gatehouse/casbin.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { compile, evaluate } from '../../src/policy/index.js';
import { casbinEngine } from './casbin.js';
import { cedarEngine } from './cedar.js';
import { gatehouseInputs, makeWorkload } from './workload.js';

export interface PolicyBenchResult {
  readonly requests: number;
  readonly statements: number;
  readonly allowed: number;
  readonly perSecond: { readonly gatehouse: number; readonly cedar: number; readonly casbin: number };
  readonly ratios: { readonly cedar: number; readonly casbin: number };
  readonly disagreements: number;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** One timed pass over all requests, after an untimed warm-up over the first 2,000 (JIT and wasm tiers). */
function timeEngine(label: string, n: number, evaluate: (i: number) => boolean, out: Uint8Array): number {
  for (let i = 0; i < Math.min(n, 2000); i++) evaluate(i);
  const progressEvery = Math.max(1, Math.floor(n / 10));
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    out[i] = evaluate(i) ? 1 : 0;
    if (i % progressEvery === progressEvery - 1) process.stderr.write(`\r  ${label}: ${Math.round(((i + 1) / n) * 100)}%`);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  process.stderr.write('\r\x1b[K');
  return n / seconds;
}

export async function run(options: { requests?: number } = {}): Promise<PolicyBenchResult> {
  const n = options.requests ?? 100_000;
  const w = makeWorkload(n);
  const g = gatehouseInputs(w);
  const statements = w.policies.reduce((s, p) => s + p.length, 0);
  console.log(
    `workload: 1 principal, ${w.policies.length - 1} policies x 5 statements + 1 Deny statement (${statements} statements), ${fmt(n)} requests over ${w.actions.length} SSO actions (seeded)`,
  );

  // Gatehouse: compile once, then time whole passes over the requests until at least 2 s have passed
  // (after a warm-up pass), because one pass takes a few milliseconds.
  const set = compile(g.policies, { principal: g.principal });
  const gh = new Uint8Array(n);
  const reqs = g.requests;
  for (let i = 0; i < n; i++) gh[i] = evaluate(set, reqs[i] as (typeof reqs)[number]).decision === 'Allow' ? 1 : 0;
  let decisions = 0;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < 2) {
    for (let i = 0; i < n; i++) if (evaluate(set, reqs[i] as (typeof reqs)[number]).decision === 'Allow') sink++;
    decisions += n;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  }
  const gatehousePerSecond = decisions / elapsed;
  if (sink < 0) console.log(sink); // keeps the loop from being optimized away

  const cedar = cedarEngine(w);
  const ce = new Uint8Array(n);
  const cedarPerSecond = timeEngine('cedar-wasm', n, cedar.evaluate, ce);

  const casbin = await casbinEngine(w);
  const ca = new Uint8Array(n);
  const casbinPerSecond = timeEngine('casbin', n, casbin.evaluate, ca);

  let disagreements = 0;
  for (let i = 0; i < n; i++) {
    if (gh[i] === ce[i] && gh[i] === ca[i]) continue;
    if (disagreements < 10) {
      const r = w.requests[i];
      const d = (x: number | undefined): string => (x === 1 ? 'Allow' : 'Deny');
      console.log(`DISAGREE #${i}: ${JSON.stringify(r)} gatehouse=${d(gh[i])} cedar=${d(ce[i])} casbin=${d(ca[i])}`);
    }
    disagreements++;
  }
  const allowed = gh.reduce((s, x) => s + x, 0);
  const result: PolicyBenchResult = {
    requests: n,
    statements,
    allowed,
    perSecond: { gatehouse: gatehousePerSecond, cedar: cedarPerSecond, casbin: casbinPerSecond },
    ratios: { cedar: gatehousePerSecond / cedarPerSecond, casbin: gatehousePerSecond / casbinPerSecond },
    disagreements,
  };
  console.log(`decisions: ${fmt(allowed)} Allow, ${fmt(n - allowed)} Deny; casbin rows: ${fmt(casbin.rows)}`);
  console.log(
    `gatehouse   ${fmt(gatehousePerSecond).padStart(14)} decisions/s (one core, ${fmt(decisions)} decisions in ${elapsed.toFixed(2)} s)`,
  );
  console.log(`cedar-wasm  ${fmt(cedarPerSecond).padStart(14)} decisions/s (preparsed, stateful)`);
  console.log(`casbin      ${fmt(casbinPerSecond).padStart(14)} decisions/s`);
  console.log(`ratio gatehouse/cedar  ${result.ratios.cedar.toFixed(0)}x`);
  console.log(`ratio gatehouse/casbin ${result.ratios.casbin.toFixed(0)}x`);
  console.log(
    disagreements === 0
      ? `agreement: all three engines agree on all ${fmt(n)} decisions`
      : `agreement: ${fmt(disagreements)} DISAGREEMENTS`,
  );
  return result;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { requests: { type: 'string' } } });
  const result = await run(values.requests === undefined ? {} : { requests: Number(values.requests) });
  process.exitCode = result.disagreements > 0 ? 1 : 0;
}
