/**
 * SAML application from SP metadata (issue 9 "creation from SP metadata XML (validated: https
 * endpoints only, plain http allowed only for loopback hosts, no `javascript:`, `validUntil`
 * honoured)"; security-bar case 12). The XML is parsed defensively:
 *
 * - at most 256 KB, then the hardened parser both SAML directions share (src/saml/xml/harden.ts):
 *   a linear pre-scan refusing any DOCTYPE or markup declaration (no external entities, no
 *   billion laughs), processing instructions, more than one root and nesting deeper than 64,
 *   then @xmldom/xmldom with an error handler that throws on every warning and error, so a
 *   malformed document is refused rather than repaired. Comments are allowed (hand-written
 *   metadata carries them; every value here is read from attributes or whole-element text);
 * - exactly one md:EntityDescriptor (no aggregates) with one md:SPSSODescriptor;
 * - `validUntil` (on the EntityDescriptor or the SPSSODescriptor) in the past → refused;
 * - every AssertionConsumerService / SingleLogoutService Location checked with the same rules as
 *   the API (application-uris.ts); KeyDescriptor certificates with sp-certificates.ts.
 *
 * Problems are reported per element (`saml.metadataXml.AssertionConsumerService[1].Location`),
 * all at once. The result is the `saml` settings the metadata determines; the caller merges the
 * settings given explicitly in the request over it.
 */
import { isXmlRefusal, parseHardened } from '../../saml/xml/harden.js';
import type { FieldError } from '../../shared/errors.js';
import { webUriProblem } from './application-uris.js';
import { checkSpCertificate } from './sp-certificates.js';

export const METADATA_MAX_BYTES = 256 * 1024;

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const BINDINGS: Record<string, 'HTTP-POST' | 'HTTP-Redirect'> = {
  'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST': 'HTTP-POST',
  'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect': 'HTTP-Redirect',
};
const NAME_ID_FORMATS: Record<string, 'emailAddress' | 'persistent' | 'transient' | 'unspecified'> = {
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress': 'emailAddress',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent': 'persistent',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:transient': 'transient',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified': 'unspecified',
};

export interface MetadataSettings {
  entityId: string;
  acsEndpoints: { binding: 'HTTP-POST' | 'HTTP-Redirect'; location: string; index: number; isDefault: boolean }[];
  sloUrl: string | null;
  sloBinding: 'HTTP-POST' | 'HTTP-Redirect' | null;
  nameIdFormat?: 'emailAddress' | 'persistent' | 'transient' | 'unspecified';
  signingCertificates: string[];
  encryptionCertificate: string | null;
  requireSignedRequests: boolean;
  metadataValidUntil: Date | null;
}

export type MetadataResult = { ok: true; settings: MetadataSettings } | { ok: false; fieldErrors: FieldError[] };

function children(parent: Element, ns: string, localName: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) {
      const e = n as Element;
      if (e.namespaceURI === ns && e.localName === localName) out.push(e);
    }
  }
  return out;
}

function descendants(parent: Element, ns: string, localName: string): Element[] {
  return Array.from(parent.getElementsByTagNameNS(ns, localName));
}

