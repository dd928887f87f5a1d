/**
 * Hardened XML (src/saml/xml/harden.ts, schema.ts): security-bar cases 5 and 6 against the
 * functions every SAML endpoint calls first, plus the escaping of case 7 and the schema validator
 * samlify runs (§1 "a stub that always resolves silently disables it").
 */
import { deflateRawSync } from 'node:zlib';
import { expect } from 'chai';
import * as samlify from 'samlify';
import {
  decodePostMessage,
  escapeXmlAttr,
  escapeXmlText,
  inflateLimited,
  installSchemaValidator,
  isXmlRefusal,
  parseHardened,
  schemaValidatorInstalled,
} from '../../../src/saml/xml/harden.js';
import { validateSamlSchema } from '../../../src/saml/xml/schema.js';

const AUTHN_REQUEST =
  '<?xml version="1.0" encoding="UTF-8"?>' +
  '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ' +
  'ID="_0123456789abcdef" Version="2.0" IssueInstant="2026-01-01T00:00:00Z" AssertionConsumerServiceURL="https://sp.example.com/acs">' +
  '<saml:Issuer>https://sp.example.com</saml:Issuer><samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>';

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(isXmlRefusal(err), String(err)).to.equal(true);
    return (err as { detail: string }).detail;
  }
  throw new Error('expected a refusal');
}

async function asyncRefusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(isXmlRefusal(err), String(err)).to.equal(true);
    return (err as { detail: string }).detail;
  }
  throw new Error('expected a refusal');
}

/** Milliseconds a synchronous call takes. */
function timed(fn: () => unknown): number {
  const t = performance.now();
  try {
    fn();
  } catch {
    // measured either way
  }
  return performance.now() - t;
}

