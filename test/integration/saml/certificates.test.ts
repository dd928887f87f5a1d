/**
 * Tenant SAML signing certificates against the real engine: the signer's contract
 * (getTenantSigningKeys: first use creates one RSA-2048 three-year certificate, once, even when
 * asked concurrently; cached and invalidated by the tenant's change stamp), and the admin API
 * (`/api/v1/sso/tenant/saml-idp/certificates`): key sizes, validity, at most 2 (also under
 * concurrent creates), activation, delete rules, download, private key never in a response or an
 * audit event, another account's certificate 404.
 */
import { X509Certificate, createPrivateKey, createSign, createVerify } from 'node:crypto';
import { expect } from 'chai';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { forgetTenantSigningKeys, getTenantSigningKeys } from '../../../src/saml/keys.js';
import { SamlCertificate } from '../../../src/sso/certificates/certificate.model.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { tenantScope } from '../../../src/sso/tenant/tenant-context.js';
import { createApp } from '../../../src/app.js';
import { silentLogger, testConfig, testKeyring } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const B = `${SSO_API_PREFIX}/tenant/saml-idp/certificates`;
const OTHER_ACCOUNT = ACCOUNT + 7;

describe('SAML signing certificates', function () {
  this.timeout(120_000);
  useTestDatabase('samlcerts');
  const keyring = testKeyring();
  // The app's own change stamps, so the test reads keys through the same cache the app invalidates.
  const appStamps = new ChangeStamps();
  const app = createApp({ config: testConfig(), logger: silentLogger, db: { ping: async () => true }, keyring, stamps: appStamps });
  let root: Signer;
  let tenantId: string;
  let tenantAlias: string;

  before(async () => {
    root = await rootSigner(app);
    const t = (await root.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201)).body;
    tenantId = t.tenantId;
    tenantAlias = t.tenantAlias;
  });

  function signs(privateKeyPem: string, certPem: string): boolean {
    const sig = createSign('RSA-SHA256').update('probe').sign(createPrivateKey(privateKeyPem));
    return createVerify('RSA-SHA256').update('probe').verify(new X509Certificate(certPem).publicKey, sig);
  }

  describe('getTenantSigningKeys (the signer’s contract)', () => {
    it('creates one RSA-2048, three-year certificate on first use, even for concurrent first uses', async () => {
      forgetTenantSigningKeys();
      const results = await Promise.all([1, 2, 3].map(() => getTenantSigningKeys(tenantId, ACCOUNT, keyring)));
      const ids = new Set(results.map((r) => r.current.certificateId));
      expect(ids.size, 'all callers see the same certificate').to.equal(1);
      expect(await SamlCertificate.countDocuments({ tenantId })).to.equal(1);
      const keys = results[0]!;
      expect(keys.next).to.equal(undefined);
      const cert = new X509Certificate(keys.current.certPem);
      expect(cert.subject).to.equal(`CN=Gatehouse ${tenantAlias}`);
      expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).to.equal(2048);
      expect(new Date(cert.validTo).getTime()).to.be.closeTo(Date.now() + 3 * 365 * 86_400_000, 10 * 60_000);
      expect(signs(keys.current.privateKeyPem, keys.current.certPem)).to.equal(true);
      // Stored encrypted: the PEM is nowhere in the stored document.
      const raw = await SamlCertificate.collection.findOne({ tenantId });
      expect(JSON.stringify(raw)).not.to.contain('PRIVATE KEY');
      expect(String(raw?.privateKeyEncrypted)).to.match(/^gh1\./);
    });

    it('is cached per process and re-read after the tenant’s change stamp moves', async () => {
      const stamps = new ChangeStamps();
      forgetTenantSigningKeys();
      const first = await getTenantSigningKeys(tenantId, ACCOUNT, keyring, stamps);
      // A change the cache cannot see without the stamp: it still answers from memory…
      await SamlCertificate.updateOne({ tenantId }, { $set: { certificatePem: 'changed behind the cache' } });
      expect((await getTenantSigningKeys(tenantId, ACCOUNT, keyring, stamps)).current.certPem).to.equal(first.current.certPem);
      // …until the stamp is bumped (by another process: this one learns it at its next poll).
      const otherProcess = new ChangeStamps();
      await otherProcess.bump(tenantScope(tenantId));
      await stamps.poll();
      expect((await getTenantSigningKeys(tenantId, ACCOUNT, keyring, stamps)).current.certPem).to.equal('changed behind the cache');
      await SamlCertificate.updateOne({ tenantId }, { $set: { certificatePem: first.current.certPem } });
      forgetTenantSigningKeys();
    });
  });

  describe('admin API', () => {
    let firstId: string;
    let secondId: string;

    it('lists the certificate made on first use as ACTIVE, without any key material', async () => {
      const res = await root.call('get', B).expect(200);
      expect(res.body.totalElements).to.equal(1);
      const [c] = res.body.certificates;
      expect(c.status).to.equal('ACTIVE');
      expect(c.keySize).to.equal(2048);
      firstId = c.certificateId;
      expect(JSON.stringify(res.body)).not.to.match(/PRIVATE|privateKey/i);
    });

    it('validates key size and validity: 400 with field errors and nothing stored', async () => {
      for (const [body, field] of [
        [{ keySize: 1024 }, 'body.keySize'],
        [{ keySize: 2047 }, 'body.keySize'],
        [{ certificateExpireDays: 0 }, 'body.certificateExpireDays'],
        [{ certificateExpireDays: 3651 }, 'body.certificateExpireDays'],
        [{ algorithm: 'RSA_SHA1' }, 'body.algorithm'],
        [{ extra: true }, 'body'],
      ] as const) {
        const res = await root.call('post', B, body).expect(400);
        expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
        expect(res.body.error.fieldErrors.map((f: { field: string }) => f.field).join(','), JSON.stringify(body)).to.contain(field);
      }
      expect(await SamlCertificate.countDocuments({ tenantId })).to.equal(1);
    });

    it('creates a 3072-bit second certificate as INACTIVE (the next one), and refuses a third even when asked concurrently', async () => {
      const results = await Promise.all([
        root.call('post', B, { keySize: 3072, certificateExpireDays: 30 }),
        root.call('post', B, { keySize: 3072, certificateExpireDays: 30 }),
      ]);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses).to.deep.equal([201, 409]);
      const made = results.find((r) => r.status === 201)!.body;
      const refused = results.find((r) => r.status === 409)!.body;
      expect(refused.error.errorCode).to.equal('LIMIT_EXCEEDED');
      expect(made.status).to.equal('INACTIVE');
      expect(made.keySize).to.equal(3072);
      expect(new Date(made.notAfter).getTime()).to.be.closeTo(Date.now() + 30 * 86_400_000, 10 * 60_000);
      secondId = made.certificateId;
      expect(await SamlCertificate.countDocuments({ tenantId })).to.equal(2);
      await root.call('post', B, {}).expect(409);
      const keys = await getTenantSigningKeys(tenantId, ACCOUNT, keyring);
      expect(keys.current.certificateId).to.equal(firstId);
      expect(keys.next?.certificateId).to.equal(secondId);
    });

    it('makes a 4096-bit certificate when asked', async function () {
      // Another account's tenant, so the two-per-tenant limit above is not in the way.
      const other = await rootSigner(app, OTHER_ACCOUNT);
      await other.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201);
      const made = (await other.call('post', B, { keySize: 4096, certificateExpireDays: 1 }).expect(201)).body;
      expect(made.keySize).to.equal(4096);
      expect(made.status, 'a tenant’s first certificate is active').to.equal('ACTIVE');
      const pem = (await other.call('get', `${B}/${made.certificateId}/download`).expect(200)).body.certificatePem;
      expect(new X509Certificate(pem).publicKey.asymmetricKeyDetails?.modulusLength).to.equal(4096);
    });

    it('downloads the certificate as base64 DER and PEM, never the key', async () => {
      const res = await root.call('get', `${B}/${secondId}/download`).expect(200);
      const cert = new X509Certificate(res.body.certificatePem);
      expect(Buffer.from(res.body.certificate, 'base64').equals(cert.raw)).to.equal(true);
      expect(JSON.stringify(res.body)).not.to.match(/PRIVATE/);
      const detail = (await root.call('get', `${B}/${secondId}`).expect(200)).body;
      expect(detail.sha256Fingerprint).to.equal(cert.fingerprint256.replace(/:/g, '').toLowerCase());
    });

    it('refuses to delete or re-activate the active certificate (400 InvalidState)', async () => {
      const del = await root.call('delete', `${B}/${firstId}`).expect(400);
      expect(del.body.error.message).to.equal('InvalidState');
      const again = await root.call('post', `${B}/${firstId}/activate`).expect(400);
      expect(again.body.error.message).to.equal('InvalidState');
      expect(await SamlCertificate.countDocuments({ tenantId })).to.equal(2);
    });

    it('activation switches which certificate signs and which is next, at once in this process', async () => {
      const before = await getTenantSigningKeys(tenantId, ACCOUNT, keyring, appStamps);
      expect(before.current.certificateId).to.equal(firstId);
      const res = await root.call('post', `${B}/${secondId}/activate`).expect(200);
      expect(res.body.status).to.equal('ACTIVE');
      const list = (await root.call('get', B).expect(200)).body.certificates.map((c: { certificateId: string; status: string }) => [c.certificateId, c.status]);
      expect(list).to.deep.equal([
        [secondId, 'ACTIVE'],
        [firstId, 'INACTIVE'],
      ]);
      const after = await getTenantSigningKeys(tenantId, ACCOUNT, keyring, appStamps);
      expect(after.current.certificateId).to.equal(secondId);
      expect(after.next?.certificateId).to.equal(firstId);
      expect(signs(after.current.privateKeyPem, after.current.certPem)).to.equal(true);
    });

    it('deletes the inactive certificate, which frees its slot', async () => {
      await root.call('delete', `${B}/${firstId}`).expect(204);
      await root.call('get', `${B}/${firstId}`).expect(404);
      expect(await SamlCertificate.countDocuments({ tenantId })).to.equal(1);
      const third = (await root.call('post', B, { certificateExpireDays: 10 }).expect(201)).body;
      expect(third.status).to.equal('INACTIVE');
      firstId = third.certificateId;
    });

    it('never writes a private key into an audit event', async () => {
      const events = await HistoryEvent.find({ accountId: ACCOUNT }).lean();
      expect(events.length).to.be.greaterThan(3);
      expect(JSON.stringify(events)).not.to.match(/PRIVATE KEY|gh1\./);
    });

    it('answers 404 for another account’s certificate, even for that account’s admin', async () => {
      const other = await rootSigner(app, OTHER_ACCOUNT);
      await other.call('get', `${B}/${secondId}`).expect(404);
      await other.call('get', `${B}/${secondId}/download`).expect(404);
      await other.call('post', `${B}/${firstId}/activate`).expect(404);
      await other.call('delete', `${B}/${firstId}`).expect(404);
      expect(await SamlCertificate.countDocuments({ tenantId })).to.equal(2);
    });

    it('gates each route by its action: a sub account allowed only the list cannot create', async () => {
      const viewer = await subAccountSigner(app, [allow(['view/getCertificate'], 'SSO')]);
      await viewer.call('get', B).expect(200);
      await viewer.call('post', B, {}).expect(403);
      await viewer.call('get', `${B}/${secondId}/download`).expect(403);
    });

    it('stores the expiry notification setting (≤20 addresses, lead days) and validates it', async () => {
      const defaults = (await root.call('get', `${B}/notification`).expect(200)).body;
      expect(defaults).to.deep.equal({ recipients: [], leadDays: [30, 7, 1] });
      const set = await root.call('put', `${B}/notification`, { recipients: ['Ops@Example.com', 'ops@example.com', 'sec@example.com'], leadDays: [7, 30, 7] }).expect(200);
      expect(set.body).to.deep.equal({ recipients: ['ops@example.com', 'sec@example.com'], leadDays: [30, 7] });
      const tooMany = Array.from({ length: 21 }, (_, i) => `r${i}@example.com`);
      const bad = await root.call('put', `${B}/notification`, { recipients: tooMany }).expect(400);
      expect(bad.body.error.fieldErrors[0].field).to.equal('body.recipients');
      await root.call('put', `${B}/notification`, { recipients: ['not-an-address'] }).expect(400);
      await root.call('put', `${B}/notification`, { recipients: [], leadDays: [0] }).expect(400);
      expect((await root.call('get', `${B}/notification`).expect(200)).body.recipients).to.deep.equal(['ops@example.com', 'sec@example.com']);
    });

    it('deleting a tenant takes its certificates with it (they never block the delete)', async () => {
      const other = await rootSigner(app, OTHER_ACCOUNT);
      const otherTenantId = (await other.call('get', `${SSO_API_PREFIX}/tenant`).expect(200)).body.tenantId as string;
      expect(await SamlCertificate.countDocuments({ tenantId: otherTenantId })).to.equal(1);
      await other.call('delete', `${SSO_API_PREFIX}/tenant`).expect(204);
      expect(await SamlCertificate.countDocuments({ tenantId: otherTenantId })).to.equal(0);
      expect(await SamlCertificate.countDocuments({ tenantId })).to.equal(2);
    });
  });
});
