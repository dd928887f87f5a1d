/**
 * Reading what an SP sends to the IdP endpoints (AuthnRequest, LogoutRequest, LogoutResponse)
 * over HTTP-Redirect (deflated, query-signed) and HTTP-POST (base64, enveloped signature)
 * (SAML Bindings §3.4, §3.5; security-bar §2 and cases 3-6).
 *
 * Order of the checks, each before anything more expensive:
 *   1. size of the encoded message (the router's body limit; 64 KiB of query here),
 *   2. strict base64, raw inflate bounded to 256 KiB of output (compressed-message DoS,
 *      ruby-saml CVE-2025-25293; case 6),
 *   3. the hardened parser (src/saml/xml/harden.ts: DOCTYPE/entities refused before any
 *      expansion, nesting depth bounded, one root; cases 5, 6) and the SAML protocol schema
 *      (xmllint, its verdict cached per message shape: schema-verdicts.ts),
 *   4. the message's signature with the SP's pinned certificates only (never KeyInfo), SHA-1
 *      refused (case 3); for POST the one signature must be the root's own child and cover the
 *      root by its ID, and every field is read again from the signed bytes only (samlify #634,
 *      case 4).
 */
import { verify as verifySignature, X509Certificate } from 'node:crypto';
import type { Request } from 'express';
import { SignedXml } from 'xml-crypto';
import { decodeBase64Limited, decodePostMessage, inflateLimited, isXmlRefusal, parseHardened, SAML_MESSAGE_MAX_BYTES } from '../xml/harden.js';
import { SamlRejection } from './rejection.js';
import { validateProtocolMessage } from './schema-verdicts.js';

type XmlDocument = Document;
export type XmlElement = Element;

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

/** Encoded message bound in a query (an AuthnRequest is a few hundred bytes deflated); the XML itself is bounded by harden.ts (1 MiB). */
export const MAX_QUERY_MESSAGE = 64 * 1024;
export { SAML_MESSAGE_MAX_BYTES };

export const SIG_ALGS = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
} as const satisfies Record<string, string>;
const SHA1_ALGS = new Set(['http://www.w3.org/2000/09/xmldsig#rsa-sha1', 'http://www.w3.org/2000/09/xmldsig#dsa-sha1', 'http://www.w3.org/2000/09/xmldsig#sha1']);
const DIGEST_ALGS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);
const C14N_ALGS = new Set(['http://www.w3.org/2001/10/xml-exc-c14n#', 'http://www.w3.org/2001/10/xml-exc-c14n#WithComments']);
const TRANSFORMS = new Set(['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#']);

export type MessageKind = 'SAMLRequest' | 'SAMLResponse';

export interface InboundMessage {
  binding: 'redirect' | 'post';
  kind: MessageKind;
  xml: string;
  doc: XmlDocument;
  root: XmlElement;
  relayState: string | null;
  /** HTTP-Redirect only: the query signature, when one was sent. */
  querySignature: { sigAlg: string; signature: Buffer; signedOctets: string } | null;
  /** HTTP-POST only: whether the XML carries a ds:Signature. */
  hasXmlSignature: boolean;
}

/** The raw (still URL-encoded) query parameters, each at most once. */
function rawQuery(req: Request): Map<string, string> {
  const url = req.originalUrl;
  const q = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const out = new Map<string, string>();
  if (q.length > MAX_QUERY_MESSAGE + 8192) throw new SamlRejection('tooLarge', 'query too long');
  for (const part of q.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (out.has(name)) throw new SamlRejection('malformed', `parameter ${name} repeated`);
    out.set(name, eq < 0 ? '' : part.slice(eq + 1));
  }
  return out;
}

function urlDecode(v: string): string {
  try {
    return decodeURIComponent(v.replace(/\+/g, ' '));
  } catch {
    throw new SamlRejection('malformed', 'bad URL encoding');
  }
}

/** The hardened module's refusals become rejections (one error page; the reason is logged). */
function hardened<T>(work: () => T): T {
  try {
    return work();
  } catch (err) {
    if (isXmlRefusal(err)) {
      const detail = err.detail ?? 'refused';
      throw new SamlRejection(/DOCTYPE|declaration/.test(detail) ? 'doctype' : /larger|inflates past|deeper/.test(detail) ? 'tooLarge' : 'malformed', detail);
    }
    throw err;
  }
}

export function parseSamlXml(xml: string): XmlDocument {
  return hardened(() => parseHardened(xml));
}

