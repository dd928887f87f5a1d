/**
 * Hardened XML for both SAML directions (the IdP for applications in src/saml/idp, and external
 * IdPs in src/federation): every byte of attacker XML goes through here before anything else
 * reads it. Security-bar §1-2 and cases 5, 6 and 7:
 * - Parsing rule from OpenSAML's "Secure XML Processing Requirements" [37]: refuse any DOCTYPE
 *   (so no entity can be declared: XXE and billion laughs are impossible, [40][41]), refuse
 *   processing instructions other than the XML declaration, exactly one root element
 *   (@xmldom/xmldom CVE-2022-39353 [10]), and no comments in protocol messages (comment-injection
 *   truncation CVE-2017-11427 class [43]; SAML messages never need them).
 * - Bounded work: a size limit before parsing, a nesting-depth limit before the DOM is built
 *   (xmldom CVE-2026-41673: recursive DOM operations crash on 100 000-deep documents [12]), and
 *   an inflate limit for the HTTP-Redirect binding (compressed-message DoS, ruby-saml
 *   CVE-2025-25293 [42]).
 * - Escaping for everything Gatehouse writes into XML (samlify CVE-2026-46490 [2]: a user value in
 *   `<saml:AttributeValue>` must stay one literal text node).
 * - A real XML Schema validator for samlify (`installSchemaValidator`; samlify ≥2.6 refuses to run
 *   without one, and a stub that always resolves silently disables it [5]).
 *
 * The pre-scan is linear in the input and runs before @xmldom/xmldom sees the document, so a
 * hostile document costs one pass over at most `maxBytes` characters. Every refusal is an
 * `AppError('BAD_REQUEST')` whose detail names the reason (for logs and audit), never echoing the
 * input; protocol endpoints answer it with their one generic error page.
 */
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import * as samlify from 'samlify';
import { AppError } from '../../shared/errors.js';
import { validateSamlSchema } from './schema.js';

/** Inflated HTTP-Redirect messages and decoded HTTP-POST messages: 1 MiB (security-bar case 6). */
export const SAML_MESSAGE_MAX_BYTES = 1024 * 1024;
/**
 * Deepest element nesting accepted. A signed, encrypted SAML Response is about 12 levels deep
 * (Response/EncryptedAssertion/EncryptedData/KeyInfo/EncryptedKey/…); metadata with extensions
 * about 10. 64 leaves room for any real peer while keeping recursive DOM work trivially bounded.
 */
export const SAML_MAX_DEPTH = 64;

export interface HardenedParseOptions {
  /** Refuse documents longer than this many UTF-8 bytes (default SAML_MESSAGE_MAX_BYTES). */
  maxBytes?: number;
  /** Refuse deeper element nesting (default SAML_MAX_DEPTH). */
  maxDepth?: number;
  /**
   * Comments are refused by default: protocol messages never need them, and a comment inside
   * signed content is how NameID truncation attacks work [43]. Metadata documents written by
   * hand often carry comments; the metadata import may allow them (they are dropped from the
   * DOM reading path by reading text through textContent of the whole element).
   */
  allowComments?: boolean;
}

/** The one error of this module: 400 with the reason in the detail (logged and audited by the caller). */
export function xmlRefused(reason: string, cause?: unknown): AppError {
  return new AppError('BAD_REQUEST', `SAML XML refused: ${reason}`, cause === undefined ? {} : { cause });
}

/** True when `err` is a refusal of this module (for protocol endpoints that map it to their error page). */
export function isXmlRefusal(err: unknown): err is AppError {
  return err instanceof AppError && err.code === 'BAD_REQUEST' && typeof err.detail === 'string' && err.detail.startsWith('SAML XML refused:');
}

function byteLengthAtMost(s: string, maxBytes: number): boolean {
  // A UTF-8 character is at most 3 bytes per UTF-16 code unit: skip the exact count when it cannot matter.
  if (s.length * 3 <= maxBytes) return true;
  if (s.length > maxBytes) return false;
  return Buffer.byteLength(s, 'utf8') <= maxBytes;
}

const XML_DECLARATION = /^<\?xml[\s?]/;

/**
 * Linear pre-scan of the markup (no DOM): DOCTYPE and every other `<!…>` declaration, processing
 * instructions, comments, root count, text outside the root, and nesting depth. Attribute values
 * may contain `>`, so tags are scanned with quote tracking.
 */