function parseDate(text: string): Date | null {
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Parses SP metadata; `field` is the prefix of reported field names (e.g. `body.saml.metadataXml`). */
export function parseSpMetadata(xml: string, field: string, now = new Date()): MetadataResult {
  const err = (where: string, message: string): MetadataResult => ({ ok: false, fieldErrors: [{ field: where ? `${field}.${where}` : field, message }] });
  if (Buffer.byteLength(xml, 'utf8') > METADATA_MAX_BYTES) return err('', `must be at most ${METADATA_MAX_BYTES / 1024} KB`);
  let doc: Document;
  try {
    // Leading whitespace before the XML declaration (a pasted or fetched document) means nothing.
    doc = parseHardened(xml.trimStart(), { maxBytes: METADATA_MAX_BYTES, allowComments: true });
  } catch (e) {
    if (isXmlRefusal(e)) return err('', `is not acceptable XML: ${(e.detail ?? '').replace(/^SAML XML refused: /, '')}`);
    throw e;
  }
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== MD || root.localName !== 'EntityDescriptor') {
    return err('', 'must have one md:EntityDescriptor as its root (aggregates of several entities are not accepted)');
  }
  const problems: FieldError[] = [];
  const at = (where: string, message: string) => problems.push({ field: `${field}.${where}`, message });

  const entityId = root.getAttribute('entityID') ?? '';
  if (!entityId) at('entityID', 'is missing');
  else if (entityId.length > 1024 || /\s/.test(entityId)) at('entityID', 'must be a URI of at most 1024 characters without whitespace');

  const sps = children(root, MD, 'SPSSODescriptor');
  if (sps.length !== 1) return { ok: false, fieldErrors: [...problems, { field: `${field}.SPSSODescriptor`, message: 'exactly one md:SPSSODescriptor is required' }] };
  const sp = sps[0]!;
  const protocols = (sp.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/);
  if (!protocols.includes('urn:oasis:names:tc:SAML:2.0:protocol')) at('SPSSODescriptor.protocolSupportEnumeration', 'must include urn:oasis:names:tc:SAML:2.0:protocol');

  // validUntil (SAML metadata §2.3.2): metadata past it must not be used.
  let validUntil: Date | null = null;
  for (const [el, where] of [
    [root, 'validUntil'],
    [sp, 'SPSSODescriptor.validUntil'],
  ] as const) {
    const v = el.getAttribute('validUntil');
    if (!v) continue;
    const d = parseDate(v);
    if (!d) at(where, 'is not a valid dateTime');
    else if (d.getTime() <= now.getTime()) at(where, `expired on ${d.toISOString()}: the metadata is no longer valid`);
    else if (!validUntil || d < validUntil) validUntil = d;
  }

  const acsEndpoints: MetadataSettings['acsEndpoints'] = [];
  children(sp, MD, 'AssertionConsumerService').forEach((acs, i) => {
    const where = `AssertionConsumerService[${i}]`;
    const binding = BINDINGS[acs.getAttribute('Binding') ?? ''];
    const location = acs.getAttribute('Location') ?? '';
    const problem = webUriProblem(location);
    if (problem) at(`${where}.Location`, problem);
    const indexText = acs.getAttribute('index');
    const index = indexText !== null && /^\d{1,5}$/.test(indexText) ? Number(indexText) : NaN;
    if (Number.isNaN(index) || index > 65535) at(`${where}.index`, 'must be an unsigned short');
    // Other bindings (Artifact, PAOS) are not served by Gatehouse: skipped, not an error.
    if (!binding) return;
    acsEndpoints.push({ binding, location, index, isDefault: acs.getAttribute('isDefault') === 'true' });
  });
  if (acsEndpoints.length === 0 && !problems.some((p) => p.field.includes('AssertionConsumerService'))) {
    at('AssertionConsumerService', 'at least one AssertionConsumerService with the HTTP-POST or HTTP-Redirect binding is required');
  }

  let sloUrl: string | null = null;
  let sloBinding: MetadataSettings['sloBinding'] = null;
  children(sp, MD, 'SingleLogoutService').forEach((slo, i) => {
    const binding = BINDINGS[slo.getAttribute('Binding') ?? ''];
    const location = slo.getAttribute('Location') ?? '';
    const problem = webUriProblem(location);
    if (problem) at(`SingleLogoutService[${i}].Location`, problem);
    else if (binding && !sloUrl) {
      sloUrl = location;
      sloBinding = binding;
    }
  });

  let nameIdFormat: MetadataSettings['nameIdFormat'];
  for (const f of children(sp, MD, 'NameIDFormat')) {
    const known = NAME_ID_FORMATS[(f.textContent ?? '').trim()];
    if (known) {
      nameIdFormat = known;
      break;
    }
  }

  const signingCertificates: string[] = [];
  let encryptionCertificate: string | null = null;
  children(sp, MD, 'KeyDescriptor').forEach((kd, i) => {
    const use = kd.getAttribute('use') ?? '';
    const certs = descendants(kd, DS, 'X509Certificate');
    if (certs.length === 0) return;
    const checked = checkSpCertificate((certs[0]!.textContent ?? '').trim(), now);
    if (!checked.ok) {
      at(`KeyDescriptor[${i}].X509Certificate`, checked.message);
      return;
    }
    if (use === 'signing' || use === '') {
      if (!signingCertificates.includes(checked.pem)) signingCertificates.push(checked.pem);
    }
    if ((use === 'encryption' || use === '') && !encryptionCertificate) encryptionCertificate = checked.pem;
  });

  if (problems.length) return { ok: false, fieldErrors: problems };
  return {
    ok: true,
    settings: {
      entityId,
      acsEndpoints,
      sloUrl,
      sloBinding,
      ...(nameIdFormat ? { nameIdFormat } : {}),
      signingCertificates,
      encryptionCertificate,
      requireSignedRequests: sp.getAttribute('AuthnRequestsSigned') === 'true',
      metadataValidUntil: validUntil,
    },
  };
}