async function toMessage(xml: string, binding: 'redirect' | 'post', kind: MessageKind, relayState: string | null, querySignature: InboundMessage['querySignature']): Promise<InboundMessage> {
  const doc = parseSamlXml(xml);
  const root = doc.documentElement;
  if (!root) throw new SamlRejection('malformed', 'no root element');
  try {
    await validateProtocolMessage(xml, doc);
  } catch (err) {
    if (isXmlRefusal(err)) throw new SamlRejection('schema', err.detail ?? 'not schema-valid');
    throw err;
  }
  const hasXmlSignature = doc.getElementsByTagNameNS(NS.dsig, 'Signature').length > 0;
  return { binding, kind, xml, doc, root, relayState, querySignature, hasXmlSignature };
}

const RELAY_STATE_MAX = 1024;

function checkRelayState(v: string | null): string | null {
  if (v === null) return null;
  // SAML Bindings §3.4.3 says 80 bytes; real SPs (AWS, Salesforce) send longer values, so the
  // bound is 1 KiB. It is only ever echoed back inside the auto-POST form, HTML-escaped.
  if (Buffer.byteLength(v) > RELAY_STATE_MAX) throw new SamlRejection('tooLarge', 'RelayState too long');
  return v;
}

/** An HTTP-Redirect message (GET). */
export async function readRedirectMessage(req: Request, kind: MessageKind): Promise<InboundMessage> {
  const q = rawQuery(req);
  const rawMsg = q.get(kind);
  if (rawMsg === undefined) throw new SamlRejection('malformed', `no ${kind}`);
  if (rawMsg.length > MAX_QUERY_MESSAGE) throw new SamlRejection('tooLarge', 'message too large');
  const xml = hardened(() => inflateLimited(urlDecode(rawMsg)));
  const rawRelay = q.get('RelayState');
  const relayState = checkRelayState(rawRelay === undefined ? null : urlDecode(rawRelay));
  const rawSigAlg = q.get('SigAlg');
  const rawSig = q.get('Signature');
  let querySignature: InboundMessage['querySignature'] = null;
  if (rawSigAlg !== undefined || rawSig !== undefined) {
    if (rawSigAlg === undefined || rawSig === undefined) throw new SamlRejection('badSignature', 'SigAlg and Signature must come together');
    // SAML Bindings §3.4.4.1: the signed octets are the parameters as they were URL-encoded on the wire.
    const signedOctets = `${kind}=${rawMsg}${rawRelay !== undefined ? `&RelayState=${rawRelay}` : ''}&SigAlg=${rawSigAlg}`;
    querySignature = { sigAlg: urlDecode(rawSigAlg), signature: hardened(() => decodeBase64Limited(urlDecode(rawSig), 4096)), signedOctets };
  }
  return toMessage(xml, 'redirect', kind, relayState, querySignature);
}

/** An HTTP-POST message (urlencoded form body, parsed by the router with a size limit). */
export async function readPostMessage(req: Request, kind: MessageKind): Promise<InboundMessage> {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const raw = body[kind];
  if (typeof raw !== 'string') throw new SamlRejection('malformed', `no ${kind}`);
  const xml = hardened(() => decodePostMessage(raw));
  const rs = body.RelayState;
  if (rs !== undefined && typeof rs !== 'string') throw new SamlRejection('malformed', 'RelayState');
  return toMessage(xml, 'post', kind, checkRelayState(rs ?? null), null);
}

function certKey(pem: string) {
  return new X509Certificate(pem).publicKey;
}

/**
 * Verifies the message's signature against the SP's certificates. Returns the element to read
 * the message from: the root itself (Redirect: the query signature covers the whole message) or
 * the root re-parsed from the signed bytes (POST). Unsigned messages return null.
 */
