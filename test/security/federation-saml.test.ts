/**
 * Security-bar §6 cases 13-22 ("SAML, inbound federation") on the tenant's SP endpoint
 * `POST /tenants/{t}/saml/acs`, with Responses written and signed by a test IdP key
 * (test/helpers/xsw.ts). Every attack names an existing ACTIVATED user (`admin@…`), so an
 * accepted forgery would open a session: each test checks that none exists, that the answer is
 * the one generic page with no redirect, and the reason the SP logged.
 *
 *  13 XSW1-XSW8 from one valid response → all refused
 *  14 signature stripped; unsigned assertion in an unsigned response; unsigned assertion in a
 *     signed response (the assertion's own signature is required) → refused
 *  15 re-signed by a stranger key with its certificate in KeyInfo → refused
 *  16 comment in DigestValue; two SignedInfo; two Assertions; two roots → refused
 *  17 NameID edited after signing → refused
 *  18 `admin@…<!---->.evil.com` → refused whole (never the truncated admin)
 *  19 the same Response twice, sequentially and concurrently → exactly one session; the same
 *     assertion in a new response → refused
 *  20 unknown InResponseTo, another sign-in's InResponseTo, wrong Audience, wrong Destination,
 *     wrong Recipient, a foreign Issuer, NotOnOrAfter past the 180 s skew → refused (inside the
 *     skew: accepted)
 *  21 rsa-sha1 signature, sha1 digest, and (configured RSA_SHA512) an rsa-sha256 signature → refused
 *  22 Gatehouse's SP takes no encrypted assertions: an EncryptedAssertion (real AES-CBC, or its
 *     ciphertext tampered) → refused before any decryption, same status and body
 */
