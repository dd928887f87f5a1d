/**
 * IdP metadata (`GET /tenants/{t}/saml/idp/metadata`, src/saml/metadata.ts) against the real
 * engine: valid against the SAML 2.0 metadata schema (our xmllint validator), entityID by tenant
 * id whatever the URL used, both bindings for SSO and SLO, the NameID formats, short caching, and
 * both certificates during a rollover with the active one first; read back by samlify's own
 * metadata parser as an SP library would.
 */
import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import express from 'express';
import * as samlify from 'samlify';
import request from 'supertest';
import { createApp } from '../../../src/app.js';
import { OutboxNotifier } from '../../../src/notifications/notifier.js';
import { Authorizer } from '../../../src/iam/authz/authorizer.js';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import type { TenantDeps } from '../../../src/http/tenant-routes.js';
import { buildIdpMetadata, samlMetadataRouter } from '../../../src/saml/metadata.js';
import { parseHardened } from '../../../src/saml/xml/harden.js';
import { validateSamlSchema } from '../../../src/saml/xml/schema.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { findTenantByRef } from '../../../src/sso/tenant/tenant.service.js';
import { silentLogger, testConfig, testKeyring } from '../../helpers/app.js';
import { rootSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const CERTS = `${SSO_API_PREFIX}/tenant/saml-idp/certificates`;
const BASE_URL = 'https://sso.example.com';

describe('SAML IdP metadata', function () {
  this.timeout(120_000);
  useTestDatabase('samlmeta');
  const config = testConfig({ GATEHOUSE_BASE_URL: BASE_URL });
  const keyring = testKeyring();
  const stamps = new ChangeStamps();
  const deps: TenantDeps = { config, logger: silentLogger, keyring, stamps, authorizer: new Authorizer(stamps), notifier: new OutboxNotifier() };
  const admin = createApp({ config, logger: silentLogger, db: { ping: async () => true }, keyring, stamps });
  // The metadata router under the same tenant resolution as /tenants/{t} (src/http/tenant-routes.ts).
  const idp = express();
  idp.use(
    '/tenants/:tenantRef',
    (req, res, next) => {
      findTenantByRef(String(req.params.tenantRef))
        .then((t) => {
          if (!t) res.status(404).end();
          else {
            res.locals.tenant = t;
            next();
          }
        })
        .catch(next);
    },
    samlMetadataRouter(deps),
  );
  let root: Signer;
  let tenantId: string;
  let tenantAlias: string;

  before(async () => {
    root = await rootSigner(admin);
    const t = (await root.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201)).body;
    tenantId = t.tenantId;
    tenantAlias = t.tenantAlias;
  });

  async function fetchMetadata(ref: string) {
    const res = await request(idp).get(`/tenants/${ref}/saml/idp/metadata`).buffer(true).parse((r, cb) => {
      let data = '';
      r.setEncoding('utf8');
      r.on('data', (c: string) => (data += c));
      r.on('end', () => cb(null, data));
    });
    return res;
  }

  function signingCerts(xml: string): string[] {
    const doc = parseHardened(xml);
    return Array.from(doc.getElementsByTagNameNS(MD, 'KeyDescriptor'))
      .filter((k) => k.getAttribute('use') === 'signing')
      .map((k) => k.getElementsByTagNameNS(DS, 'X509Certificate')[0]?.textContent ?? '');
  }

  it('is schema-valid SAML 2.0 metadata with the tenant-id entityID, both bindings and the NameID formats, cached briefly', async () => {
    const res = await fetchMetadata(tenantAlias);
    expect(res.status).to.equal(200);
    expect(res.headers['content-type']).to.match(/^application\/samlmetadata\+xml/);
    expect(res.headers['cache-control']).to.equal('public, max-age=300');
    const xml = res.body as string;
    await validateSamlSchema(xml, 'metadata');

    const doc = parseHardened(xml);
    const entity = doc.documentElement;
    expect(entity.localName).to.equal('EntityDescriptor');
    expect(entity.getAttribute('entityID'), 'by id, although the alias was in the URL').to.equal(`${BASE_URL}/tenants/${tenantId}/saml/idp`);
    const role = doc.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0]!;
    expect(role.getAttribute('WantAuthnRequestsSigned')).to.equal('false');
    const endpoints = (name: string) => Array.from(doc.getElementsByTagNameNS(MD, name)).map((e) => [e.getAttribute('Binding'), e.getAttribute('Location')]);
    const idpBase = `${BASE_URL}/tenants/${tenantId}/saml/idp`;
    expect(endpoints('SingleSignOnService')).to.deep.equal([
      ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', `${idpBase}/sso`],
      ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', `${idpBase}/sso`],
    ]);
    expect(endpoints('SingleLogoutService')).to.deep.equal([
      ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', `${idpBase}/slo`],
      ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', `${idpBase}/slo`],
    ]);
    expect(Array.from(doc.getElementsByTagNameNS(MD, 'NameIDFormat')).map((n) => n.textContent)).to.deep.equal([
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
      'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    ]);
    expect(xml).not.to.match(/sha1|<!--/i);
    // The certificate made on first use is the one listed.
    const [only, ...rest] = signingCerts(xml);
    expect(rest).to.deep.equal([]);
    const list = (await root.call('get', CERTS).expect(200)).body.certificates;
    expect(list).to.have.length(1);
    expect(new X509Certificate(Buffer.from(only!, 'base64')).fingerprint256.replace(/:/g, '').toLowerCase()).to.equal(list[0].sha256Fingerprint);
  });

  it('lists the next certificate during a rollover, active first, and swaps them on activation', async () => {
    const activeId = (await root.call('get', CERTS).expect(200)).body.certificates[0].certificateId;
    const next = (await root.call('post', CERTS, { certificateExpireDays: 400 }).expect(201)).body;
    const fp = (b64: string) => new X509Certificate(Buffer.from(b64, 'base64')).fingerprint256.replace(/:/g, '').toLowerCase();
    const active = (await root.call('get', `${CERTS}/${activeId}`).expect(200)).body;

    const during = (await fetchMetadata(tenantId)).body as string;
    await validateSamlSchema(during, 'metadata');
    expect(signingCerts(during).map(fp)).to.deep.equal([active.sha256Fingerprint, next.sha256Fingerprint]);

    await root.call('post', `${CERTS}/${next.certificateId}/activate`).expect(200);
    const after = (await fetchMetadata(tenantId)).body as string;
    await validateSamlSchema(after, 'metadata');
    expect(signingCerts(after).map(fp), 'the new active certificate first, the old one still published').to.deep.equal([next.sha256Fingerprint, active.sha256Fingerprint]);

    await root.call('delete', `${CERTS}/${activeId}`).expect(204);
    expect(signingCerts((await fetchMetadata(tenantId)).body as string).map(fp)).to.deep.equal([next.sha256Fingerprint]);
  });

  it('is read by samlify’s metadata parser as an SP library would (entity, endpoints, signing keys)', async () => {
    await root.call('post', CERTS, { certificateExpireDays: 30 }).expect(201);
    const xml = (await fetchMetadata(tenantId)).body as string;
    const parsed = samlify.IdPMetadata(xml);
    expect(parsed.getEntityID()).to.equal(`${BASE_URL}/tenants/${tenantId}/saml/idp`);
    expect(parsed.getSingleSignOnService('post')).to.equal(`${BASE_URL}/tenants/${tenantId}/saml/idp/sso`);
    expect(parsed.isWantAuthnRequestsSigned()).to.equal(false);
    const signing = parsed.getX509Certificate('signing');
    expect(Array.isArray(signing) ? signing.length : 1).to.equal(2);
  });

  it('escapes what it is given and stays schema-valid for any base URL', async () => {
    await fetchMetadata(tenantId); // the first certificate exists from here on, whatever ran before
    const cert = (await root.call('get', CERTS).expect(200)).body.certificates[0].certificateId;
    const pem = (await root.call('get', `${CERTS}/${cert}/download`).expect(200)).body.certificatePem as string;
    const xml = buildIdpMetadata({ baseUrl: 'https://idp.example.com/a"b<c&d', tenantId, signingCertificates: [pem] });
    await validateSamlSchema(xml, 'metadata');
    expect(parseHardened(xml).documentElement.getAttribute('entityID')).to.equal(`https://idp.example.com/a"b<c&d/tenants/${tenantId}/saml/idp`);
    // The validator is real: the same document without its required SingleSignOnService fails.
    const broken = xml.replace(/<md:SingleSignOnService[^>]*\/>/g, '');
    const refusal = await validateSamlSchema(broken, 'metadata').then(() => 'accepted', (err: { detail?: string }) => err.detail ?? String(err));
    expect(refusal).to.match(/not valid against the SAML 2.0 metadata schema/);
  });

  it('answers 404 for an unknown tenant', async () => {
    expect((await fetchMetadata('no-such-tenant')).status).to.equal(404);
  });
});
