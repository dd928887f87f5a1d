/**
 * Reads an external IdP's SAML metadata (saml-metadata-2.0-os §2.4.3 IDPSSODescriptor) into the
 * fields `POST /api/v1/sso/tenant/saml-idp` takes, without storing anything (reference §2 "A.
 * Console federation": the admin pastes or uploads the IdP's metadata). Security-bar cases 13-22:
 * the document is attacker-controlled as far as Gatehouse knows, so it goes through the hardened
 * XML of src/saml/xml before anything reads it:
 * - DOCTYPE/entities/processing instructions refused, size and depth bounded (harden.ts);
 *   comments are allowed (hand-edited metadata often has them; nothing here reads mixed text);
 * - valid against the SAML 2.0 metadata schema (schema.ts, libxml2);
 * - `validUntil` honoured on every enclosing element (an expired document is refused: §2.3.1 says
 *   it must not be relied upon);
 * - every endpoint an https URL (plain http only for loopback hosts), so `javascript:` and the
 *   like never reach the record; the entity ID as the issuer rule says (external-idp.schemas.ts);
 * - signing certificates parsed and checked like the API's (RSA ≥2048 / EC P-256, P-384, not
 *   expired), de-duplicated, at most 2.
 * The metadata's own signature, if any, is not checked: the admin vouches for the document by
 * submitting it, as with Keycloak's "import from file"; what is read from it is shown back and
 * only stored when the admin creates the IdP with it.
 */
import { AppError } from '../shared/errors.js';
import { parseHardened, xmlRefused } from '../saml/xml/harden.js';
import { validateSamlSchema } from '../saml/xml/schema.js';
import { MAX_IDP_CERTIFICATES, type ExternalIdpBinding } from './external-idp.model.js';
import { IDP_METADATA_MAX_BYTES, idpUrlProblem, issuerProblem, parseIdpCertificate } from './external-idp.schemas.js';

const NS = {
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
} as const;

export const SAML_BINDING_URIS: Record<ExternalIdpBinding, string> = {
  HTTP_POST: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  HTTP_REDIRECT: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
};

type XmlElement = ReturnType<typeof parseHardened>['documentElement'];

/** What a create would take (POST it as is), read from the metadata. */
export interface ParsedIdpMetadata {
  idpIssuerUrl: string;
  idpSigninUrl: string;
  idpSignoutUrl: string | null;
  protocolBinding: ExternalIdpBinding;
  /** PEM certificates the IdP signs with (1-2). */
  idpCertificates: string[];
}

const refused = (detail: string) => new AppError('BAD_REQUEST', `IdP metadata refused: ${detail}`, { fieldErrors: [{ field: 'body.metadataXml', message: detail }] });

function children(parent: XmlElement, ns: string, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1) {
      const el = n as XmlElement;
      if (el.namespaceURI === ns && el.localName === local) out.push(el);
    }
  }
  return out;
}

function checkValidUntil(el: XmlElement, now: Date): void {
  const v = el.getAttribute('validUntil');
  if (!v) return;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw refused(`validUntil "${v.slice(0, 40)}" is not a date`);
  if (t <= now.getTime()) throw refused(`the metadata expired at ${new Date(t).toISOString()} (validUntil of ${el.localName})`);
}

/** The one EntityDescriptor with an IDPSSODescriptor (an EntitiesDescriptor must hold exactly one). */
function idpEntity(root: XmlElement, now: Date): { entity: XmlElement; idp: XmlElement } {
  checkValidUntil(root, now);
  const candidates: XmlElement[] = [];
  const visit = (el: XmlElement): void => {
    if (el.localName === 'EntityDescriptor') {
      if (children(el, NS.md, 'IDPSSODescriptor').length > 0) candidates.push(el);
      return;
    }
    for (const inner of [...children(el, NS.md, 'EntitiesDescriptor'), ...children(el, NS.md, 'EntityDescriptor')]) visit(inner);
  };
  visit(root);
  if (candidates.length === 0) throw refused('no EntityDescriptor with an IDPSSODescriptor: this is not an identity provider’s metadata');
  if (candidates.length > 1) throw refused(`${candidates.length} identity providers are described; submit the metadata of one`);
  const entity = candidates[0]!;
  // validUntil of every element between the root and the IdP role applies to it.
  for (let p: XmlElement | null = entity; p && p !== root; p = p.parentNode as XmlElement | null) checkValidUntil(p, now);
  const idps = children(entity, NS.md, 'IDPSSODescriptor').filter((d) => (d.getAttribute('protocolSupportEnumeration') ?? '').split(/\s+/).includes(NS.protocol));
  if (idps.length === 0) throw refused('the IDPSSODescriptor does not support the SAML 2.0 protocol');
  const idp = idps[0]!;
  checkValidUntil(idp, now);
  return { entity, idp };
}

