/**
 * Applications of Single Sign-On (seed S4 "Application" actions; reference/ncloud-model.md §1
 * "Application"; issues 8 and 9): OIDC clients (redirect URI rules, client authentication and
 * grant rules with RFC 9700's refusals, token lifetimes, private_key_jwt JWKS, the client secret
 * shown once, stored encrypted and renewable), SAML service providers (every field rule, SP
 * certificates, creation from metadata with security-bar case 12), name rules and case-sensitive
 * uniqueness under concurrent creates, assigned users/groups and mayUseApplication, tags and tag
 * conditions, cross-account isolation, tenant deletion, and that bad input writes nothing.
 */
import 'reflect-metadata';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { quotaUsed } from '../../../src/shared/quota.js';
import { createSelfSigned } from '../../../src/shared/x509.js';
import { mayUseApplication } from '../../../src/sso/applications/application-access.js';
import { ApplicationPrincipal } from '../../../src/sso/applications/application-principal.model.js';
import { Application, applicationSecretContext } from '../../../src/sso/applications/application.model.js';
import { Consent } from '../../../src/sso/consents/consent.model.js';
import { findConsent, recordConsent } from '../../../src/sso/consents/consent.service.js';
import { SSO_API_PREFIX } from '../../../src/sso/routes.js';
import { testApp, testKeyring } from '../../helpers/app.js';
import { ACCOUNT, rootSigner, subAccountSigner, type Signer } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const BASE = SSO_API_PREFIX;
const OTHER_ACCOUNT = 2_000_041;

type Res = { status: number; body: { error: { errorCode: string; detail: string | null; fieldErrors: { field: string; message: string }[] } } };
const fields = (res: Res) => res.body.error.fieldErrors.map((f) => f.field);
const messages = (res: Res) => res.body.error.fieldErrors.map((f) => f.message).join(' | ');

const oidcBody = (name: string, oidc: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  name,
  protocol: 'OAUTH2',
  oidc: { redirectUris: ['https://rp.example.com/callback'], clientAuthMethod: 'client_secret_basic', ...oidc },
  ...extra,
});

/** A certificate with chosen validity and key (the shared helper makes only valid 2048-bit ones). */
async function certificate(opts: { notAfter?: Date; modulusLength?: number } = {}): Promise<string> {
  const alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: opts.modulusLength ?? 2048 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notAfter = opts.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '0a' + Math.floor(Math.random() * 1e6).toString(16),
    name: 'CN=sp.example.com',
    notBefore: new Date(notAfter.getTime() - 30 * 86_400_000),
    notAfter,
    signingAlgorithm: alg,
    keys: keys as unknown as CryptoKeyPair,
  });
  return cert.toString('pem');
}

const b64 = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');

