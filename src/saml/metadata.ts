/**
 * The tenant's SAML IdP metadata, `GET /tenants/{t}/saml/idp/metadata` (ARCHITECTURE.md "Endpoint
 * map"; SAML 2.0 Metadata, saml-metadata-2.0-os §2.4.3 IDPSSODescriptor):
 * - entityID `{baseUrl}/tenants/{tenantId}/saml/idp`: the tenant id, never the alias, so renaming
 *   the alias breaks no SP;
 * - one signing KeyDescriptor for the active certificate and one for the next during a rollover
 *   (security-bar §2 "Certificate expiry": publish two keys during rollover), so an SP that
 *   refreshes metadata trusts the next key before it signs;
 * - SingleSignOnService and SingleLogoutService for HTTP-Redirect and HTTP-POST;
 * - NameIDFormats emailAddress, persistent, transient, unspecified;
 * - `WantAuthnRequestsSigned="false"`: whether requests must be signed is a per-application
 *   setting, so the tenant-wide flag cannot promise it;
 * - the algorithms Gatehouse signs with, per the metadata AlgorithmSupport profile [48]
 *   (rsa-sha256 and rsa-sha512 with sha256/sha512 digests; never SHA-1).
 * The document is built from escaped parts only (harden.ts) and validates against the SAML 2.0
 * metadata schema (test/integration/saml/metadata.test.ts). It is served with a short
 * `Cache-Control` (5 minutes) so a rollover reaches SPs quickly; certificates are published as
 * "next" long before they sign, so a 5-minute-old copy is always good enough.
 */
import { X509Certificate } from 'node:crypto';
import { Router, type Request, type Response, type NextFunction } from 'express';
import { tenantOf, type TenantDeps } from '../http/tenant-routes.js';
import { getTenantSigningKeys } from './keys.js';
import { escapeXmlAttr, escapeXmlText } from './xml/harden.js';

export const METADATA_CACHE_SECONDS = 300;

const BINDING = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

export const IDP_NAMEID_FORMATS = [
  'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
] as const;

const SIGNING_METHODS = ['http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512'];
const DIGEST_METHODS = ['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512'];

/** `{baseUrl}/tenants/{tenantId}/saml/idp` (ARCHITECTURE.md: entity IDs use the tenant id). */
export function idpEntityId(baseUrl: string, tenantId: string): string {
  return `${baseUrl}/tenants/${tenantId}/saml/idp`;
}

export interface IdpMetadataInput {
  baseUrl: string;
  tenantId: string;
  /** PEM certificates: the active one first, then the next one during a rollover. */
  signingCertificates: readonly string[];
}

/** The base64 DER body of a PEM certificate, re-encoded from the parsed certificate (nothing else from the PEM text reaches the document). */
function certificateBody(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64');
}

export function buildIdpMetadata(input: IdpMetadataInput): string {
  const base = `${input.baseUrl}/tenants/${input.tenantId}/saml/idp`;
  const a = escapeXmlAttr;
  const keyDescriptors = input.signingCertificates
    .map(
      (pem) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${escapeXmlText(certificateBody(pem))}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    )
    .join('');
  const services = (element: string, path: string) =>
    [BINDING.redirect, BINDING.post].map((b) => `<md:${element} Binding="${a(b)}" Location="${a(`${base}/${path}`)}"/>`).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:alg="urn:oasis:names:tc:SAML:metadata:algsupport" entityID="${a(idpEntityId(input.baseUrl, input.tenantId))}">` +
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    '<md:Extensions>' +
    DIGEST_METHODS.map((m) => `<alg:DigestMethod Algorithm="${a(m)}"/>`).join('') +
    SIGNING_METHODS.map((m) => `<alg:SigningMethod Algorithm="${a(m)}"/>`).join('') +
    '</md:Extensions>' +
    keyDescriptors +
    services('SingleLogoutService', 'slo') +
    IDP_NAMEID_FORMATS.map((f) => `<md:NameIDFormat>${escapeXmlText(f)}</md:NameIDFormat>`).join('') +
    services('SingleSignOnService', 'sso') +
    '</md:IDPSSODescriptor>' +
    '</md:EntityDescriptor>'
  );
}

/** The tenant's metadata document, from its signing keys (made on first use). */
export async function tenantIdpMetadata(tenant: { tenantId: string; accountId: number }, deps: Pick<TenantDeps, 'config' | 'keyring' | 'stamps'>): Promise<string> {
  const keys = await getTenantSigningKeys(tenant.tenantId, tenant.accountId, deps.keyring, deps.stamps);
  const certs = [keys.current.certPem, ...(keys.next ? [keys.next.certPem] : [])];
  return buildIdpMetadata({ baseUrl: deps.config.baseUrl, tenantId: tenant.tenantId, signingCertificates: certs });
}

/** Mounted by src/saml/routes.ts under /tenants/{t}: `GET /saml/idp/metadata`. */
export function samlMetadataRouter(deps: TenantDeps): Router {
  const router = Router({ mergeParams: true });
  router.get('/saml/idp/metadata', (req: Request, res: Response, next: NextFunction) => {
    tenantIdpMetadata(tenantOf(res), deps)
      .then((xml) => {
        // application/samlmetadata+xml is the registered type (saml-metadata-2.0-os §4.1.1).
        res.set('Content-Type', 'application/samlmetadata+xml; charset=utf-8');
        res.set('Cache-Control', `public, max-age=${METADATA_CACHE_SECONDS}`);
        res.status(200).send(xml);
      })
      .catch(next);
  });
  return router;
}
