/**
 * Per-tenant signing keys of the OpenID Provider (issue 8 "Keys"): first use makes current + next
 * (RS256 and ES256) exactly once even when raced, private halves encrypted at rest, rotation
 * next → current → retired with a new next, the change stamp moved, retired keys dropped after
 * their tokens' lifetime, and the CLI command.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { loadTenantKeys, rotateSigningKeys, RETIRED_KEY_RETENTION_SEC } from '../../../src/oidc/keys/signing-keys.js';
import { OidcTenantKeys } from '../../../src/oidc/keys/tenant-keys.model.js';
import { tenantScope } from '../../../src/sso/tenant/tenant-context.js';
import { PROJECT_ROOT } from '../../../src/db/bundled.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { rootSigner, subAccountSigner, allow } from '../../helpers/admin.js';
import { testApp, testKeyring, TEST_MASTER_KEY } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { seedTenant } from './oidc-fixtures.js';

describe('OIDC signing keys', function () {
  this.timeout(60_000);
  const db = useTestDatabase('oidckeys');
  const keyring = testKeyring();

  it('creates current and next RS256 + ES256 keys once, even on a concurrent first use', async () => {
    const tenant = await seedTenant();
    const [a, b, c] = await Promise.all([loadTenantKeys(tenant, keyring), loadTenantKeys(tenant, keyring), loadTenantKeys(tenant, keyring)]);
    expect(await OidcTenantKeys.countDocuments({ tenantId: tenant.tenantId })).to.equal(1);
    const kids = (m: typeof a) => m.keys.map((k) => k.kid).sort();
    expect(kids(b)).to.deep.equal(kids(a));
    expect(kids(c)).to.deep.equal(kids(a));
    expect(a.keys.map((k) => `${k.state}:${k.alg}`).sort()).to.deep.equal(['current:ES256', 'current:RS256', 'next:ES256', 'next:RS256']);
    // oidc-provider signs with keys without key_ops (current) only; next ones are verify-only.
    for (const k of a.providerJwks.keys) {
      const info = a.keys.find((x) => x.kid === k.kid)!;
      if (info.state === 'current') expect(k.key_ops).to.equal(undefined);
      else expect(k.key_ops).to.deep.equal(['verify']);
    }
    const rsa = a.providerJwks.keys.find((k) => k.kty === 'RSA')!;
    expect(Buffer.from(rsa.n!, 'base64url').length * 8).to.equal(2048);
    expect(a.cookieKeys).to.have.length(1);
  });

  it('stores no private key material in clear', async () => {
    const tenant = await seedTenant();
    const m = await loadTenantKeys(tenant, keyring);
    const raw = await OidcTenantKeys.collection.findOne({ tenantId: tenant.tenantId });
    const text = JSON.stringify(raw);
    for (const k of m.providerJwks.keys) expect(text).not.to.include(k.d!);
    expect(text).not.to.include(m.cookieKeys[0]!);
    for (const k of (raw?.keys ?? []) as { publicJwk: Record<string, unknown> }[]) expect(k.publicJwk).not.to.have.property('d');
    // A document never serializes the encrypted blob either (secret field).
    const doc = await OidcTenantKeys.findOne({ tenantId: tenant.tenantId });
    expect(JSON.stringify(doc?.toJSON())).not.to.include('secretsEncrypted');
  });

  it('rotates next → current → retired, publishes a new next, bumps the tenant stamp', async () => {
    const tenant = await seedTenant();
    const stamps = new ChangeStamps();
    const before = await loadTenantKeys(tenant, keyring);
    const stampBefore = await stamps.current(tenantScope(tenant.tenantId));
    const report = await rotateSigningKeys(tenant, { keyring, stamps });
    const after = await loadTenantKeys(tenant, keyring);
    const of = (m: typeof before, state: string) => m.keys.filter((k) => k.state === state).map((k) => k.kid).sort();
    expect(of(after, 'current')).to.deep.equal(of(before, 'next'));
    expect(of(after, 'retired')).to.deep.equal(of(before, 'current'));
    expect(of(after, 'next')).to.have.length(2);
    expect(report.activated.sort()).to.deep.equal(of(before, 'next'));
    expect(report.retired.sort()).to.deep.equal(of(before, 'current'));
    expect(report.created.sort()).to.deep.equal(of(after, 'next'));
    expect(await stamps.current(tenantScope(tenant.tenantId))).to.equal(stampBefore + 1);
    // Concurrent rotations both land, one on top of the other.
    await Promise.all([rotateSigningKeys(tenant, { keyring, stamps }), rotateSigningKeys(tenant, { keyring, stamps })]);
    const doc = await OidcTenantKeys.findOne({ tenantId: tenant.tenantId }).lean();
    expect(doc?.revision).to.equal(3);
    expect(doc?.keys.filter((k) => k.state === 'current')).to.have.length(2);
    expect(doc?.keys.filter((k) => k.state === 'next')).to.have.length(2);
  });

  it('drops retired keys once the tokens they signed have expired', async () => {
    const tenant = await seedTenant();
    const stamps = new ChangeStamps();
    await rotateSigningKeys(tenant, { keyring, stamps });
    const old = new Date(Date.now() - (RETIRED_KEY_RETENTION_SEC + 5) * 1000);
    const stored = await OidcTenantKeys.findOne({ tenantId: tenant.tenantId }).lean();
    const aged = (stored?.keys ?? []).map((k) => (k.state === 'retired' ? { ...k, retiredAt: old } : k));
    await OidcTenantKeys.updateOne({ tenantId: tenant.tenantId }, { $set: { keys: aged } });
    const published = await loadTenantKeys(tenant, keyring);
    expect(published.keys.filter((k) => k.state === 'retired')).to.have.length(0);
    const report = await rotateSigningKeys(tenant, { keyring, stamps });
    expect(report.removed).to.have.length(2);
    const doc = await OidcTenantKeys.findOne({ tenantId: tenant.tenantId }).lean();
    expect(doc?.keys.map((k) => k.kid)).not.to.include.members(report.removed);
  });

  it('gatehouse oidc rotate-keys --tenant ALIAS prints what it did', async function () {
    this.timeout(60_000);
    const tenant = await seedTenant();
    await loadTenantKeys(tenant, keyring);
    const uri = new URL(db.uri);
    uri.pathname = `/${db.dbName}`;
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli', 'main.ts'), 'oidc', 'rotate-keys', '--tenant', tenant.alias, '--json'], {
        cwd: PROJECT_ROOT,
        env: { ...process.env, MONGODB_URI: uri.href, GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'silent' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.code, out.stderr).to.equal(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines[0]).to.include(`rotating the signing keys of tenant ${tenant.tenantId}`);
    const report = JSON.parse(lines.at(-1)!) as { activated: string[]; created: string[] };
    expect(report.activated).to.have.length(2);
    const doc = await OidcTenantKeys.findOne({ tenantId: tenant.tenantId }).lean();
    expect(doc?.keys.filter((k) => k.state === 'current').map((k) => k.kid).sort()).to.deep.equal(report.activated.sort());
  });

  it('the CLI refuses an unknown tenant and missing arguments', async () => {
    const run = (args: string[]) =>
      new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(PROJECT_ROOT, 'src', 'cli', 'main.ts'), 'oidc', ...args], { cwd: PROJECT_ROOT, env: { ...process.env, LOG_LEVEL: 'silent' }, stdio: 'ignore' });
        child.on('exit', resolve);
      });
    expect(await run(['rotate-keys'])).to.equal(2);
    expect(await run(['frobnicate'])).to.equal(2);
  });

  it('admin API: GET lists the public keys (view/getTenantDetail), POST …/rotate rotates (change/updateTenant, audited); other actions get 403', async () => {
    const app = testApp({ db: { ping: async () => true } });
    const tenant = await seedTenant();
    const root = await rootSigner(app, tenant.accountId);
    const listed = await root.call('get', '/api/v1/sso/tenant/oidc/signing-keys').expect(200);
    const keys = (listed.body as { keys: { kid: string; state: string; alg: string }[] }).keys;
    expect(keys.map((k) => `${k.state}:${k.alg}`).sort()).to.deep.equal(['current:ES256', 'current:RS256', 'next:ES256', 'next:RS256']);
    expect(JSON.stringify(listed.body)).not.to.match(/"d":|secretsEncrypted/);
    const rotated = await root.call('post', '/api/v1/sso/tenant/oidc/signing-keys/rotate').expect(200);
    const report = rotated.body as { activated: string[]; retired: string[]; created: string[]; nrn: string };
    expect(report.activated.sort()).to.deep.equal(keys.filter((k) => k.state === 'next').map((k) => k.kid).sort());
    const event = await HistoryEvent.findOne({ accountId: tenant.accountId, action: 'SSO:change/updateTenant', nrn: report.nrn }).lean();
    expect(event, 'rotation audited').to.not.equal(null);

    const viewer = await subAccountSigner(app, [allow(['View/getTenantDetail'], 'SSO')], { accountId: tenant.accountId });
    await viewer.call('get', '/api/v1/sso/tenant/oidc/signing-keys').expect(200);
    await viewer.call('post', '/api/v1/sso/tenant/oidc/signing-keys/rotate').expect(403);
    const after = await OidcTenantKeys.findOne({ tenantId: tenant.tenantId }).lean();
    expect(after?.revision).to.equal(1);
  });
});
