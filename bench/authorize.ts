/**
 * `npx tsx bench/authorize.ts [--requests N] [--concurrency C] [--decisions N]` (or `npm run bench authorize`):
 * the overhead of authorizing an admin call (issue 5 "Done when": p50/p99 per request with a
 * cached compiled set). Not part of `npm test`.
 *
 * The app runs in this process (createApp, as main.ts builds it) on a real database: MONGODB_URI
 * when set, otherwise the bundled engine started on a temporary data directory (stopped and
 * removed at the end). It listens on 127.0.0.1 only, and a keep-alive HTTP client in the same
 * process sends signed `GET /api/v1/subaccount/sub-accounts?pageSize=1` requests:
 *   - baseline: signed by the main account's root key, which skips policy evaluation;
 *   - measured: signed by a sub account with 10 user policies x 5 statements (one of which
 *     allows the call under an IpAddress condition), whose compiled set is cached after the
 *     first call (nothing changes the account's stamp during the run).
 * Both do the same database reads (key, owner, the list and its count), so the difference is the
 * authorization step: loading the cached set, building the request context, evaluating.
 *
 * Printed per core: the Node process is single-threaded, so requests/s of one sequential client
 * is the figure of one core (the database engine runs in its own processes); CPU time of this
 * process per request (client signing and parsing included, alike for both) is shown too. Then a
 * small concurrent run, and the pure in-process `authorizer.decide()` cost per call (cached).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { startBundledEngine, type BundledEngine } from '../src/db/bundled.js';
import { connectDatabase } from '../src/db/connection.js';
import { Keyring } from '../src/db/encryption.js';
import { requestContext } from '../src/http/admin-route.js';
import { AccessKey, accessKeySecretContext } from '../src/iam/access-keys/access-key.model.js';
import { ACCESS_KEY_PREFIX, newKeyId, newKeySecret } from '../src/iam/access-keys/access-key.service.js';
import { Account } from '../src/iam/accounts/account.model.js';
import { signRequest } from '../src/iam/authn/signature.js';
import { Authorizer } from '../src/iam/authz/authorizer.js';
import { ChangeStamps } from '../src/iam/change-stamps.js';
import { Policy } from '../src/iam/policies/policy.model.js';
import type { AdminPrincipal } from '../src/iam/principal.js';
import { SubAccount } from '../src/iam/sub-accounts/sub-account.model.js';
import { catalog, validatePolicyDocument } from '../src/policy/index.js';

const { values: args } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '8' },
    decisions: { type: 'string', default: '200000' },
  },
});

function positive(name: string, raw: string | undefined): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--${name} needs a positive integer`);
    process.exit(2);
  }
  return n;
}

const REQUESTS = positive('requests', args.requests);
const CONCURRENCY = positive('concurrency', args.concurrency);
const DECISIONS = positive('decisions', args.decisions);
const WARMUP = Math.min(200, REQUESTS);
const BLOCK = 50;
const MEMBER_NO = 7_000_001;
const PATH = '/api/v1/subaccount/sub-accounts?pageSize=1';
const ACTION = 'SubAccount:View/getSubAccountList';

interface Key {
  label: string;
  accessKey: string;
  secret: string;
}

interface Stats {
  p50: number;
  p99: number;
  perSecond: number;
  cpuUsPerRequest: number;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}

/** 10 policies x 5 statements over Sub Account actions; one statement allows the measured call. */
function benchPolicies(): unknown[] {
  const actions = catalog.byProduct('SubAccount').map((a) => a.qualifiedName.slice(a.qualifiedName.indexOf(':') + 1));
  const docs: unknown[] = [];
  for (let p = 0; p < 10; p++) {
    const permissions: unknown[] = [];
    for (let s = 0; s < 5; s++) {
      const i = p * 5 + s;
      const action = actions[(i * 7) % actions.length]!;
      if (p === 9 && s === 4) {
        permissions.push({
          effect: 'Allow',
          targets: [{ product: 'SubAccount', actions: ['View/getSubAccountList', 'View/getSubAccountDetail'], resourceNrns: ['*'] }],
          condition: { IpAddress: { 'ncp:SourceIp': ['127.0.0.0/8', '10.0.0.0/8'] } },
        });
      } else if (s === 3) {
        permissions.push({
          effect: 'Deny',
          targets: [{ product: 'SubAccount', actions: [action], resourceNrns: [`nrn:PUB:SubAccount::${MEMBER_NO}:Role/locked-${i}`] }],
        });
      } else if (s === 2) {
        permissions.push({
          effect: 'Allow',
          targets: [
            { product: 'SubAccount', actions: [action, 'View*'], resourceNrns: [`nrn:PUB:SubAccount::${MEMBER_NO}:Group/team-${i}-*`] },
          ],
          condition: { StringEquals: { 'ncp:principalTag/team': [`team-${i}`] } },
        });
      } else {
        permissions.push({
          effect: 'Allow',
          targets: [{ product: 'SubAccount', actions: [action], resourceNrns: [`nrn:PUB:SubAccount::${MEMBER_NO}:SubAccount/*`] }],
        });
      }
    }
    const doc = { permissions };
    const v = validatePolicyDocument(doc);
    if (!v.ok) throw new Error(`bench policy ${p} is not valid: ${JSON.stringify(v.fieldErrors)}`);
    docs.push(doc);
  }
  return docs;
}

