/**
 * The tenant's SAML SP metadata towards its external IdP (reference/ncloud-model.md §1 "SP data";
 * saml-metadata-2.0-os §2.4.4 SPSSODescriptor; ARCHITECTURE.md endpoint map). Served to admins at
 * `GET /api/v1/sso/tenant/saml-idp/sp-metadata` and publicly (sign-in engineer) at
 * `/tenants/{t}/saml/sp-metadata`, both from `tenantSpMetadata`.
 * - entityID and endpoints from `federationSpUrls` (the tenant id, never the alias);
 * - `AuthnRequestsSigned` = the IdP record's `requestSigningEnabled` (false without a record);
 *   `WantAssertionsSigned="true"`: Gatehouse accepts only signed assertions (security-bar §1);
 * - NameIDFormat emailAddress: the NameID is matched to the user's loginId (an e-mail address);
 * - AssertionConsumerService over HTTP-POST (index 0, default); SingleLogoutService over
 *   HTTP-Redirect and HTTP-POST at the logout URL;
 * - the tenant's active and next signing certificates as KeyDescriptor use="signing" (the same
 *   key pair that signs as IdP: src/sso/certificates), so an IdP that refreshes metadata trusts
 *   the next key before a rollover.
 * Built from escaped parts only; schema-valid (test/integration/federation/external-idp.test.ts).
 */
import { X509Certificate } from 'node:crypto';
import type { Config } from '../config.js';
import type { Keyring } from '../db/encryption.js';
import type { ChangeStamps } from '../iam/change-stamps.js';
import { getTenantSigningKeys } from '../saml/keys.js';
import { escapeXmlAttr, escapeXmlText } from '../saml/xml/harden.js';
import { ExternalIdp, federationSpUrls } from './external-idp.model.js';

export const SP_METADATA_CONTENT_TYPE = 'application/samlmetadata+xml; charset=utf-8';

const BINDING = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;
const NAMEID_EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

export interface SpMetadataInput {
  baseUrl: string;
  tenantId: string;
  /** The IdP record's requestSigningEnabled (false when the tenant has no external IdP). */
  authnRequestsSigned: boolean;
  /** PEM certificates: the active one first, then the next one during a rollover. */
  signingCertificates: readonly string[];
}

/** Base64 DER re-encoded from the parsed certificate: nothing else of the PEM text reaches the document. */
function certificateBody(pem: string): string {
  return new X509Certificate(pem).raw.toString('base64');
}

export function buildSpMetadata(input: SpMetadataInput): string {
  const urls = federationSpUrls(input.baseUrl, input.tenantId);
  const a = escapeXmlAttr;
  const keys = input.signingCertificates
    .map(
      (pem) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${escapeXmlText(certificateBody(pem))}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${a(urls.entityId)}">` +
    `<md:SPSSODescriptor AuthnRequestsSigned="${input.authnRequestsSigned ? 'true' : 'false'}" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
    keys +
    `<md:SingleLogoutService Binding="${a(BINDING.redirect)}" Location="${a(urls.logoutUrl)}"/>` +
    `<md:SingleLogoutService Binding="${a(BINDING.post)}" Location="${a(urls.logoutUrl)}"/>` +
    `<md:NameIDFormat>${escapeXmlText(NAMEID_EMAIL)}</md:NameIDFormat>` +
    `<md:AssertionConsumerService Binding="${a(BINDING.post)}" Location="${a(urls.acsUrl)}" index="0" isDefault="true"/>` +
    '</md:SPSSODescriptor>' +
    '</md:EntityDescriptor>'
  );
}

export interface SpMetadataDeps {
  config: Pick<Config, 'baseUrl'>;
  keyring: Keyring;
  stamps?: ChangeStamps;
}

/**
 * The tenant's SP metadata document: its signing keys (the first one is made on first use, as
 * for the IdP metadata) and its IdP record's request-signing flag.
 */
export async function tenantSpMetadata(tenant: { tenantId: string; accountId: number }, deps: SpMetadataDeps): Promise<string> {
  const [keys, idp] = await Promise.all([
    getTenantSigningKeys(tenant.tenantId, tenant.accountId, deps.keyring, deps.stamps),
    ExternalIdp.findOne({ tenantId: tenant.tenantId }).lean(),
  ]);
  return buildSpMetadata({
    baseUrl: deps.config.baseUrl,
    tenantId: tenant.tenantId,
    authnRequestsSigned: idp?.requestSigningEnabled === true,
    signingCertificates: [keys.current.certPem, ...(keys.next ? [keys.next.certPem] : [])],
  });
}
