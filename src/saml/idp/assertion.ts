/**
 * The SAML Response the IdP sends (issue 9 "Responses"; security-bar §2, cases 7-10):
 *
 * - Written by Gatehouse from one fixed template, every value through `escapeXmlAttr` /
 *   `escapeXmlText` (src/saml/xml/harden.ts): a user value containing `</saml:AttributeValue>`,
 *   `]]>` or `-->` stays one literal text node (samlify CVE-2026-46490 class, case 7). No
 *   comments are ever emitted.
 * - Audience = SP entity ID, Recipient and Destination = the ACS chosen from the SP's registered
 *   endpoints, InResponseTo = the AuthnRequest's ID (absent for IdP-initiated), NotOnOrAfter 5
 *   minutes, NotBefore 30 s back for clock skew, IDs of 160 random bits (case 9).
 * - AuthnInstant = the session's authentication time, SessionIndex = an opaque value per
 *   Gatehouse session (single logout finds the session from it), AuthnContextClassRef from the
 *   session's `acr`: PasswordProtectedTransport for `pwd`, REFEDS MFA for `mfa`.
 * - Signed and encrypted by samlify (`createLoginResponse`, encrypt-then-sign so a signed
 *   Response still verifies over the EncryptedAssertion): rsa-sha256 or rsa-sha512, exclusive
 *   C14N, the assertion / the response / both as the SP asks (case 8); assertion encryption only
 *   with AES-256-GCM and RSA-OAEP, whatever the SP's metadata lists (case 10).
 */
import { createHash, randomBytes } from 'node:crypto';
import * as samlify from 'samlify';
import { escapeXmlAttr, escapeXmlText } from '../xml/harden.js';
import { NS } from './inbound.js';
import { POST_BINDING, type SamlApplication } from './service-provider.js';

export const NAMEID_FORMATS = {
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
} as const;

export const AUTHN_CONTEXT = {
  pwd: 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport',
  mfa: 'https://refeds.org/profile/mfa',
} as const;

export const SIGNATURE_ALGORITHMS = {
  'rsa-sha256': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'rsa-sha512': 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
} as const;

/** The only encryption Gatehouse performs (security-bar §2 "Encrypted-assertion oracles"). */
export const DATA_ENCRYPTION = 'http://www.w3.org/2009/xmlenc11#aes256-gcm';
export const KEY_ENCRYPTION = 'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p';

/** Assertion lifetime (≤ 5 minutes, issue 9) and the skew allowed before IssueInstant. */
export const ASSERTION_LIFETIME_MS = 5 * 60_000;
export const NOT_BEFORE_SKEW_MS = 30_000;

/** `_` + 160 random bits in hex: an NCName, as SAML IDs must be (SAML Core §1.3.4). */
export function newSamlId(): string {
  return `_${randomBytes(20).toString('hex')}`;
}

export interface IdpSigningMaterial {
  certificatePem: string;
  privateKeyPem: string;
}

export interface ResponseAttribute {
  name: string;
  nameFormat: string;
  friendlyName: string;
  values: string[];
}

export interface LoginResponseInput {
  idpEntityId: string;
  sp: SamlApplication;
  acsUrl: string;
  inResponseTo: string | null;
  nameId: { value: string; format: string; spNameQualifier: string | null };
  authnInstant: Date;
  sessionIndex: string;
  /** Gatehouse's absolute session end: SessionNotOnOrAfter. */
  sessionNotOnOrAfter: Date | null;
  acr: 'pwd' | 'mfa';
  attributes: ResponseAttribute[];
  now?: Date;
}

const at = (d: Date) => escapeXmlAttr(d.toISOString());

