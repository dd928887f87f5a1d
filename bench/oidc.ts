/**
 * `npm run bench oidc` (or `npx tsx bench/oidc.ts [--seconds N] [--concurrency N]`): the OpenID
 * Provider's throughput (issue 8 "Done when"), in one run:
 *
 * 1. client-credentials grants per second per core: Gatehouse's tenant provider with the MongoDB
 *    adapter (`POST /tenants/{t}/oauth2/token` through the whole express app: tenant resolution,
 *    provider cache and stamp check, client from the cached application, the token stored in
 *    oidc_artifacts) against a bare oidc-provider with its in-memory adapter and the same static
 *    client, both over HTTP on loopback (target ≥ 1,000/s/core and ≥ 30% of in-memory);
 * 2. full authorization-code logins per second per core with a live Gatehouse session: authorize
 *    → interaction → resume → code → token exchange (ID token signed, access token stored), PKCE,
 *    every cookie and redirect as a browser does them. The password/TOTP step is the login
 *    pipeline's and is not part of this figure (argon2id alone is ~20-50 ms of CPU by design).
 *
 * Per core = completed operations / CPU seconds of the server process (user + system): Gatehouse
 * and the bare provider both run in this process, and the HTTP clients run in a separate load
 * process (bench/measure.ts `startLoadClient`), whose CPU is reported but charged to neither side.
 * The database engine's processes are not counted (production runs MongoDB on its own machines);
 * wall-clock rates are reported beside. With MONGODB_URI set the bench uses that server;
 * otherwise it starts the bundled engine in a temporary directory.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Provider from 'oidc-provider';
import { pino } from 'pino';
import mongoose from 'mongoose';
import { createApp } from '../src/app.js';
import { createSsoSession, ssoSessionCookieName } from '../src/auth/sso-session.js';
import { loadConfig } from '../src/config.js';
import { startBundledEngine, stopBundledEngine } from '../src/db/bundled.js';
import { connectDatabase } from '../src/db/connection.js';
import { Keyring } from '../src/db/encryption.js';
import { ChangeStamps } from '../src/iam/change-stamps.js';
import { Application, applicationSecretContext, oidcProtocolKey } from '../src/sso/applications/application.model.js';
import { Tenant } from '../src/sso/tenant/tenant.model.js';
import { SsoUser } from '../src/sso/users/user.model.js';
import { isLoadClient, option, perCore, perSec, serveLoad, startLoadClient, type Measured } from './measure.js';

const MASTER_KEY = 'a1'.repeat(32);

const SECONDS = option('--seconds', 8);
const CONCURRENCY = option('--concurrency', 8);

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function clientCredentials(tokenUrl: string, clientId: string, secret: string): Promise<void> {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
    body: 'grant_type=client_credentials',
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || !body.access_token) throw new Error(`client credentials failed: ${res.status} ${JSON.stringify(body)}`);
}

/** One browser login over a live Gatehouse session: authorize → interaction → resume → callback, then the code exchange. */
async function codeLogin(base: string, tenantId: string, ssoCookie: string, clientId: string, secret: string, redirectUri: string): Promise<void> {
  const cookies = new Map<string, string>([[ssoCookie.slice(0, ssoCookie.indexOf('=')), ssoCookie.slice(ssoCookie.indexOf('=') + 1)]]);
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const params = new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid profile', redirect_uri: redirectUri, code_challenge: challenge, code_challenge_method: 'S256', nonce: randomBytes(8).toString('hex') });
  let url = `${base}/tenants/${tenantId}/oauth2/authorize?${params.toString()}`;
  for (let hop = 0; hop < 6; hop++) {
    const res = await fetch(url, { redirect: 'manual', headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') } });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';')[0] ?? '';
      const i = pair.indexOf('=');
      if (pair.slice(i + 1)) cookies.set(pair.slice(0, i), pair.slice(i + 1));
    }
    await res.arrayBuffer();
    const location = res.headers.get('location');
    if (!location) throw new Error(`login stopped at ${res.status} ${url}`);
    const next = new URL(location, url).href;
    if (next.startsWith(redirectUri)) {
      const code = new URL(next).searchParams.get('code');
      if (!code) throw new Error(`no code: ${next}`);
      const token = await fetch(`${base}/tenants/${tenantId}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier }).toString(),
      });
      const body = (await token.json()) as { id_token?: string };
      if (token.status !== 200 || !body.id_token) throw new Error(`code exchange failed: ${token.status} ${JSON.stringify(body)}`);
      return;
    }
    url = next;
  }
  throw new Error('too many redirects');
}

async function main(): Promise<void> {
  const logger = pino({ level: 'silent' });
  let dataDir: string | undefined;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-oidc-'));
    chmodSync(dataDir, 0o755);
    console.log('starting the bundled engine (no MONGODB_URI)…');
    uri = (await startBundledEngine(dataDir, { GATEHOUSE_DB_FSYNC: 'off' })).uri;
  }
  const dbName = `bench_oidc_${randomUUID().slice(0, 8)}`;
  const db = await connectDatabase(uri, { logger, dbName });
  const servers: Server[] = [];
  try {
    await db.syncIndexes();
    const gatehouseServer = createServer();
    servers.push(gatehouseServer);
    const port = await listen(gatehouseServer);
    const base = `http://127.0.0.1:${port}`;
    const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', MONGODB_URI: uri, GATEHOUSE_MASTER_KEY: MASTER_KEY, GATEHOUSE_BASE_URL: base });
    const keyring = new Keyring(Buffer.from(MASTER_KEY, 'hex'));
    gatehouseServer.on('request', createApp({ config, logger, db: { ping: async () => true }, keyring, stamps: new ChangeStamps() }));

    console.log('seeding: a tenant, a user, a confidential application, a live session…');
    const accountId = 3900011;
    const tenantId = randomUUID();
    await Tenant.create({ accountId, tenantId, tenantAlias: 'benchoidc', aliasKey: 'benchoidc', termsAcceptedAt: new Date() });
    const userId = randomUUID();
    await SsoUser.create({ accountId, tenantId, userId, loginId: 'bench@corp.example', loginIdKey: 'bench@corp.example', userProfile: { email: 'bench@corp.example', firstName: 'Bench' } });
    const applicationId = randomUUID();
    const clientId = 'bench-client';
    const secret = randomBytes(24).toString('base64url');
    const redirectUri = 'https://bench.example.test/cb';
    await Application.create({
      accountId,
      tenantId,
      applicationId,
      name: 'BenchOidc',
      protocol: 'OAUTH2',
      protocolKey: oidcProtocolKey(clientId),
      clientSecretEncrypted: keyring.encrypt(secret, applicationSecretContext(tenantId, applicationId)),
      consentPage: { enabled: false },
      oidc: { clientId, redirectUris: [redirectUri], clientAuthMethod: 'client_secret_basic', accessType: 'confidential', grantTypes: ['authorization_code', 'client_credentials'], scopes: ['openid', 'profile'], accessTokenValiditySec: 600 },
    });
    const { token } = await createSsoSession({ accountId, tenantId, userId, credentialGeneration: 0, amr: ['pwd'], acr: 'pwd', idleTimeoutSec: 12 * 3600, clientIp: '127.0.0.1', userAgent: 'bench' });
    const ssoCookie = `${ssoSessionCookieName(config, tenantId)}=${token}`;

    // The baseline: oidc-provider alone, in-memory adapter, same client, same grant.
    const bareServer = createServer();
    servers.push(bareServer);
    const barePort = await listen(bareServer);
    const bare = new Provider(`http://127.0.0.1:${barePort}`, {
      clients: [{ client_id: clientId, client_secret: secret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [] }],
      features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
      ttl: { ClientCredentials: 600 },
    });
    bareServer.on('request', bare.callback());

    const gatehouseToken = `${base}/tenants/${tenantId}/oauth2/token`;
    const bareToken = `http://127.0.0.1:${barePort}/token`;
    // Warm-up: provider build, key generation, JIT.
    for (let i = 0; i < 50; i++) {
      await clientCredentials(gatehouseToken, clientId, secret);
      await clientCredentials(bareToken, clientId, secret);
    }
    await codeLogin(base, tenantId, ssoCookie, clientId, secret, redirectUri);

    // Database operations per grant and per login (mongoose's debug hook also sees Model.collection calls).
    const countOps = async (label: string, n: number, run: () => Promise<void>) => {
      const ops = new Map<string, number>();
      mongoose.set('debug', (collection: string, method: string) => void ops.set(`${collection}.${method}`, (ops.get(`${collection}.${method}`) ?? 0) + 1));
      for (let i = 0; i < n; i++) await run();
      mongoose.set('debug', false);
      const total = [...ops.values()].reduce((a, c) => a + c, 0) / n;
      console.log(`database operations per ${label}: ${total.toFixed(1)} (${[...ops.entries()].sort((a, c) => c[1] - a[1]).map(([k, v]) => `${k} ×${(v / n).toFixed(1)}`).join(', ')})`);
    };
    await countOps('client-credentials grant', 5, () => clientCredentials(gatehouseToken, clientId, secret));
    await countOps('code login', 3, () => codeLogin(base, tenantId, ssoCookie, clientId, secret, redirectUri));

    const client = await startLoadClient(import.meta.url);
    const cc = { tokenUrl: gatehouseToken, clientId, secret };
    const ccBare = { tokenUrl: bareToken, clientId, secret };
    console.log(`measuring: ${SECONDS} s per round, ${CONCURRENCY} concurrent requests, two alternating rounds…`);
    const g: Measured = { count: 0, wallSec: 0, cpuSec: 0 };
    const b: Measured = { count: 0, wallSec: 0, cpuSec: 0 };
    const add = (into: Measured, m: Measured) => {
      into.count += m.count;
      into.wallSec += m.wallSec;
      into.cpuSec += m.cpuSec;
    };
    for (let round = 0; round < 2; round++) {
      const mg = await client.run('clientCredentials', cc, SECONDS, CONCURRENCY, `oidc-cc-gatehouse-${round + 1}`);
      const mb = await client.run('clientCredentials', ccBare, SECONDS, CONCURRENCY, `oidc-cc-bare-${round + 1}`);
      add(g, mg);
      add(b, mb);
      console.log(`  round ${round + 1}/2: Gatehouse ${perCore(mg).toFixed(0)}/s/core, in-memory ${perCore(mb).toFixed(0)}/s/core`);
    }
    const logins = await client.run('codeLogin', { base, tenantId, ssoCookie, clientId, secret, redirectUri }, SECONDS, Math.max(1, Math.floor(CONCURRENCY / 2)), 'oidc-code-login');
    client.close();

    const ratio = perCore(g) / perCore(b);
    console.log('');
    console.log(`client credentials, Gatehouse (MongoDB adapter, whole app): ${g.count} grants, ${perCore(g).toFixed(0)} /s per core (server CPU), ${perSec(g).toFixed(0)} /s wall-clock`);
    console.log(`client credentials, oidc-provider in-memory adapter:        ${b.count} grants, ${perCore(b).toFixed(0)} /s per core, ${perSec(b).toFixed(0)} /s wall-clock`);
    console.log(`ratio Gatehouse / in-memory: ${(ratio * 100).toFixed(0)}%  (targets: ≥ 1,000/s/core ${perCore(g) >= 1000 ? 'met' : 'NOT met'}; ≥ 30% of in-memory ${ratio >= 0.3 ? 'met' : 'NOT met'})`);
    console.log(`authorization-code logins (live session, 3 redirects + token exchange): ${logins.count} logins, ${perCore(logins).toFixed(0)} /s per core, ${perSec(logins).toFixed(0)} /s wall-clock`);
    console.log(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), Node ${process.version}`);
  } finally {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
    await db.connection.dropDatabase().catch(() => undefined);
    await db.close();
    if (dataDir) {
      await stopBundledEngine(dataDir, { GATEHOUSE_DB_FSYNC: 'off' }).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

if (isLoadClient()) {
  void serveLoad({
    clientCredentials: (p: { tokenUrl: string; clientId: string; secret: string }) => () => clientCredentials(p.tokenUrl, p.clientId, p.secret),
    codeLogin: (p: { base: string; tenantId: string; ssoCookie: string; clientId: string; secret: string; redirectUri: string }) => () => codeLogin(p.base, p.tenantId, p.ssoCookie, p.clientId, p.secret, p.redirectUri),
  });
} else {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