describe('SAML XML hardening', () => {
  describe('parseHardened', () => {
    it('parses a real AuthnRequest into one root element', () => {
      const doc = parseHardened(AUTHN_REQUEST);
      expect(doc.documentElement.localName).to.equal('AuthnRequest');
      expect(doc.documentElement.getAttribute('ID')).to.equal('_0123456789abcdef');
    });

    it('case 5: a DOCTYPE with a SYSTEM entity is refused in < 100 ms, before anything is read', () => {
      const xxe = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY net SYSTEM "http://169.254.169.254/">]>` + AUTHN_REQUEST.replace('https://sp.example.com</saml', '&xxe;&net;</saml').replace('<?xml version="1.0" encoding="UTF-8"?>', '');
      expect(refusal(() => parseHardened(xxe))).to.match(/DOCTYPE/);
      expect(timed(() => parseHardened(xxe))).to.be.below(100);
    });

    it('case 5: billion laughs is refused in < 100 ms without expanding anything', () => {
      const lol = ['<!ENTITY lol "lol">', ...Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ''};`.repeat(10)}">`)].join('');
      const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [${lol}]><lolz>&lol9;</lolz>`;
      expect(refusal(() => parseHardened(bomb))).to.match(/DOCTYPE/);
      expect(timed(() => parseHardened(bomb))).to.be.below(100);
    });

    it('refuses a DOCTYPE however it is spelled or placed (no internal subset needed)', () => {
      expect(refusal(() => parseHardened('<!doctype a><a/>'))).to.match(/DOCTYPE/);
      expect(refusal(() => parseHardened('<a><!ENTITY x "y"></a>'))).to.match(/DOCTYPE|markup/);
    });

    it('refuses processing instructions other than the XML declaration', () => {
      expect(refusal(() => parseHardened('<a><?xml-stylesheet href="x"?></a>'))).to.match(/processing instruction/);
      expect(refusal(() => parseHardened(' <?xml version="1.0"?><a/>'))).to.match(/processing instruction/);
      expect(refusal(() => parseHardened('<?xml version="1.0"?><?php x?><a/>'))).to.match(/processing instruction/);
    });

    it('refuses two root elements (xmldom CVE-2022-39353) and text outside the root', () => {
      expect(refusal(() => parseHardened('<a/><b/>'))).to.match(/more than one root/);
      expect(refusal(() => parseHardened(AUTHN_REQUEST + AUTHN_REQUEST.replace(/^<\?xml[^>]*>/, '')))).to.match(/more than one root/);
      expect(refusal(() => parseHardened('<a/>text'))).to.match(/outside the root/);
    });

    it('refuses comments in messages (NameID truncation class) unless the caller allows them', () => {
      const commented = AUTHN_REQUEST.replace('https://sp.example.com</saml', 'admin@corp.com<!---->.evil.com</saml');
      expect(refusal(() => parseHardened(commented))).to.match(/comments/);
      const doc = parseHardened(commented, { allowComments: true });
      expect(doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Issuer')[0]?.textContent).to.equal('admin@corp.com.evil.com');
    });

    it('refuses undefined entities, unbalanced and unterminated markup instead of repairing them', () => {
      expect(refusal(() => parseHardened('<a>&xxe;</a>'))).to.match(/entity/);
      expect(refusal(() => parseHardened('<a><b></a>'))).to.match(/refused/);
      expect(refusal(() => parseHardened('<a x="1"'))).to.match(/unterminated/);
      expect(refusal(() => parseHardened(''))).to.match(/empty/);
    });

    it('keeps `>` inside attribute values (the scan tracks quotes)', () => {
      expect(parseHardened(`<a x="1>2" y='/>'><b/></a>`).documentElement.getAttribute('y')).to.equal('/>');
    });

    it('case 6: 100 000-deep nesting is refused quickly and the process keeps working', () => {
      const deep = '<a>'.repeat(100_000) + '</a>'.repeat(100_000);
      expect(refusal(() => parseHardened(deep))).to.match(/deeper than 64/);
      expect(timed(() => parseHardened(deep))).to.be.below(100);
      expect(parseHardened(AUTHN_REQUEST).documentElement.localName).to.equal('AuthnRequest');
    });

    it('refuses documents over the size limit before parsing', () => {
      const big = `<a>${'x'.repeat(2000)}</a>`;
      expect(refusal(() => parseHardened(big, { maxBytes: 1000 }))).to.match(/larger than 1000 bytes/);
      // Multi-byte characters count as their UTF-8 bytes.
      expect(refusal(() => parseHardened(`<a>${'한'.repeat(400)}</a>`, { maxBytes: 1000 }))).to.match(/larger than/);
      expect(parseHardened(`<a>${'한'.repeat(300)}</a>`, { maxBytes: 1000 }).documentElement.textContent).to.have.length(300);
    });
  });

  describe('inflateLimited (HTTP-Redirect) and decodePostMessage (HTTP-POST)', () => {
    it('inflates a Redirect-binding message', () => {
      expect(inflateLimited(deflateRawSync(AUTHN_REQUEST).toString('base64'))).to.equal(AUTHN_REQUEST);
    });

    it('case 6: a message inflating past 1 MiB is refused, at bounded cost', () => {
      const bomb = deflateRawSync(Buffer.alloc(16 * 1024 * 1024, 0x61)).toString('base64');
      expect(bomb.length).to.be.below(40_000);
      const t = performance.now();
      expect(refusal(() => inflateLimited(bomb))).to.match(/inflates past 1048576 bytes/);
      expect(performance.now() - t).to.be.below(1000);
      // Exactly at the limit is fine.
      expect(inflateLimited(deflateRawSync(Buffer.alloc(1024 * 1024, 0x61)).toString('base64'))).to.have.length(1024 * 1024);
    });

    it('refuses what is not base64, not DEFLATE or not UTF-8', () => {
      expect(refusal(() => inflateLimited('%%%not-base64'))).to.match(/base64/);
      expect(refusal(() => inflateLimited(Buffer.from('plain text, not deflated').toString('base64')))).to.match(/DEFLATE/);
      expect(refusal(() => inflateLimited(deflateRawSync(Buffer.from([0xff, 0xfe, 0xc3])).toString('base64')))).to.match(/UTF-8/);
      expect(refusal(() => inflateLimited(''))).to.match(/empty/);
    });

    it('decodes a POST-binding message (a query-decoded `+` as space is tolerated) and bounds its size', () => {
      const b64 = Buffer.from(AUTHN_REQUEST).toString('base64');
      expect(decodePostMessage(b64)).to.equal(AUTHN_REQUEST);
      expect(decodePostMessage(b64.replace(/\+/g, ' '))).to.equal(AUTHN_REQUEST);
      expect(refusal(() => decodePostMessage(Buffer.alloc(4096, 0x61).toString('base64'), 1024))).to.match(/larger than 1024 bytes/);
    });
  });

  describe('escaping (case 7, samlify CVE-2026-46490)', () => {
    it('keeps a hostile attribute value one literal text node', () => {
      const hostile = 'x</saml:AttributeValue></saml:Attribute><saml:Attribute Name="role"><saml:AttributeValue>admin ]]> --> &amp;';
      const xml = `<saml:Attribute xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" Name="${escapeXmlAttr(hostile)}"><saml:AttributeValue>${escapeXmlText(hostile)}</saml:AttributeValue></saml:Attribute>`;
      const doc = parseHardened(xml);
      const root = doc.documentElement;
      expect(root.getAttribute('Name')).to.equal(hostile);
      expect(doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'Attribute')).to.have.length(1);
      const values = doc.getElementsByTagNameNS('urn:oasis:names:tc:SAML:2.0:assertion', 'AttributeValue');
      expect(values).to.have.length(1);
      expect(values[0]?.textContent).to.equal(hostile);
    });

    it('keeps quotes, tabs and newlines of attribute values and replaces characters XML cannot carry', () => {
      const v = `a"b'c\td\ne\rf`;
      expect(parseHardened(`<a v="${escapeXmlAttr(v)}" w='${escapeXmlAttr(v)}'/>`).documentElement.getAttribute('w')).to.equal(v);
      expect(escapeXmlText('a\u0000b\u001bc\uFFFEd')).to.equal('a\uFFFDb\uFFFDc\uFFFDd');
      expect(escapeXmlText('emoji 😀 stays')).to.equal('emoji 😀 stays');
    });
  });

  describe('schema validation (xmllint against the SAML 2.0 XSDs)', function () {
    this.timeout(30_000);

    it('accepts a valid AuthnRequest and refuses one the schema forbids', async () => {
      await validateSamlSchema(AUTHN_REQUEST, 'protocol');
      // The root's namespace is read from the DOM: a `>` in an attribute before xmlns changes nothing.
      await validateSamlSchema(AUTHN_REQUEST.replace('<samlp:AuthnRequest ', '<samlp:AuthnRequest ProviderName="a>b" '), 'protocol');
      const noVersion = AUTHN_REQUEST.replace(' Version="2.0"', '');
      expect(await asyncRefusal(validateSamlSchema(noVersion, 'protocol'))).to.match(/Version/);
      const stray = AUTHN_REQUEST.replace('<samlp:NameIDPolicy', '<evil/><samlp:NameIDPolicy');
      expect(await asyncRefusal(validateSamlSchema(stray, 'protocol'))).to.match(/not expected/);
      const badId = AUTHN_REQUEST.replace('ID="_0123456789abcdef"', 'ID="1 2"');
      expect(await asyncRefusal(validateSamlSchema(badId, 'protocol'))).to.match(/schema/);
    });

    it('judges each of many concurrent documents on its own (a pool of long-lived workers, no crosstalk)', async () => {
      const docs = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? AUTHN_REQUEST.replace(' Version="2.0"', '') : AUTHN_REQUEST.replace('_0123456789abcdef', `_id${i}`)));
      const verdicts = await Promise.all(docs.map((d) => validateSamlSchema(d, 'protocol').then(() => 'valid', () => 'refused')));
      expect(verdicts).to.deep.equal(docs.map((_, i) => (i % 3 === 0 ? 'refused' : 'valid')));
    });

    it('refuses a document of the wrong kind and applies the hardening rules first', async () => {
      expect(await asyncRefusal(validateSamlSchema('<x xmlns="urn:example"/>', 'protocol'))).to.match(/namespace/);
      expect(await asyncRefusal(validateSamlSchema(AUTHN_REQUEST, 'metadata'))).to.match(/namespace/);
      expect(await asyncRefusal(validateSamlSchema(`<!DOCTYPE a>${AUTHN_REQUEST.replace(/^<\?xml[^>]*>/, '')}`, 'protocol'))).to.match(/DOCTYPE/);
    });

    it('is what samlify runs: installed once, and samlify rejects a schema-invalid message with it', async () => {
      installSchemaValidator();
      installSchemaValidator();
      expect(schemaValidatorInstalled()).to.equal(true);
      const lib = samlify.SamlLib;
      await lib.isValidXml(AUTHN_REQUEST);
      let rejected = false;
      await lib.isValidXml(AUTHN_REQUEST.replace(' Version="2.0"', '')).catch(() => (rejected = true));
      expect(rejected, 'samlify accepted a message without Version').to.equal(true);
    });
  });
});