function attributeXml(a: ResponseAttribute): string {
  const friendly = a.friendlyName ? ` FriendlyName="${escapeXmlAttr(a.friendlyName)}"` : '';
  const values = a.values.map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXmlText(v)}</saml:AttributeValue>`).join('');
  return `<saml:Attribute Name="${escapeXmlAttr(a.name)}" NameFormat="${escapeXmlAttr(a.nameFormat)}"${friendly}>${values}</saml:Attribute>`;
}

/** The unsigned Response XML (exported for tests of the template itself). */
export function loginResponseXml(input: LoginResponseInput, ids: { responseId: string; assertionId: string }): string {
  const now = input.now ?? new Date();
  const notOnOrAfter = new Date(now.getTime() + ASSERTION_LIFETIME_MS);
  const notBefore = new Date(now.getTime() - NOT_BEFORE_SKEW_MS);
  const irt = input.inResponseTo === null ? '' : ` InResponseTo="${escapeXmlAttr(input.inResponseTo)}"`;
  const issuer = `<saml:Issuer>${escapeXmlText(input.idpEntityId)}</saml:Issuer>`;
  const spq = input.nameId.spNameQualifier === null ? '' : ` NameQualifier="${escapeXmlAttr(input.idpEntityId)}" SPNameQualifier="${escapeXmlAttr(input.nameId.spNameQualifier)}"`;
  const sessionEnd = input.sessionNotOnOrAfter ? ` SessionNotOnOrAfter="${at(input.sessionNotOnOrAfter)}"` : '';
  const attrs = input.attributes.filter((a) => a.values.length > 0);
  const attributeStatement = attrs.length ? `<saml:AttributeStatement>${attrs.map(attributeXml).join('')}</saml:AttributeStatement>` : '';
  return (
    `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${ids.responseId}" Version="2.0" IssueInstant="${at(now)}" Destination="${escapeXmlAttr(input.acsUrl)}"${irt}>` +
    issuer +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `<saml:Assertion xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${ids.assertionId}" Version="2.0" IssueInstant="${at(now)}">` +
    issuer +
    `<saml:Subject><saml:NameID Format="${escapeXmlAttr(input.nameId.format)}"${spq}>${escapeXmlText(input.nameId.value)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${at(notOnOrAfter)}" Recipient="${escapeXmlAttr(input.acsUrl)}"${irt}/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${at(notBefore)}" NotOnOrAfter="${at(notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${escapeXmlText(input.sp.saml.entityId)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${at(input.authnInstant)}" SessionIndex="${escapeXmlAttr(input.sessionIndex)}"${sessionEnd}><saml:AuthnContext><saml:AuthnContextClassRef>${AUTHN_CONTEXT[input.acr]}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    attributeStatement +
    `</saml:Assertion></samlp:Response>`
  );
}

/** A Response carrying only a non-success status (e.g. NoPassive), message-signed. */
export function statusResponseXml(input: { idpEntityId: string; acsUrl: string; inResponseTo: string | null; topStatus: string; subStatus: string | null; now?: Date }, responseId: string): string {
  const now = input.now ?? new Date();
  const irt = input.inResponseTo === null ? '' : ` InResponseTo="${escapeXmlAttr(input.inResponseTo)}"`;
  const sub = input.subStatus ? `<samlp:StatusCode Value="${escapeXmlAttr(input.subStatus)}"/>` : '';
  return (
    `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${responseId}" Version="2.0" IssueInstant="${at(now)}" Destination="${escapeXmlAttr(input.acsUrl)}"${irt}>` +
    `<saml:Issuer>${escapeXmlText(input.idpEntityId)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${escapeXmlAttr(input.topStatus)}">${sub}</samlp:StatusCode></samlp:Status></samlp:Response>`
  );
}

// ---------------------------------------------------------------------------------------------
// samlify entities, cached: building one generates and re-parses metadata XML (milliseconds), and
// the hot path (a live session answering an AuthnRequest) must not pay that per response.

type Idp = ReturnType<typeof samlify.IdentityProvider>;
type Sp = ReturnType<typeof samlify.ServiceProvider>;
/** samlify reads the encryption algorithms from the entity settings; its types leave them out. */
type IdpSettings = Parameters<typeof samlify.IdentityProvider>[0] & { dataEncryptionAlgorithm: string; keyEncryptionAlgorithm: string };
const CACHE_MAX = 500;
const idpCache = new Map<string, Idp>();
const spCache = new Map<string, Sp>();

function cached<T>(cache: Map<string, T>, key: string, make: () => T): T {
  const hit = cache.get(key);
  if (hit) return hit;
  const made = make();
  if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
  cache.set(key, made);
  return made;
}

