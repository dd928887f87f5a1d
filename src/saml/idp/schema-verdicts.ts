/**
 * XML Schema validation of inbound IdP messages without paying xmllint for every request.
 *
 * Measured with bench/saml.ts: one xmllint-wasm validation (a worker, the WebAssembly module and
 * the SAML schemas loaded per call; src/saml/xml/schema.ts) costs ~0.5 s of CPU, which alone caps
 * the SSO endpoint near 2 responses per second per core. Yet an SP sends the same message shape
 * every time: only the request `ID`, the instants and (POST) the signature's digest and value
 * change. So the verdict is cached per *shape*:
 *
 *   shape = the parsed document with every `ID` attribute replaced by a positional placeholder,
 *           every `IssueInstant`/`NotBefore`/`NotOnOrAfter` by one fixed instant, a signature
 *           Reference `URI="#…"` naming one of the IDs by the same placeholder, and the text of
 *           `ds:DigestValue`/`ds:SignatureValue` by fixed base64; hashed (SHA-256) as serialized.
 *
 * Sound because XSD validity depends on those values only through their own types (xs:ID,
 * xs:dateTime, xs:anyURI, ds:DigestValueType/base64Binary) and ID uniqueness: each replaced value
 * is checked here against a pattern inside its type (stricter is fine: a value outside the
 * pattern skips the cache), IDs must be distinct, and then "the shape once validated" ⇒ "this
 * document validates". Anything else in the document (element order, unexpected elements or
 * attributes, every other value) is part of the shape, so a new or altered shape goes to xmllint.
 * Only positive verdicts are kept (bounded, least recently used out first).
 */
import { createHash } from 'node:crypto';
import { XMLSerializer } from '@xmldom/xmldom';
import { validateSamlSchema } from '../xml/schema.js';

const CACHE_MAX = 2000;
const valid = new Map<string, true>();

const NCNAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))?$/;

/** An xs:dateTime with a real calendar date and time (Date.parse would roll 02-30 into March). */
function isDateTime(v: string): boolean {
  const m = DATETIME.exec(v);
  if (!m) return false;
  const [y, mo, d, h, mi, sec] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return false;
  if (h > 23 || mi > 59 || sec > 59) return false;
  return m[9] === undefined || (Number(m[9]) <= 14 && Number(m[10]) <= 59);
}
const BASE64 = /^[A-Za-z0-9+/=\s]{1,8192}$/;
const FIXED_INSTANT = '2000-01-01T00:00:00Z';

const DSIG = 'http://www.w3.org/2000/09/xmldsig#';
const INSTANTS = ['IssueInstant', 'NotBefore', 'NotOnOrAfter'];

/**
 * The shape key of a parsed message, or null when a volatile value is outside the pattern
 * checked here (then nothing is cached). Works on a copy of the DOM, so only attributes and
 * elements are touched (never text that merely looks like an attribute), and hashes its
 * serialization: XSD validity is a function of that infoset.
 */
export function shapeOf(doc: Document): string | null {
  const copy = doc.cloneNode(true) as Document;
  const all = copy.getElementsByTagName('*');
  const ids: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const el = all.item(i)!;
    const id = el.getAttributeNode('ID');
    if (id) {
      if (!NCNAME.test(id.value) || ids.includes(id.value)) return null;
      ids.push(id.value);
      id.value = `_id${ids.length}`;
    }
  }
  for (let i = 0; i < all.length; i++) {
    const el = all.item(i)!;
    for (const name of INSTANTS) {
      const a = el.getAttributeNode(name);
      if (!a) continue;
      if (!isDateTime(a.value)) return null;
      a.value = FIXED_INSTANT;
    }
    if (el.namespaceURI === DSIG && el.localName === 'Reference') {
      const uri = el.getAttributeNode('URI');
      const at = uri && uri.value.startsWith('#') ? ids.indexOf(uri.value.slice(1)) : -1;
      if (uri && at >= 0) uri.value = `#_id${at + 1}`;
    }
    if (el.namespaceURI === DSIG && (el.localName === 'DigestValue' || el.localName === 'SignatureValue')) {
      const text = el.textContent ?? '';
      if (!BASE64.test(text) || el.getElementsByTagName('*').length > 0) return null;
      while (el.firstChild) el.removeChild(el.firstChild);
      el.appendChild(copy.createTextNode('AAAA'));
    }
  }
  return createHash('sha256').update(new XMLSerializer().serializeToString(copy)).digest('base64url');
}

/**
 * Resolves when `xml` (already through the hardened parser) is valid against the SAML 2.0
 * protocol schema; rejects with the schema module's refusal otherwise.
 */
export async function validateProtocolMessage(xml: string, doc: Document): Promise<void> {
  const key = shapeOf(doc);
  if (key !== null && valid.has(key)) {
    valid.delete(key);
    valid.set(key, true);
    return;
  }
  await validateSamlSchema(xml, 'protocol');
  if (key === null) return;
  if (valid.size >= CACHE_MAX) valid.delete(valid.keys().next().value as string);
  valid.set(key, true);
}