async function seed(keyring: Keyring): Promise<{ root: Key; sub: Key; subPrincipal: AdminPrincipal; rootPrincipal: AdminPrincipal }> {
  await Account.create({
    memberNo: MEMBER_NO,
    name: 'Bench',
    type: 'main',
    rootLoginId: 'bench-root',
    rootPasswordHash: '$argon2id$unused',
  });
  const policyIds: string[] = [];
  for (const [i, document] of benchPolicies().entries()) {
    const policyId = randomUUID();
    await Policy.create({ accountId: MEMBER_NO, policyId, name: `bench${i}`, nameKey: `bench${i}`, document });
    policyIds.push(policyId);
  }
  const subAccountId = randomUUID();
  await SubAccount.create({
    accountId: MEMBER_NO,
    subAccountId,
    loginId: 'bench-sub',
    loginIdKey: 'bench-sub',
    name: 'Bench Sub',
    canAPIGatewayAccess: true,
    passwordHash: '$argon2id$unused',
    policyIds,
    tags: [{ key: 'team', value: 'team-2' }],
  });
  // A few more sub accounts so the listed page and the count are not trivially empty.
  for (let i = 0; i < 20; i++) {
    await SubAccount.create({
      accountId: MEMBER_NO,
      subAccountId: randomUUID(),
      loginId: `filler${i}`,
      loginIdKey: `filler${i}`,
      name: `Filler ${i}`,
      passwordHash: '$argon2id$unused',
    });
  }
  const key = async (label: string, owner: { type: 'root' | 'subAccount'; id: string | null }): Promise<Key> => {
    const accessKey = newKeyId(ACCESS_KEY_PREFIX);
    const secret = newKeySecret();
    await AccessKey.create({
      accountId: MEMBER_NO,
      accessKey,
      secretEncrypted: keyring.encrypt(secret, accessKeySecretContext(accessKey)),
      owner,
    });
    return { label, accessKey, secret };
  };
  const root = await key('root key (no policy evaluation)', { type: 'root', id: null });
  const sub = await key('sub account key (10 policies x 5 statements)', { type: 'subAccount', id: subAccountId });
  const subPrincipal: AdminPrincipal = {
    kind: 'SubAccount',
    accountId: MEMBER_NO,
    subAccountId,
    loginId: 'bench-sub',
    name: 'Bench Sub',
    tags: { team: 'team-2' },
    via: 'accessKey',
    mfa: false,
    credentialId: sub.accessKey,
  };
  const rootPrincipal: AdminPrincipal = {
    kind: 'Root',
    accountId: MEMBER_NO,
    loginId: 'bench-root',
    via: 'accessKey',
    mfa: false,
    credentialId: root.accessKey,
  };
  return { root, sub, subPrincipal, rootPrincipal };
}

function call(port: number, agent: http.Agent, key: Key): Promise<number> {
  const ts = String(Date.now());
  const headers = {
    'x-ncp-apigw-timestamp': ts,
    'x-ncp-iam-access-key': key.accessKey,
    'x-ncp-apigw-signature-v2': signRequest(key.secret, 'GET', PATH, ts, key.accessKey),
  };
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port, path: PATH, method: 'GET', headers, agent }, (res) => {
      res.resume();
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`${key.label}: HTTP ${res.statusCode}`));
        else resolve(Number(process.hrtime.bigint() - t0) / 1e6);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `clients` requests in flight at once (1 = sequential), REQUESTS per key. Baseline and measured
 * alternate in blocks of BLOCK requests, so drift of the database or the machine affects both alike.
 */
async function measure(port: number, keys: readonly Key[], clients: number, label: string): Promise<Stats[]> {
  const agents = keys.map(() => new http.Agent({ keepAlive: true, maxSockets: clients }));
  for (const [k, key] of keys.entries()) for (let i = 0; i < WARMUP; i++) await call(port, agents[k]!, key);
  const samples = keys.map(() => [] as number[]);
  const wall = keys.map(() => 0);
  const cpu = keys.map(() => 0);
  for (let done = 0; done < REQUESTS; done += BLOCK) {
    const n = Math.min(BLOCK, REQUESTS - done);
    for (const [k, key] of keys.entries()) {
      let started = 0;
      const c0 = process.cpuUsage();
      const w0 = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: clients }, async () => {
          while (started < n) {
            started++;
            samples[k]!.push(await call(port, agents[k]!, key));
          }
        }),
      );
      wall[k]! += Number(process.hrtime.bigint() - w0) / 1e9;
      const c = process.cpuUsage(c0);
      cpu[k]! += c.user + c.system;
    }
    process.stderr.write(`\r  ${label}: ${Math.round((Math.min(done + BLOCK, REQUESTS) / REQUESTS) * 100)}%`);
  }
  process.stderr.write('\r\x1b[K');
  for (const a of agents) a.destroy();
  return samples.map((s, k) => {
    s.sort((a, b) => a - b);
    return { p50: quantile(s, 0.5), p99: quantile(s, 0.99), perSecond: s.length / wall[k]!, cpuUsPerRequest: cpu[k]! / s.length };
  });
}