function fingerprint(pem: string): string {
  return createHash('sha256').update(pem).digest('base64url').slice(0, 22);
}

function idpEntity(idpEntityId: string, keys: IdpSigningMaterial, algorithm: string, encrypt: boolean): Idp {
  return cached(idpCache, `${idpEntityId}|${fingerprint(keys.privateKeyPem)}|${fingerprint(keys.certificatePem)}|${algorithm}|${encrypt}`, () => {
    const settings: IdpSettings = {
      entityID: idpEntityId,
      privateKey: keys.privateKeyPem,
      signingCert: keys.certificatePem,
      singleSignOnService: [{ Binding: POST_BINDING, Location: `${idpEntityId}/sso` }],
      singleLogoutService: [{ Binding: POST_BINDING, Location: `${idpEntityId}/slo` }],
      requestSignatureAlgorithm: algorithm,
      isAssertionEncrypted: encrypt,
      dataEncryptionAlgorithm: DATA_ENCRYPTION,
      keyEncryptionAlgorithm: KEY_ENCRYPTION,
      generateID: newSamlId,
    };
    return samlify.IdentityProvider(settings);
  });
}

function spEntity(sp: SamlApplication, acsUrl: string): Sp {
  const s = sp.saml;
  const revision = `${sp.configRevision ?? 0}|${sp.updatedAt?.getTime() ?? 0}`;
  return cached(spCache, `${sp.tenantId}|${sp.applicationId}|${revision}|${acsUrl}`, () =>
    samlify.ServiceProvider({
      entityID: s.entityId,
      assertionConsumerService: [{ Binding: POST_BINDING, Location: acsUrl }],
      wantAssertionsSigned: s.signWhat !== 'response',
      wantMessageSigned: s.signWhat !== 'assertion',
      ...(s.encryptAssertion && s.encryptionCertificate ? { encryptCert: s.encryptionCertificate } : {}),
    }),
  );
}

/** Signs (and encrypts) the Response; returns the base64 `SAMLResponse` value. */
export async function signLoginResponse(input: LoginResponseInput, keys: IdpSigningMaterial): Promise<{ responseId: string; assertionId: string; samlResponse: string }> {
  const s = input.sp.saml;
  const algorithm = SIGNATURE_ALGORITHMS[s.signatureAlgorithm as keyof typeof SIGNATURE_ALGORITHMS] ?? SIGNATURE_ALGORITHMS['rsa-sha256'];
  const encrypt = s.encryptAssertion === true;
  if (encrypt && !s.encryptionCertificate) throw new Error('assertion encryption is on but the SP has no encryption certificate');
  const ids = { responseId: newSamlId(), assertionId: newSamlId() };
  const xml = loginResponseXml(input, ids);
  const idp = idpEntity(input.idpEntityId, keys, algorithm, encrypt);
  const sp = spEntity(input.sp, input.acsUrl);
  const out = await idp.createLoginResponse(sp, { extract: {} } as Parameters<Idp['createLoginResponse']>[1], 'post', {}, { customTagReplacement: () => ({ id: ids.responseId, context: xml }), encryptThenSign: true });
  return { ...ids, samlResponse: out.context };
}

/** Message-signs a status-only Response or a logout message (root signature after the Issuer). */
export function signMessage(xml: string, rootLocalName: string, keys: IdpSigningMaterial, algorithm: string = SIGNATURE_ALGORITHMS['rsa-sha256']): string {
  return samlify.SamlLib.constructSAMLSignature({
    rawSamlMessage: xml,
    isMessageSigned: true,
    privateKey: keys.privateKeyPem,
    // samlify wants the certificate body here (what its metadata layer hands it), not PEM.
    signingCert: keys.certificatePem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''),
    signatureAlgorithm: algorithm,
    isBase64Output: true,
    signatureConfig: {
      prefix: 'ds',
      location: { reference: `/*[local-name(.)='${rootLocalName}']/*[local-name(.)='Issuer']`, action: 'after' },
    },
  } as Parameters<typeof samlify.SamlLib.constructSAMLSignature>[0]);
}