import { inflateRawSync } from 'node:zlib';
import { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { pino } from 'pino';
import type request from 'supertest';
import xmlenc from 'xml-encryption';
import { createApp } from '../../src/app.js';
import { ChangeStamps } from '../../src/iam/change-stamps.js';
import { tenantScope } from '../../src/sso/tenant/tenant-context.js';
import { ExternalIdp, federationSpUrls } from '../../src/federation/external-idp.model.js';
import { getTenantSigningKeys } from '../../src/saml/keys.js';
import { createSelfSigned, type CertificateAndKey } from '../../src/shared/x509.js';
import { Tenant } from '../../src/sso/tenant/tenant.model.js';
import { SsoUserSession } from '../../src/sso/users/user-session.model.js';
import { testConfig, testKeyring } from '../helpers/app.js';
import { useTestDatabase } from '../helpers/db.js';
import { DOMParser } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';
import { buildResponse, editNameId, SAML_NS, samlId, signResponse, stripSignatures, xswVariants, type ResponseInput, type SignOptions } from '../helpers/xsw.js';
import { agentFor, BASE, seedTenant, seedUser, type TestAgent, type TestTenant } from '../integration/saml/sso-fixtures.js';

const IDP_ENTITY = 'https://idp.corp.example/saml';
const VICTIM = 'alice@corp.example';
const ADMIN = 'admin@corp.example';

describe('Security bar cases 13-22: SAML responses from the external IdP', function () {
  this.timeout(180_000);
  useTestDatabase('fedsaml');
  const logLines: string[] = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        logLines.push(chunk.toString('utf8'));
        cb();
      },
    }),
  );
  const config = testConfig();
  // The app's own change stamps: a direct write of the IdP record below bumps them as the admin API does.
  const stamps = new ChangeStamps();
  const app = createApp({ config, logger, db: { ping: async () => true }, keyring: testKeyring(), stamps });
  let t: TestTenant;
  let idpKey: CertificateAndKey;
  let stranger: CertificateAndKey;
  let spCertPem: string;
  let victimId: string;
  let adminId: string;
  let urls: ReturnType<typeof federationSpUrls>;

  before(async function () {
    t = await seedTenant(3300001);
    urls = federationSpUrls(BASE, t.tenantId);
    [idpKey, stranger] = await Promise.all([createSelfSigned({ commonName: 'external idp', validDays: 30 }), createSelfSigned({ commonName: 'stranger', validDays: 30 })]);
    spCertPem = (await getTenantSigningKeys(t.tenantId, t.accountId, testKeyring())).current.certPem;
    victimId = await seedUser(t, VICTIM);
    adminId = await seedUser(t, ADMIN);
    await Tenant.updateOne({ accountId: t.accountId, tenantId: t.tenantId }, { $set: { 'loginSettings.externalIdpEnabled': true } });
    const now = new Date();
    await ExternalIdp.create({
      accountId: t.accountId,
      tenantId: t.tenantId,
      providerId: randomUUID(),
      idpIssuerUrl: IDP_ENTITY,
      idpSigninUrl: 'https://idp.corp.example/saml/sso',
      protocolBinding: 'HTTP_REDIRECT',
      idpCertificates: [{ certificateId: randomUUID(), certificatePem: idpKey.certificatePem, subject: 'CN=external idp', sha256Fingerprint: 'x', notBefore: now, notAfter: new Date(now.getTime() + 30 * 86_400_000), addedAt: now }],
    });
  });

  interface Pending {
    agent: TestAgent;
    relayState: string;
    requestId: string;
  }

  /** A federated sign-in in flight: the browser went to /saml/login and holds the interaction cookie. */
  async function pending(): Promise<Pending> {
    const agent = agentFor(app);
    const res = await agent.get(`/tenants/${t.tenantId}/saml/login`);
    expect(res.status).to.equal(303);
    const loc = new URL(String(res.headers.location));
    const xml = inflateRawSync(Buffer.from(loc.searchParams.get('SAMLRequest')!, 'base64')).toString('utf8');
    return { agent, relayState: loc.searchParams.get('RelayState')!, requestId: /ID="([^"]+)"/.exec(xml)![1]! };
  }

  function response(p: Pending, overrides: Partial<ResponseInput> = {}): string {
    return buildResponse({ idpEntityId: IDP_ENTITY, spEntityId: urls.entityId, acsUrl: urls.acsUrl, inResponseTo: p.requestId, nameIdXml: VICTIM, ...overrides });
  }

  const signed = (xml: string, o: Partial<SignOptions> = {}) => signResponse(xml, { privateKeyPem: idpKey.privateKeyPem, what: 'assertion', ...o });

  function post(p: Pending, xml: string): request.Test {
    return p.agent.post(`/tenants/${t.tenantId}/saml/acs`).type('form').send({ SAMLResponse: Buffer.from(xml, 'utf8').toString('base64'), RelayState: p.relayState });
  }

  function lastRejection(): string | null {
    for (let i = logLines.length - 1; i >= 0; i -= 1) {
      const line = JSON.parse(logLines[i]!) as { event?: string; reason?: string };
      if (line.event === 'federation.rejected') return line.reason ?? null;
    }
    return null;
  }

  async function sessions(userId: string): Promise<number> {
    return SsoUserSession.countDocuments({ tenantId: t.tenantId, userId });
  }

  /** The one generic page, no redirect, no session cookie, and the logged reason. */
  async function expectRefused(p: Pending, xml: string, reason: string | string[], what: string): Promise<request.Response> {
    logLines.length = 0;
    const res = await post(p, xml);
    expect(res.status, `${what}: ${res.text.slice(0, 200)}`).to.be.oneOf([400, 403]);
    expect(res.text, what).to.include('Sign-in through your organization failed');
    expect(res.headers.location, what).to.equal(undefined);
    expect(String(res.headers['set-cookie'] ?? ''), what).not.to.include('gh_sso_');
    expect(lastRejection(), what).to.be.oneOf(Array.isArray(reason) ? reason : [reason]);
    return res;
  }

  /** Posts an acceptable response and completes the sign-in in the same browser. */
  async function expectAccepted(p: Pending, xml: string): Promise<void> {
    const res = await post(p, xml);
    expect(res.status, res.text.slice(0, 300)).to.equal(303);
    const done = await p.agent.get(String(res.headers.location));
    expect(done.status).to.equal(303);
    expect(String(done.headers['set-cookie'])).to.include(`gh_sso_${t.tenantId}=`);
  }

  it('control: a valid response signed by the configured IdP key opens a session', async function () {
    const before = await sessions(victimId);
    const p = await pending();
    await expectAccepted(p, signed(response(p)));
    expect(await sessions(victimId)).to.equal(before + 1);
  });

  it('13: XSW1-XSW8 derived from one valid response are all refused by the wrapping checks; no session for the evil NameID', async function () {
    const names = ['XSW1', 'XSW2', 'XSW3', 'XSW4', 'XSW5', 'XSW6', 'XSW7', 'XSW8'] as const;
    for (const name of names) {
      // A fresh sign-in per variant, so each one is judged on its wrapping alone.
      const p = await pending();
      const base = response(p);
      const xml = xswVariants(signed(base, { what: 'response' }), signed(base), ADMIN)[name];
      await expectRefused(p, xml, ['signatureWrapping', 'malformed'], name);
      if (name === 'XSW8') await expectAccepted(p, signed(base)); // the unwrapped original is still good for its sign-in
    }
    expect(await sessions(adminId)).to.equal(0);
  });

  it('14: signature stripped, unsigned assertion in an unsigned response, unsigned assertion in a signed response: refused', async function () {
    const before = await sessions(adminId);
    let p = await pending();
    await expectRefused(p, stripSignatures(signed(response(p, { nameIdXml: ADMIN }))), 'invalidResponse', 'stripped');
    p = await pending();
    await expectRefused(p, response(p, { nameIdXml: ADMIN }), 'invalidResponse', 'unsigned');
    p = await pending();
    await expectRefused(p, signed(response(p, { nameIdXml: ADMIN }), { what: 'response' }), 'invalidResponse', 'response-only signature');
    expect(await sessions(adminId)).to.equal(before);
  });

  it('15: re-signed by a stranger key with its certificate in KeyInfo: refused', async function () {
    const p = await pending();
    await expectRefused(p, signResponse(response(p, { nameIdXml: ADMIN }), { privateKeyPem: stranger.privateKeyPem, certificatePem: stranger.certificatePem, what: 'both' }), 'invalidResponse', 'stranger');
    expect(await sessions(adminId)).to.equal(0);
  });

  it('16: comment in DigestValue, two SignedInfo, two Assertions, two roots: refused', async function () {
    const p = await pending();
    const good = signed(response(p, { nameIdXml: ADMIN }));
    await expectRefused(p, good.replace(/(<ds:DigestValue>)([^<]{4})/, '$1$2<!-- x -->'), 'malformed', 'comment in DigestValue');
    const signedInfo = /<ds:SignedInfo>[\s\S]*?<\/ds:SignedInfo>/.exec(good)![0];
    await expectRefused(p, good.replace(signedInfo, signedInfo + signedInfo), ['malformed', 'signatureWrapping'], 'two SignedInfo');
    const assertion = /<saml:Assertion [\s\S]*<\/saml:Assertion>/.exec(good)![0];
    await expectRefused(p, good.replace(assertion, assertion + assertion.replace(/ID="[^"]+"/, `ID="${samlId()}"`)), 'signatureWrapping', 'two Assertions');
    await expectRefused(p, good + good, 'malformed', 'two roots');
    expect(await sessions(adminId)).to.equal(0);
  });

  it('17: NameID edited after signing: refused', async function () {
    const p = await pending();
    await expectRefused(p, editNameId(signed(response(p)), ADMIN), 'invalidResponse', 'edited NameID');
    expect(await sessions(adminId)).to.equal(0);
  });

  it('18: admin@corp.example<!---->.evil.com (signed with the comment) is refused whole, never read as admin', async function () {
    const p = await pending();
    await expectRefused(p, signed(response(p, { nameIdXml: `${ADMIN}<!---->.evil.com` })), 'malformed', 'comment in NameID');
    expect(await sessions(adminId)).to.equal(0);
  });

  it('19: the same Response sequentially and concurrently → exactly one session each time; the same assertion in a new response → refused', async function () {
    const before = await sessions(victimId);
    const p1 = await pending();
    const r1 = signed(response(p1));
    await expectAccepted(p1, r1);
    await expectRefused(p1, r1, ['alreadyUsed', 'invalidResponse', 'replay'], 'sequential replay');
    expect(await sessions(victimId)).to.equal(before + 1);

    const p2 = await pending();
    const r2 = signed(response(p2));
    const answers = await Promise.all([post(p2, r2), post(p2, r2), post(p2, r2)]);
    const ok = answers.filter((r) => r.status === 303);
    expect(ok, answers.map((r) => r.status).join(',')).to.have.length(1);
    for (const r of answers.filter((x) => x.status !== 303)) expect(r.text).to.include('Sign-in through your organization failed');
    const done = await Promise.all([p2.agent.get(String(ok[0]!.headers.location)), p2.agent.get(String(ok[0]!.headers.location))]);
    expect(done.map((r) => r.status).sort()).to.deep.equal([303, 400]);
    expect(await sessions(victimId)).to.equal(before + 2);

    // An assertion the IdP signed once, placed in a response to a new request: the assertion ID was used.
    const p3 = await pending();
    const assertionId = /<saml:Assertion ID="([^"]+)"/.exec(r2)![1]!;
    await expectRefused(p3, signed(response(p3, { assertionId })), 'replay', 'assertion reuse');
    expect(await sessions(victimId)).to.equal(before + 2);
  });

  it('20: unknown or foreign InResponseTo, wrong Audience, Destination, Recipient or Issuer, NotOnOrAfter past the skew: refused; inside the skew: accepted', async function () {
    const p = await pending();
    const other = await pending();
    await expectRefused(p, signed(response(p, { inResponseTo: samlId() })), 'invalidResponse', 'unknown InResponseTo');
    await expectRefused(p, signed(response(p, { inResponseTo: other.requestId })), 'wrongInResponseTo', "another sign-in's InResponseTo");
    const q = await pending();
    await expectRefused(q, signed(response(q, { audience: 'https://other-sp.example/' })), 'invalidResponse', 'wrong Audience');
    const q2 = await pending();
    await expectRefused(q2, signed(response(q2, { destination: `${BASE}/tenants/${t.tenantId}/saml/acs2` })), 'wrongDestination', 'wrong Destination');
    const r = await pending();
    await expectRefused(r, signed(response(r, { recipient: 'https://evil.example/acs' })), 'wrongRecipient', 'wrong Recipient');
    // node-saml 5.1 does not compare an assertion's Issuer with idpIssuer: the SP does.
    const v = await pending();
    const foreign = response(v).replace(/<saml:Issuer>[^<]*<\/saml:Issuer>(<samlp:Status>)/, '$1');
    await expectRefused(v, signed(foreign.replace(`<saml:Issuer>${IDP_ENTITY}</saml:Issuer>`, '<saml:Issuer>https://other-idp.example/</saml:Issuer>')), 'wrongIssuer', 'foreign Assertion Issuer');
    const w = await pending();
    await expectRefused(w, signed(response(w)).replace(`<saml:Issuer>${IDP_ENTITY}</saml:Issuer><samlp:Status>`, '<saml:Issuer>https://other-idp.example/</saml:Issuer><samlp:Status>'), 'wrongIssuer', 'foreign Response Issuer');
    const s = await pending();
    const past = new Date(Date.now() - 200_000);
    await expectRefused(s, signed(response(s, { now: new Date(Date.now() - 400_000), notOnOrAfter: past })), 'invalidResponse', 'NotOnOrAfter past skew');
    const u = await pending();
    await expectAccepted(u, signed(response(u, { now: new Date(Date.now() - 300_000), notOnOrAfter: new Date(Date.now() - 60_000) })));
  });

  it('21: rsa-sha1 signature and sha1 digest refused (xml-crypto would verify them); rsa-sha256 refused when RSA_SHA512 is configured', async function () {
    const p = await pending();
    const sha1Signed = signed(response(p), { signatureAlgorithm: 'rsa-sha1', digestAlgorithm: 'sha1' });
    // Why the SP checks this itself: xml-crypto 6 verifies an rsa-sha1/sha1 signature as valid.
    const verifier = new SignedXml({ publicCert: idpKey.certificatePem });
    verifier.loadSignature(new DOMParser().parseFromString(sha1Signed, 'text/xml').getElementsByTagNameNS(SAML_NS.dsig, 'Signature').item(0)!);
    expect(verifier.checkSignature(sha1Signed)).to.equal(true);
    await expectRefused(p, sha1Signed, 'weakAlgorithm', 'rsa-sha1 and sha1');
    await expectRefused(p, signed(response(p), { signatureAlgorithm: 'rsa-sha1' }), 'weakAlgorithm', 'rsa-sha1');
    await expectRefused(p, signed(response(p), { digestAlgorithm: 'sha1' }), 'weakAlgorithm', 'sha1 digest');
    await ExternalIdp.updateOne({ tenantId: t.tenantId }, { $set: { signResponseAlgorithm: 'RSA_SHA512' } });
    await stamps.bump(tenantScope(t.tenantId));
    try {
      await expectRefused(p, signed(response(p)), 'weakAlgorithm', 'rsa-sha256 under RSA_SHA512');
      const q = await pending();
      await expectAccepted(q, signed(response(q), { signatureAlgorithm: 'rsa-sha512', digestAlgorithm: 'sha512' }));
    } finally {
      await ExternalIdp.updateOne({ tenantId: t.tenantId }, { $set: { signResponseAlgorithm: 'RSA_SHA256' } });
      await stamps.bump(tenantScope(t.tenantId));
    }
  });

  it('22: an EncryptedAssertion (AES-CBC for the tenant certificate), and the same with its ciphertext tampered: refused identically, nothing decrypted', async function () {
    const p = await pending();
    const assertion = /<saml:Assertion [\s\S]*<\/saml:Assertion>/.exec(signed(response(p)))![0].replace('<saml:Assertion ', `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" `);
    const encrypted = await new Promise<string>((resolve, reject) =>
      xmlenc.encrypt(
        assertion,
        {
          rsa_pub: spCertPem,
          pem: spCertPem,
          encryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
          keyEncryptionAlgorithm: 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
        },
        (err: Error | null, out?: string) => (err ? reject(err) : resolve(out!)),
      ),
    );
    const withEncrypted = (enc: string) => response(p).replace(/<saml:Assertion [\s\S]*<\/saml:Assertion>/, `<saml:EncryptedAssertion>${enc}</saml:EncryptedAssertion>`);
    const cipherValues = [...encrypted.matchAll(/<(?:\w+:)?CipherValue>([^<]+)</g)];
    const last = cipherValues[cipherValues.length - 1]!;
    const at = last.index + last[0].indexOf('>') + 1;
    const tampered = `${encrypted.slice(0, at)}${encrypted[at] === 'A' ? 'B' : 'A'}${encrypted.slice(at + 1)}`;
    expect(tampered).not.to.equal(encrypted);
    const one = await expectRefused(p, withEncrypted(encrypted), 'encrypted', 'encrypted');
    const two = await expectRefused(p, withEncrypted(tampered), 'encrypted', 'tampered ciphertext');
    expect(two.status).to.equal(one.status);
    const body = (r: request.Response) => r.text.replace(/<code>[^<]*<\/code>/, '');
    expect(body(two)).to.equal(body(one));
  });
});
