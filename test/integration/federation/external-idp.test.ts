/**
 * The external IdP admin API (`/api/v1/sso/tenant/saml-idp…`) against the real engine: every
 * route's happy path and its 403 without its action; the limits (one IdP per tenant also under
 * concurrent creates, 1-2 certificates also under concurrent adds, the last one kept, SHA-1,
 * http URLs, bad and expired PEM); the metadata parse of real IdP metadata (another Gatehouse
 * tenant's, samlify's) and of hostile documents; the SP metadata (schema-valid, read back by
 * samlify); another account's admin sees nothing; the audit trail; the tenant delete.
 */
import request from 'supertest';
import { expect } from 'chai';
import * as samlify from 'samlify';
import { validateSamlSchema } from '../../../src/saml/xml/schema.js';
import { ExternalIdp } from '../../../src/federation/external-idp.model.js';
import { externalIdpRoutes } from '../../../src/federation/external-idp.routes.js';
import { buildSpMetadata } from '../../../src/federation/sp-metadata.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { createSelfSigned } from '../../../src/shared/x509.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { testApp, testConfig } from '../../helpers/app.js';
import { ACCOUNT, allow, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const B = `${SSO_API_PREFIX}/tenant/saml-idp`;
const CERTS = `${B}/idp-certificates`;
const OTHER_ACCOUNT = ACCOUNT + 11;
const IDP = {
  idpIssuerUrl: 'https://idp.example.com/saml/metadata',
  idpSigninUrl: 'https://idp.example.com/saml/sso',
  idpSignoutUrl: 'https://idp.example.com/saml/slo',
};

describe('External IdP admin API', function () {
  this.timeout(180_000);
  useTestDatabase('extidp');
  const app = testApp();
  const baseUrl = testConfig().baseUrl;
  let root: Signer;
  let tenantId: string;
  let certs: string[];
  let expiredPem: string;

  before(async () => {
    root = await rootSigner(app);
    tenantId = (await root.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201)).body.tenantId;
    const made = await Promise.all([1, 2, 3].map((i) => createSelfSigned({ commonName: `idp-${i}`, validDays: 365 })));
    certs = made.map((m) => m.certificatePem);
    expiredPem = (await createSelfSigned({ commonName: 'idp-expired', validDays: -1 })).certificatePem;
  });

  const createBody = (extra: Record<string, unknown> = {}) => ({ ...IDP, idpCertificates: [certs[0]], ...extra });
  const fieldsOf = (res: request.Response) => (res.body.error.fieldErrors as { field: string; message: string }[]).map((f) => f.field);
  const messagesOf = (res: request.Response) => (res.body.error.fieldErrors as { field: string; message: string }[]).map((f) => f.message).join(' | ');

  describe('create, read, replace, status, delete', () => {
    afterEach(async () => {
      await ExternalIdp.deleteMany({ tenantId });
    });

    it('creates one IdP per tenant (201), reads it, replaces its settings, switches its status and deletes it (204); each change audited', async () => {
      const created = await root.call('post', B, createBody({ protocolBinding: 'HTTP_REDIRECT', signResponseAlgorithm: 'RSA_SHA512' })).expect(201);
      expect(created.body).to.include({ tenantId, status: 'ENABLED', protocol: 'SAML', protocolBinding: 'HTTP_REDIRECT', signResponseAlgorithm: 'RSA_SHA512', requestSigningEnabled: false, ...IDP });
      expect(created.body.idpCertificates).to.have.length(1);
      expect(created.body.idpCertificates[0]).to.include.keys('certificateId', 'subject', 'sha256Fingerprint', 'notAfter');
      expect(created.body.idpCertificates[0]).not.to.have.property('certificatePem');

      const read = await root.call('get', B).expect(200);
      expect(read.body.providerId).to.equal(created.body.providerId);

      await root.call('post', B, createBody()).expect(409);

      const put = await root.call('put', B, { idpIssuerUrl: 'urn:example:idp', idpSigninUrl: 'https://idp2.example.com/sso', requestSigningEnabled: true, signRequestAlgorithm: 'RSA_SHA512' }).expect(200);
      expect(put.body).to.include({ idpIssuerUrl: 'urn:example:idp', idpSigninUrl: 'https://idp2.example.com/sso', idpSignoutUrl: null, protocolBinding: 'HTTP_POST', requestSigningEnabled: true, signRequestAlgorithm: 'RSA_SHA512' });
      expect(put.body.idpCertificates, 'PUT keeps the certificates').to.have.length(1);
      expect(put.body.revision).to.be.greaterThan(created.body.revision);

      const disabled = await root.call('put', `${B}/status`, { status: 'DISABLED' }).expect(200);
      expect(disabled.body.status).to.equal('DISABLED');
      expect((await ExternalIdp.findOne({ tenantId }).lean())?.status).to.equal('DISABLED');

      await root.call('delete', B).expect(204);
      await root.call('get', B).expect(404);
      await root.call('delete', B).expect(404);

      const audited = await HistoryEvent.find({ accountId: ACCOUNT, action: 'SSO:change/manageExternalIDP', result: 'success' }).lean();
      expect(audited.length, 'create, put, status and delete are audited').to.be.at.least(4);
      expect(audited.every((e) => e.nrn.endsWith(`:Tenant/${tenantId}`))).to.equal(true);
    });

    it('two concurrent creates make one IdP: one 201, one 409', async () => {
      const results = await Promise.all([root.call('post', B, createBody()), root.call('post', B, createBody({ idpSigninUrl: 'https://other.example.com/sso' }))]);
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409]);
      expect(await ExternalIdp.countDocuments({ tenantId })).to.equal(1);
    });

    it('refuses bad input with 400 fieldErrors and writes nothing', async () => {
      const cases: [Record<string, unknown>, string, RegExp][] = [
        [createBody({ signResponseAlgorithm: 'RSA_SHA1' }), 'body.signResponseAlgorithm', /SHA-1 is refused/],
        [createBody({ signRequestAlgorithm: 'RSA_SHA1' }), 'body.signRequestAlgorithm', /SHA-1 is refused/],
        [createBody({ idpSigninUrl: 'http://idp.example.com/sso' }), 'body.idpSigninUrl', /https/],
        [createBody({ idpSignoutUrl: 'javascript:alert(1)' }), 'body.idpSignoutUrl', /https/],
        [createBody({ idpSigninUrl: 'https://user:pw@idp.example.com/sso' }), 'body.idpSigninUrl', /user information/],
        [createBody({ idpIssuerUrl: `https://idp.example.com/${'a'.repeat(1000)}` }), 'body.idpIssuerUrl', /1000 characters/],
        [createBody({ idpCertificates: ['not a certificate'] }), 'body.idpCertificates.0', /certificate/],
        [createBody({ idpCertificates: [expiredPem] }), 'body.idpCertificates.0', /expired/],
        [createBody({ idpCertificates: [] }), 'body.idpCertificates', /at least one/],
        [createBody({ idpCertificates: certs }), 'body.idpCertificates', /at most 2/],
        [createBody({ idpCertificates: [certs[0], certs[0]] }), 'body.idpCertificates.1', /twice/],
        [createBody({ protocolBinding: 'ARTIFACT' }), 'body.protocolBinding', /./],
      ];
      for (const [body, field, message] of cases) {
        const res = await root.call('post', B, body);
        expect(res.status, `${field}: ${JSON.stringify(res.body)}`).to.equal(400);
        expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
        expect(fieldsOf(res)).to.include(field);
        expect(messagesOf(res)).to.match(message);
      }
      // http is accepted for loopback hosts only (local test IdPs).
      await root.call('post', B, createBody({ idpSigninUrl: 'http://127.0.0.1:8443/sso' })).expect(201);
      await root.call('delete', B).expect(204);
      expect(await ExternalIdp.countDocuments({ tenantId })).to.equal(0);
    });

    it('request signing makes sure the tenant has an active SAML certificate (published in the SP metadata as AuthnRequestsSigned)', async () => {
      await root.call('post', B, createBody({ requestSigningEnabled: true })).expect(201);
      const spCerts = await root.call('get', `${B}/certificates`).expect(200);
      expect(spCerts.body.certificates[0]?.status).to.equal('ACTIVE');
      const xml = (await root.call('get', `${B}/sp-metadata`).expect(200)).text;
      expect(xml).to.contain('AuthnRequestsSigned="true"');
    });
  });

  describe('IdP certificates', () => {
    let firstId: string;
    before(async () => {
      firstId = (await root.call('post', B, createBody()).expect(201)).body.idpCertificates[0].certificateId;
    });
    after(async () => {
      await ExternalIdp.deleteMany({ tenantId });
    });

    it('adds a second certificate (201), refuses a third (409) and a duplicate (409), shows the PEM in the detail, lists both', async () => {
      const added = await root.call('post', CERTS, { certificatePem: certs[1] }).expect(201);
      expect(added.body.certificatePem).to.contain('BEGIN CERTIFICATE');
      expect(added.body.subject).to.equal('CN=idp-2');
      const third = await root.call('post', CERTS, { certificatePem: certs[2] }).expect(409);
      expect(third.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
      const dup = await root.call('post', CERTS, { certificatePem: certs[1] }).expect(409);
      expect(dup.body.error.errorCode).to.equal('CONFLICT');
      const list = await root.call('get', CERTS).expect(200);
      expect(list.body.totalElements).to.equal(2);
      const detail = await root.call('get', `${CERTS}/${added.body.certificateId}`).expect(200);
      expect(detail.body).to.include({ certificateId: added.body.certificateId, sha256Fingerprint: added.body.sha256Fingerprint });
      expect(detail.body.certificatePem).to.contain('BEGIN CERTIFICATE');
      await root.call('get', `${CERTS}/00000000-0000-4000-8000-000000000000`).expect(404);
    });

    it('refuses a bad or expired PEM (400, nothing written)', async () => {
      const before = (await ExternalIdp.findOne({ tenantId }).lean())?.revision;
      const bad = await root.call('post', CERTS, { certificatePem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }).expect(400);
      expect(fieldsOf(bad)).to.deep.equal(['body.certificatePem']);
      const expired = await root.call('post', CERTS, { certificatePem: expiredPem }).expect(400);
      expect(messagesOf(expired)).to.match(/expired/);
      expect((await ExternalIdp.findOne({ tenantId }).lean())?.revision).to.equal(before);
    });

    it('deletes one (204) and refuses to delete the last one (400 InvalidState)', async () => {
      await root.call('delete', `${CERTS}/${firstId}`).expect(204);
      const list = await root.call('get', CERTS).expect(200);
      expect(list.body.totalElements).to.equal(1);
      const last = list.body.idpCertificates[0].certificateId as string;
      const refused = await root.call('delete', `${CERTS}/${last}`).expect(400);
      expect(refused.body.error.message).to.equal('InvalidState');
      expect((await ExternalIdp.findOne({ tenantId }).lean())?.idpCertificates).to.have.length(1);
    });

    it('concurrent adds never make more than 2 (revision-guarded writes)', async () => {
      const results = await Promise.all([certs[0], certs[2]].map((certificatePem) => root.call('post', CERTS, { certificatePem })));
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409]);
      expect((await ExternalIdp.findOne({ tenantId }).lean())?.idpCertificates).to.have.length(2);
    });

    it('the expiry notification setting: defaults, then set (same rules as the SP certificates’)', async () => {
      const initial = await root.call('get', `${CERTS}/notification`).expect(200);
      expect(initial.body).to.deep.equal({ recipients: [], leadDays: [30, 7, 1] });
      const set = await root.call('put', `${CERTS}/notification`, { recipients: ['Ops@Example.com', 'ops@example.com'], leadDays: [7, 60] }).expect(200);
      expect(set.body).to.deep.equal({ recipients: ['ops@example.com'], leadDays: [60, 7] });
      expect((await root.call('get', `${CERTS}/notification`).expect(200)).body).to.deep.equal(set.body);
      const bad = await root.call('put', `${CERTS}/notification`, { recipients: ['not-an-address'] }).expect(400);
      expect(fieldsOf(bad)).to.deep.equal(['body.recipients.0']);
    });
  });

  describe('metadata parse', () => {
    const parse = (metadataXml: string, extra: Record<string, unknown> = {}) => root.call('post', `${B}/metadata/parse`, { metadataXml, ...extra });

    it('reads another Gatehouse tenant’s IdP metadata into create fields, and a create with them succeeds', async () => {
      const other = await rootSigner(app, OTHER_ACCOUNT);
      const otherTenant = (await other.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201)).body.tenantId as string;
      const xml = (await request(app).get(`/tenants/${otherTenant}/saml/idp/metadata`).expect(200)).text;
      const res = await parse(xml).expect(200);
      expect(res.body).to.deep.include({
        idpIssuerUrl: `${baseUrl}/tenants/${otherTenant}/saml/idp`,
        idpSigninUrl: `${baseUrl}/tenants/${otherTenant}/saml/idp/sso`,
        idpSignoutUrl: `${baseUrl}/tenants/${otherTenant}/saml/idp/slo`,
        protocolBinding: 'HTTP_POST',
      });
      expect(res.body.idpCertificates).to.have.length(1);
      const redirect = await parse(xml, { protocolBinding: 'HTTP_REDIRECT' }).expect(200);
      expect(redirect.body.protocolBinding).to.equal('HTTP_REDIRECT');
      expect(await ExternalIdp.countDocuments({ tenantId }), 'parse stores nothing').to.equal(0);
      await root.call('post', B, res.body).expect(201);
      await root.call('delete', B).expect(204);
    });

    it('reads samlify’s IdentityProvider metadata (and refuses samlify’s SLO variant, which breaks the schema’s element order)', async () => {
      const sso = [{ Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: 'https://okta.example.com/app/sso/saml' }];
      const idp = samlify.IdentityProvider({ entityID: 'https://okta.example.com/exk1', signingCert: certs[1], singleSignOnService: sso });
      const res = await parse(idp.getMetadata()).expect(200);
      expect(res.body).to.deep.include({ idpIssuerUrl: 'https://okta.example.com/exk1', idpSigninUrl: 'https://okta.example.com/app/sso/saml', idpSignoutUrl: null, protocolBinding: 'HTTP_REDIRECT' });
      const stripped = (pem: string) => pem.replace(/-----[^-]+-----|\s/g, '');
      expect(res.body.idpCertificates.map(stripped)).to.deep.equal([stripped(certs[1]!)]);
      // Asking for a binding the IdP does not offer is refused, naming what it offers.
      const post = await parse(idp.getMetadata(), { protocolBinding: 'HTTP_POST' }).expect(400);
      expect(post.body.error.detail).to.match(/offered: urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect/);
      // samlify 2.13 writes SingleLogoutService after SingleSignOnService: not valid SAML metadata.
      const withSlo = samlify.IdentityProvider({ entityID: 'https://okta.example.com/exk1', signingCert: certs[1], singleSignOnService: sso, singleLogoutService: sso });
      const refused = await parse(withSlo.getMetadata()).expect(400);
      expect(refused.body.error.detail).to.match(/metadata schema.*SingleLogoutService/);
    });

    function idpMetadata(opts: { location?: string; validUntil?: string; prefix?: string; cert?: string } = {}): string {
      const der = (opts.cert ?? certs[0]!).replace(/-----[^-]+-----|\s/g, '');
      return (
        `${opts.prefix ?? '<?xml version="1.0"?>'}` +
        `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.org"${opts.validUntil ? ` validUntil="${opts.validUntil}"` : ''}>` +
        '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${der}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` +
        `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${opts.location ?? 'https://idp.example.org/sso'}"/>` +
        '</md:IDPSSODescriptor></md:EntityDescriptor>'
      );
    }

    it('accepts a hand-written document with a comment and a future validUntil (control for the hostile ones)', async () => {
      const res = await parse(idpMetadata({ validUntil: new Date(Date.now() + 86_400_000).toISOString() }).replace('<md:IDPSSODescriptor', '<!-- exported by hand --><md:IDPSSODescriptor')).expect(200);
      expect(res.body).to.deep.include({ idpIssuerUrl: 'https://idp.example.org', idpSigninUrl: 'https://idp.example.org/sso', idpSignoutUrl: null });
    });

    it('refuses a document over 256 KiB before parsing it', async () => {
      const padded = idpMetadata().replace('<md:IDPSSODescriptor', `<md:Extensions><x:pad xmlns:x="urn:x">${'a'.repeat(300 * 1024)}</x:pad></md:Extensions><md:IDPSSODescriptor`);
      const res = await parse(padded).expect(400);
      expect(fieldsOf(res)).to.deep.equal(['body.metadataXml']);
      expect(messagesOf(res)).to.match(/at most 262144/);
    });

    it('refuses hostile metadata: DOCTYPE, javascript: endpoint, expired validUntil, expired certificate, not schema-valid, not an IdP', async () => {
      const cases: [string, RegExp][] = [
        [idpMetadata({ prefix: '<?xml version="1.0"?><!DOCTYPE md [<!ENTITY x "y">]>' }), /DOCTYPE/],
        [idpMetadata({ location: 'javascript:alert(1)' }), /SingleSignOnService Location must use https/],
        [idpMetadata({ location: 'http://idp.example.org/sso' }), /https/],
        [idpMetadata({ validUntil: '2020-01-01T00:00:00Z' }), /expired/],
        [idpMetadata({ cert: expiredPem }), /certificate expired/],
        [idpMetadata().replace('<md:SingleSignOnService', '<md:Bogus/><md:SingleSignOnService'), /schema/],
        [idpMetadata().replace(/IDPSSODescriptor/g, 'SPSSODescriptor').replace('<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.org/sso"/>', '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example.org/acs" index="0"/>'), /not an identity provider/],
      ];
      for (const [xml, reason] of cases) {
        const res = await parse(xml);
        expect(res.status, `${reason}: ${JSON.stringify(res.body)}`).to.equal(400);
        expect(res.body.error.detail).to.match(reason);
      }
      expect(await ExternalIdp.countDocuments({ tenantId })).to.equal(0);
    });
  });

  describe('SP data and SP metadata', () => {
    it('returns the tenant’s SP URLs', async () => {
      const res = await root.call('get', `${B}/sp-data`).expect(200);
      const t = `${baseUrl}/tenants/${tenantId}`;
      expect(res.body).to.deep.equal({ entityId: t, signinUrl: `${t}/saml/login`, acsUrl: `${t}/saml/acs`, metadataUrl: `${t}/saml/sp-metadata`, logoutUrl: `${t}/saml/logout` });
    });

    it('serves schema-valid SP metadata that samlify reads back (entity ID, ACS, signing flags, certificates)', async () => {
      await root.call('post', `${B}/certificates`, {}).expect((r) => expect([201, 409]).to.include(r.status));
      const res = await root.call('get', `${B}/sp-metadata`).expect(200);
      expect(res.headers['content-type']).to.match(/^application\/samlmetadata\+xml/);
      await validateSamlSchema(res.text, 'metadata');
      const sp = samlify.ServiceProvider({ metadata: res.text });
      const t = `${baseUrl}/tenants/${tenantId}`;
      expect(sp.entityMeta.getEntityID()).to.equal(t);
      expect(sp.entityMeta.getAssertionConsumerService('post')).to.equal(`${t}/saml/acs`);
      expect(sp.entityMeta.isWantAssertionsSigned()).to.equal(true);
      expect(sp.entityMeta.isAuthnRequestSigned(), 'no IdP record: requests are not signed').to.equal(false);
      const spCerts = (await root.call('get', `${B}/certificates`).expect(200)).body.certificates as unknown[];
      const published = sp.entityMeta.getX509Certificate('signing');
      expect(Array.isArray(published) ? published.length : 1).to.equal(spCerts.length);
    });

    it('escapes what it writes, and stays schema-valid', async () => {
      const xml = buildSpMetadata({ baseUrl: 'https://a.example.com/x"<&>', tenantId: 't', authnRequestsSigned: false, signingCertificates: [certs[0]!] });
      expect(xml).to.contain('entityID="https://a.example.com/x&quot;&lt;&amp;&gt;/tenants/t"');
      await validateSamlSchema(xml, 'metadata');
    });
  });

  describe('authorization and isolation', () => {
    before(async () => {
      await root.call('post', B, createBody()).expect(201);
    });
    after(async () => {
      await ExternalIdp.deleteMany({ tenantId });
    });

    it('every route answers 403 (audited) to a sub account allowed every other SSO action but its own', async () => {
      const certificateId = (await root.call('get', CERTS).expect(200)).body.idpCertificates[0].certificateId as string;
      for (const spec of externalIdpRoutes) {
        const path = SSO_API_PREFIX + spec.path.replace(':certificateId', certificateId);
        const own = spec.action.slice(spec.action.indexOf(':') + 1).toLowerCase();
        const others = ['view/getTenantDetail', 'view/getCertificate', 'change/manageExternalIDP', 'view/getServiceProviderDataDetail', 'Change/addIdPCertificate', 'view/getIdPCertificateDetail', 'Change/deleteIdPCertificate', 'Change/manageIdPNotificationSetting'].filter((a) => a.toLowerCase() !== own);
        const sub = await subAccountSigner(app, [allow(others, 'SSO')]);
        const res = await sub.call(spec.method, path, spec.method === 'get' || spec.method === 'delete' ? undefined : {});
        expect(res.status, `${spec.method} ${spec.path}`).to.equal(403);
        const denial = await HistoryEvent.findOne({ accountId: ACCOUNT, 'actor.id': sub.subAccountId, result: 'denied' }).lean();
        expect(denial?.action.toLowerCase()).to.equal(spec.action.toLowerCase());
      }
      expect(await ExternalIdp.countDocuments({ tenantId })).to.equal(1);
    });

    it('another account’s admin sees and changes nothing of this tenant’s IdP (404)', async () => {
      const other = await rootSigner(app, OTHER_ACCOUNT);
      const certificateId = (await root.call('get', CERTS).expect(200)).body.idpCertificates[0].certificateId as string;
      await other.call('get', B).expect(404);
      await other.call('get', `${CERTS}/${certificateId}`).expect(404);
      await other.call('delete', `${CERTS}/${certificateId}`).expect(404);
      await other.call('put', `${B}/status`, { status: 'DISABLED' }).expect(404);
      await other.call('delete', B).expect(404);
      const mine = await ExternalIdp.findOne({ tenantId }).lean();
      expect(mine?.status).to.equal('ENABLED');
      expect(mine?.idpCertificates).to.have.length(1);
    });
  });

  it('deleting the tenant deletes its external IdP', async () => {
    const acct = ACCOUNT + 23;
    const admin = await rootSigner(app, acct);
    const t = (await admin.call('post', `${SSO_API_PREFIX}/tenant`, { termsAgreed: true }).expect(201)).body.tenantId as string;
    await admin.call('post', B, createBody()).expect(201);
    await admin.call('delete', `${SSO_API_PREFIX}/tenant`).expect(204);
    expect(await ExternalIdp.countDocuments({ tenantId: t })).to.equal(0);
  });
});
