/**
 * `npm run bench saml` (or `npx tsx bench/saml.ts [--seconds N] [--concurrency N]`): SP-initiated
 * SAML SSO responses per second per core with a live session, against bare samlify response
 * signing measured in the same run (issue 9: target ≥ 200/s/core and ≥ 65% of bare).
 *
 * - Gatehouse: the whole endpoint over HTTP on loopback, `GET /tenants/{t}/saml/idp/sso` with an
 *   HTTP-Redirect AuthnRequest made by @node-saml/node-saml and a live session cookie, answered
 *   with the signed auto-POST page: inflate, hardened parse, XSD validation (xmllint-wasm worker),
 *   SP lookup, ACS choice, pending request stored and claimed, session and user read, access
 *   check, attributes, signing, participant upsert, page rendering.
 * - Bare: samlify's `IdentityProvider.createLoginResponse` with its default template, same key,
 *   same SP settings (assertion signed, rsa-sha256), in a loop: the cost of signing alone.
 *
 * Per core = completed responses / CPU seconds of this Node process (user + system, worker
 * threads included; the database engine's processes are not counted and are reported apart as
 * wall-clock rate). With MONGODB_URI set the bench uses that server; otherwise it starts the
 * bundled engine in a temporary directory and removes it afterwards.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { pino } from 'pino';
import * as samlify from 'samlify';
import { createApp } from '../src/app.js';
import { createSsoSession, ssoSessionCookieName } from '../src/auth/sso-session.js';
import { loadConfig } from '../src/config.js';
import { startBundledEngine, stopBundledEngine } from '../src/db/bundled.js';
import { connectDatabase } from '../src/db/connection.js';
import { Keyring } from '../src/db/encryption.js';
import { getTenantSigningKeys } from '../src/saml/keys.js';
import { inflateLimited, installSchemaValidator } from '../src/saml/xml/harden.js';
import { validateSamlSchema } from '../src/saml/xml/schema.js';
import { Application, samlProtocolKey } from '../src/sso/applications/application.model.js';
import { Tenant } from '../src/sso/tenant/tenant.model.js';
import { SsoUser } from '../src/sso/users/user.model.js';
import { measure, option, perCore, perSec, type Measured } from './measure.js';

const SECONDS = option('--seconds', 10);
const CONCURRENCY = option('--concurrency', 4);
const MASTER_KEY = '5578c0666bc8b357ee84ce4decfb25997ce72b353529f59093097833dbcfd245';

async function main(): Promise<void> {
  const logger = pino({ level: 'silent' });
  let dataDir: string | undefined;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-bench-saml-'));
    chmodSync(dataDir, 0o755);
    console.log('starting the bundled engine (no MONGODB_URI)…');
    uri = (await startBundledEngine(dataDir, { GATEHOUSE_DB_FSYNC: 'off' })).uri;
  }
  const dbName = `bench_saml_${randomUUID().slice(0, 8)}`;
  const db = await connectDatabase(uri, { logger, dbName });
  try {
    await db.syncIndexes();
    installSchemaValidator();
    const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', MONGODB_URI: uri, GATEHOUSE_MASTER_KEY: MASTER_KEY, GATEHOUSE_BASE_URL: 'http://127.0.0.1:1' });
    const keyring = new Keyring(Buffer.from(MASTER_KEY, 'hex'));

    console.log('seeding: a tenant, a user, a SAML application, a live session…');
    const accountId = 3900001;
    const tenantId = randomUUID();
    await Tenant.create({ accountId, tenantId, tenantAlias: 'benchsaml', aliasKey: 'benchsaml', termsAcceptedAt: new Date() });
    const userId = randomUUID();
    await SsoUser.create({ accountId, tenantId, userId, loginId: 'bench@corp.example', loginIdKey: 'bench@corp.example', userProfile: { email: 'bench@corp.example', firstName: 'Bench' } });
    const entityId = 'https://bench.example.test/sp';
    const acs = 'https://bench.example.test/acs';
    await Application.create({
      accountId,
      tenantId,
      applicationId: randomUUID(),
      name: 'bench',
      protocol: 'SAML',
      protocolKey: samlProtocolKey(entityId),
      saml: {
        entityId,
        acsEndpoints: [{ binding: 'HTTP-POST', location: acs, index: 0, isDefault: true }],
        attributes: [{ name: 'givenName', source: 'profile', value: 'firstName' }],
      },
    });
    const keys = await getTenantSigningKeys(tenantId, accountId, keyring);
    const { token } = await createSsoSession({ accountId, tenantId, userId, credentialGeneration: 0, amr: ['pwd'], acr: 'pwd', idleTimeoutSec: 3600, clientIp: '127.0.0.1' });
    const cookie = `${ssoSessionCookieName(config, tenantId)}=${token}`;

    const app = createApp({ config, logger, db: { ping: async () => true }, keyring });
    const server = app.listen(0, '127.0.0.1');
    // Connections stay open across the bare phases (Node's 5 s default would reset them mid-run).
    server.keepAliveTimeout = 120_000;
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const port = (server.address() as AddressInfo).port;
    const sp = new SAML({
      entryPoint: `${config.baseUrl}/tenants/${tenantId}/saml/idp/sso`,
      issuer: entityId,
      callbackUrl: acs,
      idpCert: keys.current.certPem,
      validateInResponseTo: ValidateInResponseTo.never,
      wantAuthnResponseSigned: false,
    });
    // A few requests reused round-robin (IssueInstant stays within the 10-minute window).
    const requests = await Promise.all(Array.from({ length: 16 }, async () => new URL(await sp.getAuthorizeUrlAsync('', undefined, {}))));
    let next = 0;
    const gatehouseOnce = async () => {
      const u = requests[next++ % requests.length]!;
      const res = await fetch(`http://127.0.0.1:${port}${u.pathname}${u.search}`, { headers: { cookie }, redirect: 'manual' });
      const body = await res.text();
      if (res.status !== 200 || !body.includes('name="SAMLResponse"')) throw new Error(`unexpected answer ${res.status}: ${body.slice(0, 200)}`);
    };
    // One response checked end to end before measuring.
    {
      const u = requests[0]!;
      const res = await fetch(`http://127.0.0.1:${port}${u.pathname}${u.search}`, { headers: { cookie } });
      const html = await res.text();
      const samlResponse = /name="SAMLResponse" value="([^"]+)"/.exec(html)?.[1];
      if (!samlResponse) throw new Error('no SAMLResponse in the first answer');
      const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: samlResponse });
      if (profile?.nameID !== 'bench@corp.example') throw new Error('the SP did not accept the first response');
    }

    const bareIdp = samlify.IdentityProvider({ entityID: `${config.baseUrl}/tenants/${tenantId}/saml/idp`, privateKey: keys.current.privateKeyPem, signingCert: keys.current.certPem, singleSignOnService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://idp/sso' }], singleLogoutService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: 'https://idp/slo' }] });
    const bareSp = samlify.ServiceProvider({ entityID: entityId, assertionConsumerService: [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: acs }], wantAssertionsSigned: true });
    const bareOnce = async () => {
      await bareIdp.createLoginResponse(bareSp, { extract: { request: { id: '_bench' } } } as Parameters<typeof bareIdp.createLoginResponse>[1], 'post', { email: 'bench@corp.example' });
    };

    console.log(`warming up (2 s each), then ${SECONDS} s per side, alternating twice; Gatehouse with ${CONCURRENCY} requests in flight`);
    await measure(2, CONCURRENCY, gatehouseOnce);
    await measure(2, 1, bareOnce);
    const g: Measured = { count: 0, wallSec: 0, cpuSec: 0 };
    const b: Measured = { count: 0, wallSec: 0, cpuSec: 0 };
    for (let round = 0; round < 2; round++) {
      const mg = await measure(SECONDS / 2, CONCURRENCY, gatehouseOnce);
      const mb = await measure(SECONDS / 2, 1, bareOnce);
      for (const [acc, m] of [
        [g, mg],
        [b, mb],
      ] as const) {
        acc.count += m.count;
        acc.wallSec += m.wallSec;
        acc.cpuSec += m.cpuSec;
      }
      console.log(`  round ${round + 1}/2: Gatehouse ${perCore(mg).toFixed(0)}/s/core, bare ${perCore(mb).toFixed(0)}/s/core`);
    }
    server.close();

    // The XSD validation an SP's first request of a new shape pays (later ones hit the verdict cache).
    const sampleXml = inflateLimited(decodeURIComponent(requests[0]!.searchParams.get('SAMLRequest') ?? ''));
    const xsd = await measure(Math.max(2, SECONDS / 4), 1, () => validateSamlSchema(sampleXml, 'protocol'));

    console.log(`\nmachine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, engine ${db.capabilities.engine} ${db.capabilities.version}`);
    console.log(`Gatehouse SP-initiated SSO (live session, HTTP): ${g.count} responses, ${perCore(g).toFixed(0)} /s per core (Node CPU), ${perSec(g).toFixed(0)} /s wall-clock`);
    console.log(`bare samlify createLoginResponse:              ${b.count} responses, ${perCore(b).toFixed(0)} /s per core`);
    console.log(`XSD validation of one AuthnRequest (xmllint-wasm pool), paid once per new message shape (src/saml/idp/schema-verdicts.ts): ${(1000 / perCore(xsd)).toFixed(1)} ms CPU each`);
    const ratio = perCore(g) / perCore(b);
    console.log(`ratio Gatehouse / bare: ${(ratio * 100).toFixed(0)}%  (targets: ≥ 200/s/core ${perCore(g) >= 200 ? 'met' : 'NOT met'}; ≥ 65% of bare ${ratio >= 0.65 ? 'met' : 'NOT met'})`);
  } finally {
    await db.connection.dropDatabase().catch(() => undefined);
    await db.close();
    if (dataDir) {
      await stopBundledEngine(dataDir, { GATEHOUSE_DB_FSYNC: 'off' }).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