function spMetadata(opts: { entityId?: string; acs?: string[]; slo?: string; validUntil?: string; cert?: string; encCert?: string; doctype?: boolean; signed?: boolean } = {}): string {
  const acs = (opts.acs ?? ['https://sp.example.com/saml/acs'])
    .map((loc, i) => `<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${i % 2 ? 'HTTP-Redirect' : 'HTTP-POST'}" Location="${loc}" index="${i + 1}"/>`)
    .join('');
  const kd = (use: string, pem: string | undefined) =>
    pem ? `<md:KeyDescriptor use="${use}"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>${b64(pem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>` : '';
  return `<?xml version="1.0"?>${opts.doctype ? '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>' : ''}
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="${opts.entityId ?? 'https://sp.example.com/saml'}"${opts.validUntil ? ` validUntil="${opts.validUntil}"` : ''}>
  <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="${opts.signed ? 'true' : 'false'}">
    ${kd('signing', opts.cert)}${kd('encryption', opts.encCert)}
    ${opts.slo ? `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${opts.slo}"/>` : ''}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    ${acs}
  </md:SPSSODescriptor>
</md:EntityDescriptor>`;
}

describe('SSO API: applications', function () {
  this.timeout(90_000);
  useTestDatabase('ssoapps');
  const app = testApp({ db: { ping: async () => true } });
  const keyring = testKeyring();
  let root: Signer;
  let tenantId: string;
  let goodCert: string;

  before(async () => {
    root = await rootSigner(app);
    tenantId = (await root.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(201)).body.tenantId;
    goodCert = (await createSelfSigned({ commonName: 'sp.example.com', validDays: 365 })).certificatePem;
  });

  const create = (body: unknown, who: Signer = root) => who.call('post', `${BASE}/applications`, body);
  const stored = (applicationId: string) => Application.findOne({ tenantId, applicationId }).select('+clientSecretEncrypted').lean().orFail();
  const stamp = async () => (await mongoose.connection.db!.collection<{ _id: string; n: number }>('change_stamps').findOne({ _id: `tenant:${tenantId}` }))?.n ?? 0;

  /** Runs bad creates and proves none left a document or took quota. */
  async function refusedWithoutTrace(bodies: unknown[], check: (res: Res, body: unknown) => void): Promise<void> {
    const before = await Application.countDocuments({ tenantId });
    const quota = await quotaUsed(`ssoApplications:${tenantId}`);
    for (const body of bodies) {
      const res = (await create(body)) as unknown as Res;
      expect(res.status, JSON.stringify(body).slice(0, 300) + ' → ' + JSON.stringify(res.body)).to.equal(400);
      expect(res.body.error.errorCode).to.equal('VALIDATION_FAILED');
      check(res, body);
    }
    expect(await Application.countDocuments({ tenantId })).to.equal(before);
    expect(await quotaUsed(`ssoApplications:${tenantId}`)).to.equal(quota);
  }

  describe('OIDC applications', () => {
    it('creates a confidential client: random client id, 256-bit secret shown once, stored only encrypted; never in GET, list or the audit trail', async () => {
      const stampBefore = await stamp();
      const res = await create(
        oidcBody('Web-App_1.0', { grantTypes: ['authorization_code', 'refresh_token'], scopes: ['openid', 'profile', 'email', 'offline_access'] }, { description: 'our portal', applicationUrl: 'https://app.example.com', tags: [{ key: 'env', value: 'prod' }] }),
      ).expect(201);
      const { clientSecret, ...a } = res.body;
      expect(clientSecret).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(clientSecret, 'base64url')).to.have.length(32);
      expect(a.oidc.clientId).to.match(/^[A-Za-z0-9_-]{32}$/);
      expect(a).to.include({ name: 'Web-App_1.0', protocol: 'OAUTH2', accessScope: 'ALL_USERS', memberLoginPolicy: 'DENY', applicationType: 'WEB', configRevision: 0 });
      expect(a.nrn).to.equal(`nrn:PUB:SSO::${ACCOUNT}:Application/${a.applicationId}`);
      expect(a.oidc).to.include({ accessType: 'confidential', hasClientSecret: true, accessTokenValidity: 3600, refreshTokenValidity: 14 * 86400 });
      const doc = await stored(a.applicationId);
      expect(doc.protocolKey).to.equal(`oidc:${a.oidc.clientId}`);
      expect(doc.clientSecretEncrypted).to.be.a('string').and.not.include(clientSecret);
      expect(keyring.decrypt(doc.clientSecretEncrypted!, applicationSecretContext(tenantId, a.applicationId))).to.equal(clientSecret);
      expect(await stamp()).to.be.greaterThan(stampBefore);

      const got = await root.call('get', `${BASE}/applications/${a.applicationId}`).expect(200);
      expect(got.body).to.deep.equal(a);
      const list = await root.call('get', `${BASE}/applications`).expect(200);
      for (const text of [JSON.stringify(got.body), JSON.stringify(list.body)]) {
        expect(text).not.to.include(clientSecret);
        expect(text).not.to.include('clientSecretEncrypted');
      }
      const events = await HistoryEvent.find({ accountId: ACCOUNT, nrn: a.nrn }).lean();
      expect(events.map((e) => e.action)).to.include('SSO:change/createApplication');
      expect(JSON.stringify(events)).not.to.include(clientSecret);
    });

    it('renewal issues a new secret once, the stored value decrypts to it and no longer to the old one; refused for a public client', async () => {
      const { clientSecret: old, ...a } = (await create(oidcBody('Renewable')).expect(201)).body;
      const stampBefore = await stamp();
      const renewed = await root.call('post', `${BASE}/applications/${a.applicationId}/client-secret`).expect(200);
      // Protocol caches in every process must drop the old secret: the tenant's change stamp moved.
      expect(await stamp()).to.be.greaterThan(stampBefore);
      expect(renewed.body).to.include({ applicationId: a.applicationId, clientId: a.oidc.clientId });
      expect(renewed.body.clientSecret).to.match(/^[A-Za-z0-9_-]{43}$/).and.not.equal(old);
      const plain = keyring.decrypt((await stored(a.applicationId)).clientSecretEncrypted!, applicationSecretContext(tenantId, a.applicationId));
      expect(plain).to.equal(renewed.body.clientSecret);
      expect(plain).not.to.equal(old);
      const got = await root.call('get', `${BASE}/applications/${a.applicationId}`).expect(200);
      expect(JSON.stringify(got.body)).not.to.include(renewed.body.clientSecret);
      expect(got.body.configRevision).to.equal(1);
      const events = await HistoryEvent.find({ accountId: ACCOUNT, nrn: a.nrn, action: 'SSO:change/updateApplication' }).lean();
      expect(events).to.have.length(1);
      expect(JSON.stringify(events)).not.to.include(renewed.body.clientSecret);

      const pub = (await create(oidcBody('PublicSpa', { clientAuthMethod: 'none' })).expect(201)).body;
      expect(pub.clientSecret).to.equal(undefined);
      expect(pub.oidc).to.include({ accessType: 'public', hasClientSecret: false });
      const refused = await root.call('post', `${BASE}/applications/${pub.applicationId}/client-secret`).expect(400);
      expect(refused.body.error.detail).to.include('does not authenticate with a client secret');
    });

    it('redirect URIs: 1-50 absolute https (http only for loopback), no fragment, no wildcard, no javascript:; exact strings stored; bad input writes nothing', async () => {
      const many = Array.from({ length: 51 }, (_v, i) => `https://rp.example.com/cb${i}`);
      const cases: [unknown[], string][] = [
        [[], 'body.oidc.redirectUris'],
        [many, 'body.oidc.redirectUris'],
        [['http://rp.example.com/cb'], 'body.oidc.redirectUris.0'],
        [['https://rp.example.com/cb#frag'], 'body.oidc.redirectUris.0'],
        [['https://*.example.com/cb'], 'body.oidc.redirectUris.0'],
        [['javascript:alert(1)'], 'body.oidc.redirectUris.0'],
        [['/relative/cb'], 'body.oidc.redirectUris.0'],
        [['https://user:pw@rp.example.com/cb'], 'body.oidc.redirectUris.0'],
        [['https://good.example%25@evil.example/cb'], 'body.oidc.redirectUris.0'],
        [['https://good.example@evil.example/cb'], 'body.oidc.redirectUris.0'],
        [['https://rp.example.com\\@evil.example/cb'], 'body.oidc.redirectUris.0'],
        [['http://127.0.0.1.evil.example/cb'], 'body.oidc.redirectUris.0'],
        [['http://localhost.evil.example/cb'], 'body.oidc.redirectUris.0'],
        [['https://rp.example.com/a', 'https://rp.example.com/a'], 'body.oidc.redirectUris.1'],
      ];
      await refusedWithoutTrace(
        cases.map(([uris]) => oidcBody('UriRules', { redirectUris: uris })),
        (res, body) => {
          const expected = cases.find(([uris]) => uris === (body as { oidc: { redirectUris: unknown[] } }).oidc.redirectUris)![1];
          expect(fields(res)).to.include(expected);
        },
      );
      await refusedWithoutTrace([oidcBody('UriRules', { postLogoutRedirectUris: ['http://evil.example/bye'] })], (res) =>
        expect(fields(res)).to.deep.equal(['body.oidc.postLogoutRedirectUris.0']),
      );
      const exact = ['https://RP.example.com:8443/Call/Back?x=1&y=%20', 'http://localhost:3000/cb', 'http://127.0.0.1/cb', 'http://[::1]:8080/cb'];
      const ok = await create(oidcBody('ExactUris', { redirectUris: exact, postLogoutRedirectUris: ['https://rp.example.com/bye'] })).expect(201);
      expect(ok.body.oidc.redirectUris).to.deep.equal(exact);
      expect((await stored(ok.body.applicationId)).oidc!.redirectUris).to.deep.equal(exact);
    });

    it('grants: implicit and password refused with the reason (RFC 9700), client_credentials only for confidential clients, refresh_token with authorization_code; scopes and token lifetimes bounded', async () => {
      await refusedWithoutTrace([oidcBody('Grants', { grantTypes: ['authorization_code', 'implicit'] })], (res) => {
        expect(fields(res)).to.deep.equal(['body.oidc.grantTypes.1']);
        expect(messages(res)).to.include('RFC 9700');
      });
      await refusedWithoutTrace([oidcBody('Grants', { grantTypes: ['password'] })], (res) => expect(messages(res)).to.include('RFC 9700'));
      await refusedWithoutTrace([oidcBody('Grants', { clientAuthMethod: 'none', grantTypes: ['client_credentials'] })], (res) =>
        expect(messages(res)).to.include('confidential'),
      );
      await refusedWithoutTrace(
        [
          oidcBody('Grants', { grantTypes: ['refresh_token'] }),
          oidcBody('Grants', { grantTypes: ['device_code'] }),
          oidcBody('Grants', { scopes: ['openid', 'admin'] }),
          oidcBody('Grants', { accessTokenValidity: 299 }),
          oidcBody('Grants', { accessTokenValidity: 86_401 }),
          oidcBody('Grants', { refreshTokenValidity: 3599 }),
          oidcBody('Grants', { refreshTokenValidity: 31_536_001 }),
          oidcBody('Grants', { clientAuthMethod: 'none', accessType: 'confidential' }),
          oidcBody('Grants', { clientAuthMethod: 'client_secret_jwt' }),
          oidcBody('Grants', { initiateLoginUri: 'http://localhost/start' }),
        ],
        (res) => expect(fields(res).every((f) => f.startsWith('body.oidc.'))).to.equal(true),
      );
      const svc = await create(oidcBody('Service', { grantTypes: ['client_credentials'], redirectUris: [], scopes: ['roles'], accessTokenValidity: 300, refreshTokenValidity: 31_536_000 })).expect(201);
      expect(svc.body.oidc).to.include({ accessTokenValidity: 300, refreshTokenValidity: 31_536_000 });
      expect(svc.body.clientSecret).to.be.a('string');
    });

    it('private_key_jwt needs a JWKS of public keys only (no secret issued); a JWKS is refused for other methods', async () => {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const pubJwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' };
      const privJwk = { ...privateKey.export({ format: 'jwk' }), kid: 'k1' };
      const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'jwk' });
      await refusedWithoutTrace(
        [
          oidcBody('Pkjwt', { clientAuthMethod: 'private_key_jwt' }),
          oidcBody('Pkjwt', { clientAuthMethod: 'private_key_jwt', jwks: JSON.stringify({ keys: [privJwk] }) }),
          oidcBody('Pkjwt', { clientAuthMethod: 'private_key_jwt', jwks: JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }) }),
          oidcBody('Pkjwt', { clientAuthMethod: 'private_key_jwt', jwks: JSON.stringify({ keys: [weak] }) }),
          oidcBody('Pkjwt', { clientAuthMethod: 'private_key_jwt', jwks: '{not json' }),
          oidcBody('Pkjwt', { clientAuthMethod: 'client_secret_basic', jwks: JSON.stringify({ keys: [pubJwk] }) }),
        ],
        (res) => expect(fields(res)).to.deep.equal(['body.oidc.jwks']),
      );
      const ok = await create(oidcBody('Pkjwt', { clientAuthMethod: 'private_key_jwt', jwks: JSON.stringify({ keys: [pubJwk] }), backchannelLogoutUri: 'https://rp.example.com/bclogout' })).expect(201);
      expect(ok.body.clientSecret).to.equal(undefined);
      expect(ok.body.oidc).to.include({ accessType: 'confidential', hasClientSecret: false, backchannelLogoutUri: 'https://rp.example.com/bclogout' });
      expect(JSON.parse(ok.body.oidc.jwks).keys[0]).to.deep.equal(pubJwk);
      expect((await stored(ok.body.applicationId)).clientSecretEncrypted).to.equal(null);
    });

    it('updates merge field by field: public → confidential issues a secret once, back to public drops it; a refused update changes nothing', async () => {
      const a = (await create(oidcBody('Switcher', { clientAuthMethod: 'none', scopes: ['openid', 'email'] })).expect(201)).body;
      const conf = await root.call('put', `${BASE}/applications/${a.applicationId}`, { oidc: { clientAuthMethod: 'client_secret_post' } }).expect(200);
      expect(conf.body.clientSecret).to.match(/^[A-Za-z0-9_-]{43}$/);
      expect(conf.body.oidc).to.include({ accessType: 'confidential', hasClientSecret: true, clientAuthMethod: 'client_secret_post' });
      expect(conf.body.oidc.scopes).to.deep.equal(['openid', 'email']);
      expect(conf.body.configRevision).to.equal(1);
      const again = await root.call('put', `${BASE}/applications/${a.applicationId}`, { description: 'same secret' }).expect(200);
      expect(again.body.clientSecret).to.equal(undefined);
      const before = await stored(a.applicationId);
      const bad = await root.call('put', `${BASE}/applications/${a.applicationId}`, { description: 'x', oidc: { grantTypes: ['implicit'] } }).expect(400);
      expect(fields(bad as unknown as Res)).to.deep.equal(['body.oidc.grantTypes.0']);
      const badConsent = await root.call('put', `${BASE}/applications/${a.applicationId}`, { consentPage: { useLanguages: ['ko'] } }).expect(400);
      expect(fields(badConsent as unknown as Res)).to.deep.equal(['body.consentPage.defaultLanguage']);
      const after = await stored(a.applicationId);
      expect(after.description).to.equal(before.description);
      expect(after.revision).to.equal(before.revision);
      const pub = await root.call('put', `${BASE}/applications/${a.applicationId}`, { oidc: { clientAuthMethod: 'none' } }).expect(200);
      expect(pub.body.oidc).to.include({ accessType: 'public', hasClientSecret: false });
      expect((await stored(a.applicationId)).clientSecretEncrypted).to.equal(null);
      await root.call('put', `${BASE}/applications/${a.applicationId}`, { saml: { entityId: 'urn:x' } }).expect(400);
    });
  });

  describe('common rules', () => {
    it('concurrent updates of different fields all land (each write is made under the revision it read, and retried)', async () => {
      const a = (await create(oidcBody('Concurrent')).expect(201)).body;
      const path = `${BASE}/applications/${a.applicationId}`;
      const results = await Promise.all([
        root.call('put', path, { description: 'described' }),
        root.call('put', path, { oidc: { scopes: ['openid', 'groups'] } }),
        root.call('put', path, { applicationUrl: 'https://app.example.com/home' }),
        root.call('put', path, { oidc: { postLogoutRedirectUris: ['https://rp.example.com/bye'] } }),
        root.call('put', path, { accessScope: 'ASSIGNED' }),
      ]);
      expect(results.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200]);
      const got = (await root.call('get', path).expect(200)).body;
      expect(got).to.include({ description: 'described', applicationUrl: 'https://app.example.com/home', accessScope: 'ASSIGNED', configRevision: 5 });
      expect(got.oidc.scopes).to.deep.equal(['openid', 'groups']);
      expect(got.oidc.postLogoutRedirectUris).to.deep.equal(['https://rp.example.com/bye']);
    });

    it('names: 2-100, a letter first, letters/digits/_ . -; unique case-sensitively; other fields bounded; nothing written on refusal', async () => {
      await refusedWithoutTrace(
        ['A', '1app', '_app', 'app name', 'app/1', 'a'.repeat(101), ' App'].map((name) => oidcBody(name)),
        (res) => expect(fields(res)).to.deep.equal(['body.name']),
      );
      await refusedWithoutTrace(
        [
          oidcBody('Fields', {}, { description: 'd'.repeat(501) }),
          oidcBody('Fields', {}, { applicationUrl: 'javascript:alert(1)' }),
          oidcBody('Fields', {}, { applicationType: 'DESKTOP' }),
          oidcBody('Fields', {}, { memberLoginPolicy: 'MAYBE' }),
          oidcBody('Fields', {}, { accessScope: 'SOME' }),
          oidcBody('Fields', {}, { tags: Array.from({ length: 21 }, (_v, i) => ({ key: `k${i}`, value: 'v' })) }),
          oidcBody('Fields', {}, { saml: { entityId: 'urn:x' } }),
          { name: 'Fields', protocol: 'OAUTH2' },
          { name: 'Fields', protocol: 'CAS', oidc: {} },
        ],
        () => undefined,
      );
      await create(oidcBody('a'.repeat(100))).expect(201);
      await create(oidcBody('CaseName')).expect(201);
      await create(oidcBody('casename')).expect(201);
      const dup = await create(oidcBody('CaseName')).expect(409);
      expect(fields(dup as unknown as Res)).to.deep.equal(['body.name']);
      const renamed = (await create(oidcBody('ToRename')).expect(201)).body;
      const clash = await root.call('put', `${BASE}/applications/${renamed.applicationId}`, { name: 'CaseName' }).expect(409);
      expect(fields(clash as unknown as Res)).to.deep.equal(['body.name']);
      expect((await stored(renamed.applicationId)).name).to.equal('ToRename');
      await root.call('put', `${BASE}/applications/${renamed.applicationId}`, { name: 'Renamed' }).expect(200);
    });

    it('at most 1,000 applications per tenant: the 1,001st is refused (409 LIMIT_EXCEEDED) and writes nothing', async () => {
      const quotas = mongoose.connection.db!.collection<{ _id: string; n: number }>('quotas');
      const key = `ssoApplications:${tenantId}`;
      const used = await quotaUsed(key);
      await quotas.updateOne({ _id: key }, { $set: { n: 1000 } });
      try {
        const before = await Application.countDocuments({ tenantId });
        const res = await create(oidcBody('OneTooMany')).expect(409);
        expect(res.body.error.errorCode).to.equal('LIMIT_EXCEEDED');
        expect(res.body.error.detail).to.include('1000 applications per tenant');
        expect(await Application.countDocuments({ tenantId })).to.equal(before);
      } finally {
        await quotas.updateOne({ _id: key }, { $set: { n: used } });
      }
    });

    it('concurrent creates of one name: exactly one 201, the rest 409, one document, quota matches', async () => {
      const quotaBefore = await quotaUsed(`ssoApplications:${tenantId}`);
      const results = await Promise.all(Array.from({ length: 6 }, () => create(oidcBody('Racer'))));
      expect(results.map((r) => r.status).sort()).to.deep.equal([201, 409, 409, 409, 409, 409]);
      expect(await Application.countDocuments({ tenantId, name: 'Racer' })).to.equal(1);
      expect(await quotaUsed(`ssoApplications:${tenantId}`)).to.equal(quotaBefore + 1);
      expect(await quotaUsed(`ssoApplications:${tenantId}`)).to.equal(await Application.countDocuments({ tenantId }));
    });

    it('consent page: ko/en/ja names ≤100, languages, purpose/period in the default language when used, transfer abroad names country and recipients', async () => {
      await refusedWithoutTrace(
        [
          { applicationName: { en: 'x'.repeat(101) } },
          { useLanguages: [] },
          { useLanguages: ['en', 'fr'] },
          { useLanguages: ['ko'], defaultLanguage: 'en' },
          { usePurposeDesc: true },
          { usePeriodDesc: true, periodDesc: { ko: 'only korean' } },
          { dataTransferAbroad: true },
          { dataTransferAbroad: true, dataTransferCountry: 'JP' },
          { dataRecipients: 'r'.repeat(501) },
        ].map((consentPage) => oidcBody('Consenting', {}, { consentPage })),
        (res) => expect(fields(res).every((f) => f.startsWith('body.consentPage'))).to.equal(true),
      );
      const page = {
        applicationName: { ko: '앱', en: 'App', ja: 'アプリ' },
        useLanguages: ['ko', 'en', 'ja'],
        defaultLanguage: 'ko',
        usePurposeDesc: true,
        purposeDesc: { ko: '로그인' },
        usePeriodDesc: true,
        periodDesc: { ko: '탈퇴 시까지' },
        dataTransferAbroad: true,
        dataTransferCountry: 'JP',
        dataRecipients: 'Example KK',
        dataRecipientsContact: 'privacy@example.jp',
      };
      const ok = await create(oidcBody('Consenting', {}, { consentPage: page })).expect(201);
      expect(ok.body.consentPage).to.deep.include({ defaultLanguage: 'ko', dataTransferCountry: 'JP', enabled: true });
      expect(ok.body.consentPage.purposeDesc).to.deep.equal({ ko: '로그인', en: '', ja: '' });
    });

    it('lists with paging, a case-insensitive name prefix and a protocol filter', async () => {
      const all = await root.call('get', `${BASE}/applications?pageSize=100`).expect(200);
      expect(all.body.totalElements).to.equal(await Application.countDocuments({ tenantId }));
      const page = await root.call('get', `${BASE}/applications?pageSize=2&pageNo=1`).expect(200);
      expect(page.body.items).to.have.length(2);
      expect(page.body.items[0].name).to.equal(all.body.items[2].name);
      const byName = await root.call('get', `${BASE}/applications?name=casen`).expect(200);
      expect(byName.body.items.map((i: { name: string }) => i.name)).to.deep.equal(['CaseName', 'casename']);
      const saml = await root.call('get', `${BASE}/applications?protocol=SAML`).expect(200);
      expect(saml.body.items.every((i: { protocol: string }) => i.protocol === 'SAML')).to.equal(true);
      await root.call('get', `${BASE}/applications?pageSize=101`).expect(400);
    });
  });

  describe('SAML applications', () => {
    const samlBody = (name: string, saml: Record<string, unknown>) => ({ name, protocol: 'SAML', saml });
    const acs = [{ location: 'https://sp.example.com/acs', binding: 'HTTP-POST', index: 1, isDefault: true }];

    it('creates an SP with every field: endpoints, NameID, signing, encryption, certificates as normalized PEM, attributes, role attribute, relay state', async () => {
      const res = await create(
        samlBody('Wiki', {
          entityId: 'https://wiki.example.com/saml',
          acsEndpoints: [
            { location: 'https://wiki.example.com/acs', index: 0 },
            { location: 'http://localhost:8080/acs', binding: 'HTTP-Redirect', index: 5 },
          ],
          sloUrl: 'https://wiki.example.com/slo',
          sloBinding: 'HTTP-Redirect',
          nameIdFormat: 'persistent',
          signWhat: 'both',
          signatureAlgorithm: 'rsa-sha512',
          encryptAssertion: true,
          encryptionCertificate: goodCert,
          requireSignedRequests: true,
          signingCertificates: [`\n${goodCert}\n`],
          attributes: [
            { name: 'mail', source: 'profile', value: 'email' },
            { name: 'memberOf', source: 'groups', friendlyName: 'groups' },
            { name: 'org', source: 'constant', value: 'Example' },
          ],
          roleAttributeName: 'https://aws.amazon.com/SAML/Attributes/Role',
          defaultRelayState: '/home',
        }),
      ).expect(201);
      const s = res.body.saml;
      expect(res.body.clientSecret).to.equal(undefined);
      expect(res.body.oidc).to.equal(null);
      expect(s.acsEndpoints).to.deep.equal([
        { binding: 'HTTP-POST', location: 'https://wiki.example.com/acs', index: 0, isDefault: true },
        { binding: 'HTTP-Redirect', location: 'http://localhost:8080/acs', index: 5, isDefault: false },
      ]);
      expect(s).to.include({ nameIdFormat: 'persistent', nameIdSource: 'loginId', signWhat: 'both', signatureAlgorithm: 'rsa-sha512', idpInitiatedAllowed: false, defaultRelayState: '/home' });
      expect(s.signingCertificates[0]).to.match(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/);
      expect(b64(s.signingCertificates[0])).to.equal(b64(goodCert));
      expect(s.attributes[1]).to.deep.equal({ name: 'memberOf', nameFormat: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic', friendlyName: 'groups', source: 'groups', value: '' });
      expect((await stored(res.body.applicationId)).protocolKey).to.equal('saml:https://wiki.example.com/saml');
      const dup = await create(samlBody('WikiCopy', { entityId: 'https://wiki.example.com/saml', acsEndpoints: acs })).expect(409);
      expect(fields(dup as unknown as Res)).to.deep.equal(['body.saml.entityId']);
    });

    it('refuses every broken rule (SHA-1, defaults, indexes, encryption or signed requests without certificates, bad certificates, attributes, relay state) and writes nothing', async () => {
      const expired = await certificate({ notAfter: new Date(Date.now() - 86_400_000) });
      const weak = await certificate({ modulusLength: 1024 });
      const base = { entityId: 'https://bad.example.com/saml', acsEndpoints: acs };
      const cases: [Record<string, unknown>, string][] = [
        [{ signatureAlgorithm: 'rsa-sha1' }, 'body.saml.signatureAlgorithm'],
        [{ acsEndpoints: [] }, 'body.saml.acsEndpoints'],
        [{ acsEndpoints: Array.from({ length: 21 }, (_v, i) => ({ location: `https://sp.example.com/acs${i}` })) }, 'body.saml.acsEndpoints'],
        [{ acsEndpoints: [{ ...acs[0], isDefault: true }, { location: 'https://sp.example.com/acs2', index: 2, isDefault: true }] }, 'body.saml.acsEndpoints'],
        [{ acsEndpoints: [{ location: 'https://sp.example.com/a', index: 1 }, { location: 'https://sp.example.com/b', index: 1 }] }, 'body.saml.acsEndpoints.1.index'],
        [{ acsEndpoints: [{ location: 'http://sp.example.com/acs' }] }, 'body.saml.acsEndpoints.0.location'],
        [{ acsEndpoints: [{ location: 'javascript:alert(1)' }] }, 'body.saml.acsEndpoints.0.location'],
        [{ sloUrl: 'https://sp.example.com/slo' }, 'body.saml.sloBinding'],
        [{ encryptAssertion: true }, 'body.saml.encryptionCertificate'],
        [{ requireSignedRequests: true }, 'body.saml.signingCertificates'],
        [{ signingCertificates: [expired] }, 'body.saml.signingCertificates.0'],
        [{ signingCertificates: [weak] }, 'body.saml.signingCertificates.0'],
        [{ signingCertificates: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'] }, 'body.saml.signingCertificates.0'],
        [{ encryptionCertificate: 'not a certificate' }, 'body.saml.encryptionCertificate'],
        [{ attributes: [{ name: 'a', source: 'constant', value: 'x' }, { name: 'a', source: 'groups' }] }, 'body.saml.attributes.1.name'],
        [{ attributes: Array.from({ length: 51 }, (_v, i) => ({ name: `a${i}`, source: 'groups' })) }, 'body.saml.attributes'],
        [{ attributes: [{ name: 'x', source: 'profile', value: 'passwordHash' }] }, 'body.saml.attributes.0.value'],
        [{ attributes: [{ name: 'x', source: 'script' }] }, 'body.saml.attributes.0.source'],
        [{ defaultRelayState: '/' + 'r'.repeat(240) }, 'body.saml.defaultRelayState'],
        [{ defaultRelayState: 'javascript:alert(1)' }, 'body.saml.defaultRelayState'],
        [{ defaultRelayState: '//evil.example.com/' }, 'body.saml.defaultRelayState'],
        [{ entityId: 'not a uri' }, 'body.saml.entityId'],
        [{ entityId: undefined }, 'body.saml.entityId'],
        [{ nameIdFormat: 'kerberos' }, 'body.saml.nameIdFormat'],
      ];
      await refusedWithoutTrace(
        cases.map(([over]) => samlBody('BadSp', { ...base, ...over })),
        (res, body) => {
          const over = cases.find(([o]) => JSON.stringify({ ...base, ...o }) === JSON.stringify((body as { saml: unknown }).saml))!;
          expect(fields(res), JSON.stringify(over[0]).slice(0, 120)).to.include(over[1]);
        },
      );
      const ok = await create(samlBody('GoodRelay', { ...base, defaultRelayState: 'https://sp.example.com/landing', idpInitiatedAllowed: true })).expect(201);
      expect(ok.body.saml).to.include({ idpInitiatedAllowed: true, defaultRelayState: 'https://sp.example.com/landing' });
    });

    it('creates from SP metadata: entity id, ACS (both bindings), SLO, NameID format, signing and encryption certificates, validUntil, signed-request requirement', async () => {
      const validUntil = new Date(Date.now() + 30 * 86_400_000).toISOString();
      const xml = spMetadata({
        entityId: 'https://meta.example.com/sp',
        acs: ['https://meta.example.com/acs/post', 'https://meta.example.com/acs/redirect'],
        slo: 'https://meta.example.com/slo',
        validUntil,
        cert: goodCert,
        encCert: goodCert,
        signed: true,
      });
      const res = await create(samlBody('FromMetadata', { metadataXml: xml, encryptAssertion: true, attributes: [{ name: 'mail', source: 'profile', value: 'email' }] })).expect(201);
      const s = res.body.saml;
      expect(s.entityId).to.equal('https://meta.example.com/sp');
      expect(s.acsEndpoints).to.deep.equal([
        { binding: 'HTTP-POST', location: 'https://meta.example.com/acs/post', index: 1, isDefault: true },
        { binding: 'HTTP-Redirect', location: 'https://meta.example.com/acs/redirect', index: 2, isDefault: false },
      ]);
      expect(s).to.include({ sloUrl: 'https://meta.example.com/slo', sloBinding: 'HTTP-Redirect', nameIdFormat: 'persistent', requireSignedRequests: true, encryptAssertion: true });
      expect(s.signingCertificates).to.have.length(1);
      expect(b64(s.encryptionCertificate)).to.equal(b64(goodCert));
      expect(s.metadataValidUntil).to.equal(validUntil);
      expect(s.attributes).to.have.length(1);
      // Re-importing metadata on update replaces what it determines, but never silently drops a
      // signed-request requirement: metadata without signing keys is refused until it is turned off.
      const path = `${BASE}/applications/${res.body.applicationId}`;
      const metadataXml = spMetadata({ entityId: 'https://meta.example.com/sp2', acs: ['http://127.0.0.1:9000/acs'] });
      const kept = await root.call('put', path, { saml: { metadataXml } }).expect(400);
      expect(fields(kept as unknown as Res)).to.deep.equal(['body.saml.signingCertificates']);
      const upd = await root.call('put', path, { saml: { metadataXml, requireSignedRequests: false } }).expect(200);
      expect(upd.body.saml.entityId).to.equal('https://meta.example.com/sp2');
      expect(upd.body.saml.acsEndpoints).to.have.length(1);
      expect((await stored(res.body.applicationId)).protocolKey).to.equal('saml:https://meta.example.com/sp2');
    });

    it('refuses bad metadata with per-element errors (DOCTYPE, expired validUntil, javascript:/http: endpoints, no ACS, malformed, aggregates, expired certificate) and writes nothing (security-bar case 12)', async () => {
      const expired = await certificate({ notAfter: new Date(Date.now() - 86_400_000) });
      const cases: [string, string, RegExp][] = [
        [spMetadata({ doctype: true }), 'body.saml.metadataXml', /DOCTYPE/],
        [spMetadata({ validUntil: '2020-01-01T00:00:00Z' }), 'body.saml.metadataXml.validUntil', /expired/],
        [spMetadata({ acs: ['javascript:alert(document.domain)'] }), 'body.saml.metadataXml.AssertionConsumerService[0].Location', /https/],
        [spMetadata({ acs: ['https://ok.example.com/acs', 'http://sp.example.com/acs'] }), 'body.saml.metadataXml.AssertionConsumerService[1].Location', /loopback/],
        [spMetadata({ slo: 'javascript:alert(1)' }), 'body.saml.metadataXml.SingleLogoutService[0].Location', /https/],
        [spMetadata({ acs: [] }), 'body.saml.metadataXml.AssertionConsumerService', /at least one/],
        [spMetadata({ cert: expired }), 'body.saml.metadataXml.KeyDescriptor[0].X509Certificate', /expired/],
        ['<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><unclosed></md:EntityDescriptor>', 'body.saml.metadataXml', /not acceptable XML/],
        ['<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x" a="1" a="2"/>', 'body.saml.metadataXml', /not acceptable XML/],
        [`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x">${'<a>'.repeat(30_000)}${'</a>'.repeat(30_000)}</md:EntityDescriptor>`, 'body.saml.metadataXml', /nested deeper/],
        [`${spMetadata()}<?evil pi?>`, 'body.saml.metadataXml', /processing instructions/],
        ['<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>', 'body.saml.metadataXml', /EntityDescriptor/],
        ['<x/>'.padEnd(256 * 1024 + 1, ' '), 'body.saml.metadataXml', /256 KB/],
      ];
      await refusedWithoutTrace(
        cases.map(([xml]) => samlBody('BadMeta', { metadataXml: xml })),
        (res, body) => {
          const c = cases.find(([xml]) => xml === (body as { saml: { metadataXml: string } }).saml.metadataXml)!;
          expect(fields(res), c[1]).to.include(c[1]);
          expect(messages(res)).to.match(c[2]);
        },
      );
      expect(await Application.countDocuments({ tenantId, name: 'BadMeta' })).to.equal(0);
      // Billion laughs: refused before any parser expands an entity.
      const lol = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_v, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`).join('')}]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&lol9;"/>`;
      const started = Date.now();
      const res = await create(samlBody('Laughs', { metadataXml: lol })).expect(400);
      expect(Date.now() - started).to.be.lessThan(1000);
      expect(messages(res as unknown as Res)).to.include('DOCTYPE');
    });
  });

  describe('who may sign in, deletion, tags, isolation', () => {
    let appId: string;
    let userId: string;
    let groupId: string;
    let otherUserId: string;

    before(async () => {
      appId = (await create(oidcBody('Assigned', {}, { accessScope: 'ASSIGNED' })).expect(201)).body.applicationId;
      userId = (await root.call('post', `${BASE}/users`, { loginId: 'alice@example.com' }).expect(201)).body.userId;
      otherUserId = (await root.call('post', `${BASE}/users`, { loginId: 'bob@example.com' }).expect(201)).body.userId;
      groupId = (await root.call('post', `${BASE}/groups`, { groupName: 'wikiusers' }).expect(201)).body.groupId;
    });

    it('assigns users and groups (idempotent; unknown ids refused with nothing added) and mayUseApplication follows', async () => {
      const appDoc = await stored(appId);
      expect(await mayUseApplication(tenantId, appDoc, userId, [])).to.equal(false);
      const unknown = randomUUID();
      const bad = await root.call('post', `${BASE}/applications/${appId}/principals`, { userIds: [userId, unknown], groupIds: [groupId] }).expect(400);
      expect(fields(bad as unknown as Res)).to.deep.equal(['body.userIds.1']);
      expect(await ApplicationPrincipal.countDocuments({ tenantId, applicationId: appId })).to.equal(0);
      const added = await root.call('post', `${BASE}/applications/${appId}/principals`, { userIds: [userId], groupIds: [groupId] }).expect(200);
      expect(added.body).to.deep.equal({ added: 2 });
      expect((await root.call('post', `${BASE}/applications/${appId}/principals`, { userIds: [userId] }).expect(200)).body).to.deep.equal({ added: 0 });
      const list = await root.call('get', `${BASE}/applications/${appId}/principals`).expect(200);
      expect(list.body.items.map((p: { principalType: string; displayName: string }) => `${p.principalType}:${p.displayName}`)).to.deep.equal(['group:wikiusers', 'user:alice@example.com']);
      expect(await mayUseApplication(tenantId, appDoc, userId, [])).to.equal(true);
      expect(await mayUseApplication(tenantId, appDoc, otherUserId, [groupId])).to.equal(true);
      expect(await mayUseApplication(tenantId, appDoc, otherUserId, [randomUUID()])).to.equal(false);
      expect(await mayUseApplication(tenantId, { applicationId: randomUUID(), accessScope: 'ASSIGNED' }, userId, [groupId])).to.equal(false);
      expect(await mayUseApplication(tenantId, { ...appDoc, accessScope: 'ALL_USERS' }, otherUserId, [])).to.equal(true);
      const removed = await root.call('delete', `${BASE}/applications/${appId}/principals`, { groupIds: [groupId] }).expect(200);
      expect(removed.body).to.deep.equal({ removed: 1 });
      expect(await mayUseApplication(tenantId, appDoc, otherUserId, [groupId])).to.equal(false);
    });

    it('deleting a user or a group through the API removes it from every application it was assigned to', async () => {
      const leaver = (await root.call('post', `${BASE}/users`, { loginId: 'leaver@example.com' }).expect(201)).body.userId;
      const team = (await root.call('post', `${BASE}/groups`, { groupName: 'leavinggroup' }).expect(201)).body.groupId;
      await root.call('post', `${BASE}/applications/${appId}/principals`, { userIds: [leaver], groupIds: [team] }).expect(200);
      await root.call('delete', `${BASE}/users/${leaver}`).expect(204);
      await root.call('delete', `${BASE}/groups/${team}`).expect((res) => expect(res.status).to.be.oneOf([200, 204]));
      expect(await ApplicationPrincipal.countDocuments({ tenantId, principalId: { $in: [leaver, team] } })).to.equal(0);
      const list = await root.call('get', `${BASE}/applications/${appId}/principals`).expect(200);
      expect(list.body.items.map((p: { principalId: string }) => p.principalId)).to.deep.equal([userId]);
    });

    it('tag conditions: requestTag on create, resourceTag on read and update; tag and untag', async () => {
      const envOnly = (actions: string[], operator: string, key: string) => ({
        document: { permissions: [{ effect: 'Allow', targets: [{ product: 'SSO', actions, resourceNrns: ['*'] }], condition: { [operator]: { [key]: ['dev'] } } }] },
      });
      const creator = await subAccountSigner(app, [envOnly(['Change/createApplication'], 'StringEquals', 'ncp:requestTag/env')]);
      await create(oidcBody('TaggedProd', {}, { tags: [{ key: 'env', value: 'prod' }] }), creator).expect(403);
      const dev = await create(oidcBody('TaggedDev', {}, { tags: [{ key: 'env', value: 'dev' }] }), creator).expect(201);
      const devId = dev.body.applicationId;
      const reader = await subAccountSigner(app, [envOnly(['View/getApplicationDetail', 'Change/updateApplication'], 'StringEquals', 'ncp:resourceTag/env')]);
      await reader.call('get', `${BASE}/applications/${devId}`).expect(200);
      await reader.call('put', `${BASE}/applications/${devId}`, { description: 'ok' }).expect(200);
      await reader.call('get', `${BASE}/applications/${appId}`).expect(403);
      await reader.call('post', `${BASE}/applications/${appId}/client-secret`).expect(403);
      const tagged = await root.call('post', `${BASE}/applications/${appId}/tags`, { tags: [{ key: 'env', value: 'dev' }, { key: 'team', value: 'wiki' }] }).expect(200);
      expect(tagged.body.tags).to.deep.equal([{ key: 'env', value: 'dev' }, { key: 'team', value: 'wiki' }]);
      await reader.call('get', `${BASE}/applications/${appId}`).expect(200);
      const untagged = await root.call('delete', `${BASE}/applications/${appId}/tags`, { tagKeys: ['env'] }).expect(200);
      expect(untagged.body.tags).to.deep.equal([{ key: 'team', value: 'wiki' }]);
      await reader.call('get', `${BASE}/applications/${appId}`).expect(403);
      const tooMany = await root.call('post', `${BASE}/applications/${appId}/tags`, { tags: Array.from({ length: 20 }, (_v, i) => ({ key: `k${i}`, value: 'v' })) }).expect(400);
      expect(tooMany.body.error.detail).to.include('at most 20 tags');
    });

    it("an admin of another account gets 404 for this tenant's application by id, on every route, and changes nothing", async () => {
      const other = await rootSigner(app, OTHER_ACCOUNT);
      await other.call('post', `${BASE}/tenant`, { termsAgreed: true }).expect(201);
      const before = await stored(appId);
      await other.call('get', `${BASE}/applications/${appId}`).expect(404);
      await other.call('put', `${BASE}/applications/${appId}`, { description: 'hijack' }).expect(404);
      await other.call('post', `${BASE}/applications/${appId}/client-secret`).expect(404);
      await other.call('get', `${BASE}/applications/${appId}/principals`).expect(404);
      await other.call('post', `${BASE}/applications/${appId}/principals`, { userIds: [userId] }).expect(404);
      await other.call('post', `${BASE}/applications/${appId}/tags`, { tags: [{ key: 'x', value: 'y' }] }).expect(404);
      await other.call('delete', `${BASE}/applications/${appId}`).expect(404);
      expect((await other.call('get', `${BASE}/applications`).expect(200)).body.totalElements).to.equal(0);
      const after = await stored(appId);
      expect(after.revision).to.equal(before.revision);
      expect(after.clientSecretEncrypted).to.equal(before.clientSecretEncrypted);
    });

    it('delete ends the consents (history kept), removes the assignments, gives back the quota; a tenant with applications cannot be deleted', async () => {
      const other = await rootSigner(app, OTHER_ACCOUNT);
      const otherApp = (await create(oidcBody('OnlyApp'), other).expect(201)).body.applicationId;
      const refused = await other.call('delete', `${BASE}/tenant`).expect(409);
      expect(refused.body.error.detail).to.include('applications');
      await other.call('delete', `${BASE}/applications/${otherApp}`).expect(204);
      await other.call('delete', `${BASE}/tenant`).expect(204);

      await recordConsent({ tenantId, accountId: ACCOUNT, applicationId: appId, userId, scopes: ['openid'], items: [], language: 'en' });
      const quota = await quotaUsed(`ssoApplications:${tenantId}`);
      const stampBefore = await stamp();
      await root.call('delete', `${BASE}/applications/${appId}`).expect(204);
      await root.call('get', `${BASE}/applications/${appId}`).expect(404);
      expect(await ApplicationPrincipal.countDocuments({ tenantId, applicationId: appId })).to.equal(0);
      expect(await findConsent(tenantId, appId, userId)).to.equal(null);
      const history = await Consent.findOne({ tenantId, applicationId: appId, userId }).lean().orFail();
      expect(history.withdrawalReason).to.equal('applicationDeleted');
      expect(await quotaUsed(`ssoApplications:${tenantId}`)).to.equal(quota - 1);
      expect(await stamp()).to.be.greaterThan(stampBefore);
      await root.call('delete', `${BASE}/applications/${appId}`).expect(404);
    });
  });
});