function endpoint(idp: XmlElement, element: string, binding: ExternalIdpBinding): string | null {
  const found = children(idp, NS.md, element).find((e) => e.getAttribute('Binding') === SAML_BINDING_URIS[binding]);
  if (!found) return null;
  const location = found.getAttribute('Location') ?? '';
  const problem = idpUrlProblem(location);
  if (problem) throw refused(`${element} Location ${problem}`);
  return location;
}

function signingCertificates(idp: XmlElement, now: Date): string[] {
  const pems: string[] = [];
  const seen = new Set<string>();
  for (const kd of children(idp, NS.md, 'KeyDescriptor')) {
    const use = kd.getAttribute('use');
    // No `use` means the key is for both signing and encryption (§2.4.1.1).
    if (use && use !== 'signing') continue;
    for (const x of Array.from(kd.getElementsByTagNameNS(NS.ds, 'X509Certificate'))) {
      const r = parseIdpCertificate(x.textContent ?? '', now);
      if (!r.ok) throw refused(`a signing certificate ${r.message}`);
      if (seen.has(r.cert.sha256Fingerprint)) continue;
      seen.add(r.cert.sha256Fingerprint);
      pems.push(r.cert.certificatePem);
    }
  }
  if (pems.length === 0) throw refused('no signing certificate (KeyDescriptor with an X509Certificate) in the IDPSSODescriptor');
  if (pems.length > MAX_IDP_CERTIFICATES) throw refused(`${pems.length} signing certificates; at most ${MAX_IDP_CERTIFICATES} are kept (current and next)`);
  return pems;
}

/**
 * Parses `xml` (hardened, schema-validated) into create fields. `binding` chooses the
 * SingleSignOnService read; without it HTTP-POST is preferred, then HTTP-Redirect. Throws 400
 * (BAD_REQUEST naming the reason) on any refusal.
 */
export async function parseIdpMetadata(xml: string, options: { binding?: ExternalIdpBinding; now?: Date } = {}): Promise<ParsedIdpMetadata> {
  const now = options.now ?? new Date();
  try {
    await validateSamlSchema(xml, 'metadata', { maxBytes: IDP_METADATA_MAX_BYTES, allowComments: true });
  } catch (err) {
    if (err instanceof AppError && err.code === 'BAD_REQUEST') throw refused((err.detail ?? 'not accepted').replace(/^SAML XML refused: /, ''));
    throw err;
  }
  const doc = parseHardened(xml, { maxBytes: IDP_METADATA_MAX_BYTES, allowComments: true });
  const root = doc.documentElement;
  if (!root || root.namespaceURI !== NS.md) throw xmlRefused('the root element is not SAML metadata');
  const { entity, idp } = idpEntity(root, now);

  const entityId = entity.getAttribute('entityID') ?? '';
  const issuerIssue = issuerProblem(entityId);
  if (issuerIssue) throw refused(`entityID ${issuerIssue}`);

  const order: ExternalIdpBinding[] = options.binding ? [options.binding] : ['HTTP_POST', 'HTTP_REDIRECT'];
  let protocolBinding: ExternalIdpBinding | undefined;
  let signin: string | null = null;
  for (const b of order) {
    signin = endpoint(idp, 'SingleSignOnService', b);
    if (signin) {
      protocolBinding = b;
      break;
    }
  }
  if (!signin || !protocolBinding) {
    const offered = children(idp, NS.md, 'SingleSignOnService').map((e) => e.getAttribute('Binding') ?? '?');
    throw refused(`no SingleSignOnService for ${order.map((b) => SAML_BINDING_URIS[b]).join(' or ')} (offered: ${offered.join(', ') || 'none'})`);
  }
  // Sign-out over the same binding only: the record keeps one binding for both directions.
  const signout = endpoint(idp, 'SingleLogoutService', protocolBinding);

  return { idpIssuerUrl: entityId, idpSigninUrl: signin, idpSignoutUrl: signout, protocolBinding, idpCertificates: signingCertificates(idp, now) };
}
