/**
 * The per-shape cache of XML Schema verdicts on the IdP's inbound messages
 * (src/saml/idp/schema-verdicts.ts): only the request ID, instants, signature reference and
 * signature values may vary within one shape, each checked against a pattern inside its XSD type;
 * everything else changes the shape, so a new structure always meets xmllint.
 */
import { expect } from 'chai';
import { parseHardened } from '../../src/saml/xml/harden.js';
import { shapeOf, validateProtocolMessage } from '../../src/saml/idp/schema-verdicts.js';

const NS = 'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';

function request(id: string, instant: string, extra = '', issuer = 'https://sp.example/sp'): string {
  return `<samlp:AuthnRequest ${NS} ID="${id}" Version="2.0" IssueInstant="${instant}"${extra}><saml:Issuer>${issuer}</saml:Issuer></samlp:AuthnRequest>`;
}

function signed(id: string, digest: string, value: string): string {
  return (
    `<samlp:LogoutRequest ${NS} ID="${id}" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://sp.example/sp</saml:Issuer>` +
    `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    `<ds:Reference URI="#${id}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>${digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>` +
    `<ds:SignatureValue>${value}</ds:SignatureValue></ds:Signature><saml:NameID>u</saml:NameID></samlp:LogoutRequest>`
  );
}

const shape = (xml: string) => shapeOf(parseHardened(xml));

describe('security: cached XML Schema verdicts of inbound SAML messages', function () {
  this.timeout(120_000);

  it('messages differing only in ID, instants and signature values share a shape', function () {
    expect(shape(request('_a1', '2026-01-01T00:00:00Z'))).to.equal(shape(request('_b2', '2026-11-22T06:40:00.123Z')));
    expect(shape(signed('_s1', 'qqqq', 'AAAA+/=='))).to.equal(shape(signed('_s2', 'zzzz', 'BBBB')));
  });

  it('any other difference is another shape: an attribute, an element, a value, text that looks like an attribute', function () {
    const base = shape(request('_a1', '2026-01-01T00:00:00Z'));
    expect(shape(request('_a1', '2026-01-01T00:00:00Z', ' ForceAuthn="true"'))).to.not.equal(base);
    expect(shape(request('_a1', '2026-01-01T00:00:00Z', '', 'https://other.example/sp'))).to.not.equal(base);
    expect(shape(request('_a1', '2026-01-01T00:00:00Z', '', 'x ID="y"'))).to.not.equal(shape(request('_a1', '2026-01-01T00:00:00Z', '', 'x ID="z"')));
    expect(shape(request('_a1', '2026-01-01T00:00:00Z', ' Destination="https://idp/sso"'))).to.not.equal(shape(request('_a1', '2026-01-01T00:00:00Z', ' Destination="https://idp/sso2"')));
  });

  it('a volatile value outside its pattern, or duplicate IDs, gives no shape (full validation)', function () {
    expect(shape(request('_a1', 'yesterday'))).to.equal(null);
    expect(shape(request('_a1', '2026-13-45T99:00:00Z'))).to.equal(null);
    expect(shape(request('_a1', '2026-02-30T00:00:00Z'))).to.equal(null);
    expect(shape(request('_a1', '2026-01-01T24:00:00Z'))).to.equal(null);
    expect(shape(request('1bad', '2026-01-01T00:00:00Z'))).to.equal(null);
    expect(shape(signed('_s1', 'not base64!', 'AAAA'))).to.equal(null);
    expect(shape(`<samlp:LogoutRequest ${NS} ID="_d" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer ID="_d">x</saml:Issuer><saml:NameID>u</saml:NameID></samlp:LogoutRequest>`)).to.equal(null);
  });

  it('validation: a cached shape still refuses a value outside its type, and a new shape meets the schema', async function () {
    await validateProtocolMessage(request('_v1', '2026-01-01T00:00:00Z'), parseHardened(request('_v1', '2026-01-01T00:00:00Z')));
    await validateProtocolMessage(request('_v2', '2026-02-01T00:00:00Z'), parseHardened(request('_v2', '2026-02-01T00:00:00Z')));
    const refused = async (xml: string) => {
      let threw = false;
      await validateProtocolMessage(xml, parseHardened(xml)).catch(() => (threw = true));
      expect(threw, xml).to.equal(true);
    };
    await refused(request('_v3', '2026-02-30T00:00:00Z-bad'));
    await refused(request('_v6', '2026-02-30T00:00:00Z'));
    await refused(request('_v4', '2026-01-01T00:00:00Z', ' Bogus="1"'));
    await refused(request('_v5', '2026-01-01T00:00:00Z', ' ForceAuthn="maybe"'));
  });
});