export function scanXml(xml: string, options: HardenedParseOptions = {}): void {
  const maxBytes = options.maxBytes ?? SAML_MESSAGE_MAX_BYTES;
  const maxDepth = options.maxDepth ?? SAML_MAX_DEPTH;
  if (typeof xml !== 'string' || xml.length === 0) throw xmlRefused('empty document');
  if (!byteLengthAtMost(xml, maxBytes)) throw xmlRefused(`document larger than ${maxBytes} bytes`);
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  const start = i;
  let depth = 0;
  let roots = 0;
  const n = xml.length;
  while (i < n) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (depth === 0 && textEnd > i && /\S/.test(xml.slice(i, textEnd))) throw xmlRefused('text outside the root element');
    if (lt === -1) break;
    i = lt;
    const next = xml.charCodeAt(i + 1);
    if (xml.startsWith('<!--', i)) {
      if (!options.allowComments) throw xmlRefused('comments are not accepted');
      const end = xml.indexOf('-->', i + 4);
      if (end === -1) throw xmlRefused('unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      if (depth === 0) throw xmlRefused('CDATA outside the root element');
      const end = xml.indexOf(']]>', i + 9);
      if (end === -1) throw xmlRefused('unterminated CDATA section');
      i = end + 3;
    } else if (next === 0x21 /* ! */) {
      // <!DOCTYPE, <!ENTITY, <!ELEMENT, <!ATTLIST, <!NOTATION: refused before anything expands.
      throw xmlRefused('DOCTYPE and markup declarations are not accepted');
    } else if (next === 0x3f /* ? */) {
      if (i !== start || !XML_DECLARATION.test(xml.slice(i, i + 6))) throw xmlRefused('processing instructions are not accepted');
      const end = xml.indexOf('?>', i + 2);
      if (end === -1) throw xmlRefused('unterminated XML declaration');
      i = end + 2;
    } else {
      const closing = next === 0x2f; /* / */
      let j = i + 1;
      let quote = 0;
      for (; j < n; j++) {
        const c = xml.charCodeAt(j);
        if (quote) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) {
          quote = c;
        } else if (c === 0x3e /* > */) {
          break;
        } else if (c === 0x3c /* < */) {
          throw xmlRefused('malformed tag');
        }
      }
      if (j >= n) throw xmlRefused('unterminated tag');
      if (closing) {
        depth -= 1;
        if (depth < 0) throw xmlRefused('unbalanced end tag');
      } else {
        const selfClosing = xml.charCodeAt(j - 1) === 0x2f;
        if (depth === 0) {
          roots += 1;
          if (roots > 1) throw xmlRefused('more than one root element');
        }
        if (!selfClosing) {
          depth += 1;
          if (depth > maxDepth) throw xmlRefused(`elements nested deeper than ${maxDepth}`);
        }
      }
      i = j + 1;
    }
  }
  if (roots !== 1) throw xmlRefused('no root element');
  if (depth !== 0) throw xmlRefused('unclosed element');
}

/**
 * xmldom with an error handler that throws on warnings, errors and fatal errors alike: xmldom
 * reports recoverable malformations (unquoted or duplicate attributes, undefined entities) as
 * warnings or errors and would otherwise repair them, reading a different document than a
 * signature verifier or another parser would. xmldom catches some handler exceptions and reports
 * them again, so the first message is kept and rethrown.
 */
function parseStrict(xml: string): Document {
  let first: string | undefined;
  const fail = (level: string) => (msg: unknown) => {
    first ??= `${level}: ${String(msg).split('\n')[0]?.slice(0, 200) ?? ''}`;
    throw xmlRefused(`parser ${first}`);
  };
  try {
    return new DOMParser({ errorHandler: { warning: fail('warning'), error: fail('error'), fatalError: fail('fatal error') } }).parseFromString(xml, 'text/xml');
  } catch (err) {
    throw xmlRefused(first ? `parser ${first}` : 'not well-formed XML', err);
  }
}

/**
 * Parses attacker-supplied XML into a DOM under the rules above (size, depth, no DOCTYPE/entity
 * declarations, no processing instructions but the XML declaration, one root, no comments unless
 * allowed). Throws `xmlRefused(...)`; never returns a repaired document.
 */