/** µs per `authorizer.decide()` call, cached compiled set, after a warm-up. */
async function decideCost(authorizer: Authorizer, principal: AdminPrincipal): Promise<{ us: number; allowed: number }> {
  const input = () => ({ action: ACTION, resource: '*', context: requestContext(principal, '127.0.0.1') });
  let allowed = 0;
  for (let i = 0; i < 10_000; i++) if ((await authorizer.decide(principal, input())).decision === 'Allow') allowed++;
  allowed = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < DECISIONS; i++) if ((await authorizer.decide(principal, input())).decision === 'Allow') allowed++;
  return { us: Number(process.hrtime.bigint() - t0) / 1e3 / DECISIONS, allowed };
}

function row(label: string, s: Stats): string {
  return `  ${label.padEnd(46)} p50 ${fmt(s.p50).padStart(6)} ms   p99 ${fmt(s.p99).padStart(6)} ms   ${fmt(s.perSecond, 0).padStart(6)} req/s   ${fmt(s.cpuUsPerRequest, 0).padStart(5)} CPU-µs/req`;
}

function overhead(base: Stats, measured: Stats): string {
  return (
    `  overhead of authorization: p50 +${fmt(measured.p50 - base.p50, 3)} ms, p99 +${fmt(measured.p99 - base.p99, 3)} ms, ` +
    `CPU +${fmt(measured.cpuUsPerRequest - base.cpuUsPerRequest, 0)} µs/req; ratio measured/baseline: ` +
    `p50 ${fmt(measured.p50 / base.p50)}x, throughput ${fmt(measured.perSecond / base.perSecond)}x`
  );
}

async function main(): Promise<void> {
  const logger = pino({ level: 'silent' });
  let engine: BundledEngine | undefined;
  let dataDir: string | undefined;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-authorize-'));
    chmodSync(dataDir, 0o755); // the engine's PostgreSQL runs as the postgres user when started by root
    console.log('starting the bundled engine (no MONGODB_URI)…');
    engine = await startBundledEngine(dataDir, { GATEHOUSE_DB_FSYNC: 'off' });
    uri = engine.uri;
  }
  const masterKey = randomBytes(32);
  const db = await connectDatabase(uri, { logger, dbName: `bench_authorize_${randomBytes(4).toString('hex')}` });
  let server: http.Server | undefined;
  try {
    await db.syncIndexes();
    const keyring = new Keyring(masterKey);
    const stamps = new ChangeStamps();
    const authorizer = new Authorizer(stamps);
    const config = loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'silent',
      MONGODB_URI: uri,
      GATEHOUSE_MASTER_KEY: masterKey.toString('hex'),
    });
    const app = createApp({ config, logger, db: { ping: async () => true }, keyring, stamps, authorizer });
    const { root, sub, subPrincipal, rootPrincipal } = await seed(keyring);
    server = http.createServer(app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    console.log(
      `server: ${db.capabilities.engine} ${db.capabilities.version} at ${uri.replace(/\/\/[^@]*@/, '//')}; node ${process.version}; ${os.cpus()[0]?.model ?? 'cpu'}`,
    );
    console.log(
      `workload: signed GET ${PATH}, ${REQUESTS} requests per key after ${WARMUP} warm-up; sub account: 10 user policies x 5 statements`,
    );

    const seq = await measure(port, [root, sub], 1, 'sequential');
    console.log('\nsequential, one client (one core):');
    console.log(row(root.label, seq[0]!));
    console.log(row(sub.label, seq[1]!));
    console.log(overhead(seq[0]!, seq[1]!));

    const conc = await measure(port, [root, sub], CONCURRENCY, 'concurrent');
    console.log(`\nconcurrent, ${CONCURRENCY} clients in flight (one Node process, one core):`);
    console.log(row(root.label, conc[0]!));
    console.log(row(sub.label, conc[1]!));
    console.log(overhead(conc[0]!, conc[1]!));

    const subDecide = await decideCost(authorizer, subPrincipal);
    const rootDecide = await decideCost(authorizer, rootPrincipal);
    if (subDecide.allowed !== DECISIONS || rootDecide.allowed !== DECISIONS) throw new Error('decide() did not allow every benchmark call');
    console.log(`\nin-process authorizer.decide() (${DECISIONS} calls, compiled set cached, request context built per call):`);
    console.log(`  sub account (50 statements)  ${fmt(subDecide.us, 3)} µs/call   (${fmt(1e6 / subDecide.us, 0)} decisions/s per core)`);
    console.log(`  root (no policies)           ${fmt(rootDecide.us, 3)} µs/call   (ratio sub/root ${fmt(subDecide.us / rootDecide.us)}x)`);
  } finally {
    if (server) await new Promise<void>((resolve) => server!.close(() => resolve()));
    await db.connection.dropDatabase().catch(() => undefined);
    await db.close();
    if (engine) await engine.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