export function verifyMessageSignature(msg: InboundMessage, certificates: readonly string[]): XmlElement | null {
  if (msg.binding === 'redirect') {
    const qs = msg.querySignature;
    if (!qs) return null;
    if (SHA1_ALGS.has(qs.sigAlg)) throw new SamlRejection('weakAlgorithm', 'SHA-1 signature refused');
    const hash = (SIG_ALGS as Record<string, string>)[qs.sigAlg];
    if (!hash) throw new SamlRejection('weakAlgorithm', 'signature algorithm not supported');
    if (certificates.length === 0) throw new SamlRejection('badSignature', 'no certificate registered for this SP');
    const ok = certificates.some((pem) => {
      try {
        return verifySignature(hash, Buffer.from(qs.signedOctets, 'utf8'), certKey(pem), qs.signature);
      } catch {
        return false;
      }
    });
    if (!ok) throw new SamlRejection('badSignature', 'query signature does not verify');
    return msg.root;
  }

  if (!msg.hasXmlSignature) return null;
  const all = msg.doc.getElementsByTagNameNS(NS.dsig, 'Signature');
  // Exactly one signature, the root's own child, covering the root by its ID: anything else is a
  // wrapped or relocated signature (samlify #634, XSW; case 4).
  if (all.length !== 1) throw new SamlRejection('signatureWrapping', 'more than one signature');
  const sigEl = all.item(0);
  if (!sigEl || sigEl.parentNode !== msg.root) throw new SamlRejection('signatureWrapping', 'signature is not the root element\'s');
  const rootId = msg.root.getAttribute('ID');
  if (!rootId) throw new SamlRejection('malformed', 'root has no ID');

  const sigMethod = firstDescendant(sigEl, NS.dsig, 'SignatureMethod')?.getAttribute('Algorithm') ?? '';
  if (SHA1_ALGS.has(sigMethod)) throw new SamlRejection('weakAlgorithm', 'SHA-1 signature refused');
  if (!(sigMethod in SIG_ALGS)) throw new SamlRejection('weakAlgorithm', 'signature algorithm not supported');
  const c14n = firstDescendant(sigEl, NS.dsig, 'CanonicalizationMethod')?.getAttribute('Algorithm') ?? '';
  if (!C14N_ALGS.has(c14n)) throw new SamlRejection('weakAlgorithm', 'canonicalization not supported');
  const refs = sigEl.getElementsByTagNameNS(NS.dsig, 'Reference');
  if (refs.length !== 1) throw new SamlRejection('signatureWrapping', 'exactly one reference expected');
  const ref = refs.item(0)!;
  if (ref.getAttribute('URI') !== `#${rootId}`) throw new SamlRejection('signatureWrapping', 'signature does not cover the root');
  const digest = firstDescendant(ref, NS.dsig, 'DigestMethod')?.getAttribute('Algorithm') ?? '';
  if (!DIGEST_ALGS.has(digest)) throw new SamlRejection('weakAlgorithm', 'digest not supported');
  const transforms = ref.getElementsByTagNameNS(NS.dsig, 'Transform');
  for (let i = 0; i < transforms.length; i++) {
    if (!TRANSFORMS.has(transforms.item(i)?.getAttribute('Algorithm') ?? '')) throw new SamlRejection('weakAlgorithm', 'transform not supported');
  }
  if (certificates.length === 0) throw new SamlRejection('badSignature', 'no certificate registered for this SP');

  for (const pem of certificates) {
    // The SP's pinned key only: KeyInfo is never trusted (xml-crypto CVE-2024-32962).
    const sig = new SignedXml({ publicCert: certKey(pem).export({ type: 'spki', format: 'pem' }).toString(), getCertFromKeyInfo: () => null });
    try {
      sig.loadSignature(sigEl as unknown as Node);
      if (!sig.checkSignature(msg.xml)) continue;
    } catch {
      continue;
    }
    const signed = sig.getSignedReferences();
    if (signed.length !== 1) throw new SamlRejection('signatureWrapping', 'exactly one signed reference expected');
    // Read the message from the bytes the signature covers, never from the original DOM.
    const signedDoc = parseSamlXml(signed[0]!);
    const signedRoot = signedDoc.documentElement;
    if (!signedRoot || signedRoot.localName !== msg.root.localName || signedRoot.namespaceURI !== msg.root.namespaceURI || signedRoot.getAttribute('ID') !== rootId) {
      throw new SamlRejection('signatureWrapping', 'signed element is not the message');
    }
    return signedRoot;
  }
  throw new SamlRejection('badSignature', 'XML signature does not verify');
}

export function firstDescendant(el: XmlElement, ns: string, local: string): XmlElement | null {
  return el.getElementsByTagNameNS(ns, local).item(0) ?? null;
}

export function childElements(el: XmlElement, ns: string, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) {
      const e = n as XmlElement;
      if (e.namespaceURI === ns && e.localName === local) out.push(e);
    }
  }
  return out;
}

export function textOf(el: XmlElement | null | undefined): string | null {
  if (!el) return null;
  // The full text of every text node (a comment inside must not truncate it; security-bar §2).
  let s = '';
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 3 || n.nodeType === 4) s += n.nodeValue ?? '';
    else if (n.nodeType === 1) throw new SamlRejection('malformed', `unexpected element in ${el.localName}`);
  }
  return s.trim();
}
