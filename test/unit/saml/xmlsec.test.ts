/**
 * The xmlsec1 helper (test/helpers/xmlsec.ts) that case 8 relies on: it must pass a signature made
 * with the pinned certificate's key and fail everything else, or case 8 proves nothing. Needs
 * Debian's xmlsec1 (`.ci/run` installs it).
 */
import { expect } from 'chai';
import { SignedXml } from 'xml-crypto';
import { createSelfSigned, type CertificateAndKey } from '../../../src/shared/x509.js';
import { verifyWithXmlsec1, xmlsec1Available } from '../../helpers/xmlsec.js';

const ASSERTION =
  '<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a0f3c9d1e2b4" Version="2.0" IssueInstant="2026-01-01T00:00:00Z">' +
  '<saml:Issuer>https://idp.example.com</saml:Issuer><saml:Subject><saml:NameID>alice@example.com</saml:NameID></saml:Subject></saml:Assertion>';

function sign(xml: string, key: CertificateAndKey): string {
  const sig = new SignedXml({
    privateKey: key.privateKeyPem,
    publicCert: key.certificatePem,
    signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
  });
  sig.addReference({
    xpath: "/*[local-name(.)='Assertion']",
    digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
  });
  sig.computeSignature(xml, { location: { reference: "/*/*[local-name(.)='Issuer']", action: 'after' } });
  return sig.getSignedXml();
}

describe('xmlsec1 verification helper', function () {
  this.timeout(60_000);
  let tenant: CertificateAndKey;
  let stranger: CertificateAndKey;

  before(async () => {
    expect(xmlsec1Available(), 'xmlsec1 is not installed: apt-get install xmlsec1 (.ci/run does)').to.equal(true);
    [tenant, stranger] = await Promise.all([createSelfSigned({ commonName: 'tenant', validDays: 2 }), createSelfSigned({ commonName: 'stranger', validDays: 2 })]);
  });

  it('passes an assertion signed with the pinned certificate’s key', async () => {
    const res = await verifyWithXmlsec1(sign(ASSERTION, tenant), tenant.certificatePem);
    expect(res.ok, res.output).to.equal(true);
  });

  it('fails when the content changed after signing', async () => {
    const signed = sign(ASSERTION, tenant).replace('alice@example.com', 'admin@example.com');
    expect((await verifyWithXmlsec1(signed, tenant.certificatePem)).ok).to.equal(false);
  });

  it('fails a document re-signed by a stranger whose certificate is in KeyInfo, with either key-data setting', async () => {
    const forged = sign(ASSERTION, stranger);
    expect(forged).to.contain('<X509Certificate>');
    expect((await verifyWithXmlsec1(forged, tenant.certificatePem)).ok).to.equal(false);
    expect((await verifyWithXmlsec1(forged, tenant.certificatePem, { keyData: 'x509' })).ok).to.equal(false);
  });

  it('fails an unsigned document', async () => {
    expect((await verifyWithXmlsec1(ASSERTION, tenant.certificatePem)).ok).to.equal(false);
  });
});