export function parseHardened(xml: string, options: HardenedParseOptions = {}): Document {
  scanXml(xml, options);
  const doc = parseStrict(xml);
  const root = doc?.documentElement;
  if (!root) throw xmlRefused('no root element');
  // The DOM must agree with the pre-scan: exactly one element child of the document and no
  // DOCTYPE or processing-instruction nodes (xmldom keeps the XML declaration as a first
  // processing-instruction node named `xml`).
  let elements = 0;
  for (let node = doc.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1) elements += 1;
    else if (node.nodeType === 10) throw xmlRefused('DOCTYPE and markup declarations are not accepted');
    else if (node.nodeType === 7 && !(node === doc.firstChild && node.nodeName === 'xml')) throw xmlRefused('processing instructions are not accepted');
    else if (node.nodeType === 8 && !options.allowComments) throw xmlRefused('comments are not accepted');
  }
  if (elements !== 1) throw xmlRefused('more than one root element');
  return doc;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 → bytes, bounded before decoding (whitespace and the `+`-as-space of form/query decoding tolerated). */
export function decodeBase64Limited(base64: string, maxBytes: number = SAML_MESSAGE_MAX_BYTES): Buffer {
  if (typeof base64 !== 'string' || base64.length === 0) throw xmlRefused('empty message');
  if (base64.length > Math.ceil(maxBytes / 3) * 4 + 1024) throw xmlRefused(`encoded message larger than ${maxBytes} bytes`);
  const compact = base64.replace(/ /g, '+').replace(/[\r\n\t]/g, '');
  if (!BASE64.test(compact) || compact.length % 4 === 1) throw xmlRefused('message is not base64');
  return Buffer.from(compact, 'base64');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (err) {
    throw xmlRefused('message is not UTF-8', err);
  }
}

/**
 * HTTP-Redirect binding (SAML Bindings §3.4.4.1): base64 of raw DEFLATE. Inflating stops at
 * `maxBytes` of output (zlib's `maxOutputLength`), so a small message that expands to gigabytes
 * costs at most `maxBytes` of memory and the time to produce it.
 * Call it before handing the message to samlify: samlify's redirect flow inflates without a limit.
 */
export function inflateLimited(base64: string, maxBytes: number = SAML_MESSAGE_MAX_BYTES): string {
  const compressed = decodeBase64Limited(base64, maxBytes);
  let out: Buffer;
  try {
    out = inflateRawSync(compressed, { maxOutputLength: maxBytes });
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
      throw xmlRefused(`message inflates past ${maxBytes} bytes`, err);
    }
    throw xmlRefused('message is not DEFLATE-compressed', err);
  }
  return decodeUtf8(out);
}

/** HTTP-POST binding (SAML Bindings §3.5.4): base64 of the XML, bounded. */
export function decodePostMessage(base64: string, maxBytes: number = SAML_MESSAGE_MAX_BYTES): string {
  return decodeUtf8(decodeBase64Limited(base64, maxBytes));
}

/**
 * Characters XML 1.0 cannot carry at all (§2.2 Char): C0 controls other than tab/LF/CR, lone
 * surrogates, U+FFFE/U+FFFF. No escape can represent them, so they are replaced by U+FFFD rather
 * than emitted into a document every conforming parser would refuse.
 */
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Text content: `&`, `<`, `>` (so `]]>` and `-->` are inert) as entities. */
export function escapeXmlText(value: string): string {
  return String(value).replace(NOT_XML_CHAR, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values (either quote style): also quotes, and tab/LF/CR as character references so attribute-value normalization keeps them. */
export function escapeXmlAttr(value: string): string {
  return escapeXmlText(value).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\t/g, '&#x9;').replace(/\n/g, '&#xA;').replace(/\r/g, '&#xD;');
}

let installed = false;

/**
 * Registers the real schema validator with samlify (once per process; idempotent). Every message
 * samlify parses is first pre-scanned under the rules above, then validated by libxml2 (xmllint,
 * as WebAssembly) against the SAML 2.0 protocol schema and the schemas it imports (assertion,
 * xmldsig, xenc) from src/saml/schemas. A document that does not validate rejects, so samlify
 * answers ERR_INVALID_XML.
 */
export function installSchemaValidator(): void {
  if (installed) return;
  samlify.setSchemaValidator({
    validate: async (xml: string) => {
      await validateSamlSchema(xml, 'protocol');
      return 'valid';
    },
  });
  installed = true;
}

/** Whether installSchemaValidator ran in this process (the boot test checks it outside tests too). */
export function schemaValidatorInstalled(): boolean {
  return installed;
}
