/**
 * The tenant as a SAML 2.0 service provider towards its external IdP (ARCHITECTURE.md
 * "federation"; reference/ncloud-model.md §1 "External IdP", "SP data"). `@node-saml/node-saml`
 * builds the AuthnRequest and verifies the Response (signatures, InResponseTo, Audience, time
 * conditions, issuer): Gatehouse never hand-writes SAML validation. What node-saml does not check,
 * or accepts where security-bar cases 13-22 refuse, is checked here around it:
 *
 * - before node-saml reads a byte: the hardened parse and SAML schema validation of src/saml/xml
 *   (no DOCTYPE, no comments: case 18's `admin@corp.com<!---->.evil.com` is refused whole, no
 *   processing instructions, one root, bounded size and depth); exactly one Assertion in the whole
 *   document and it is a child of the Response (XSW1-8 move or copy it elsewhere: case 14);
 *   every Signature sits on the Response or that Assertion and references its parent's ID; no
 *   duplicate IDs; RSA-SHA1 and SHA-1 digests refused (xml-crypto 6 still accepts both: case 21),
 *   and signature algorithms weaker than the record's `signResponseAlgorithm` refused; no
 *   EncryptedAssertion / EncryptedID / EncryptedAttribute (Gatehouse's SP does not accept
 *   encrypted assertions, so case 22's CBC padding oracle has nothing to talk to); the Response's
 *   Destination is this tenant's ACS URL (node-saml does not check it: case 20);
 * - after node-saml: the response answers exactly the request this browser's pending record sent
 *   (InResponseTo), every SubjectConfirmationData Recipient of the verified assertion is the ACS
 *   URL, its Issuer (and the Response's, when present) is the configured IdP (node-saml 5.1
 *   checks issuers of logout messages only), and the NameID format is emailAddress or unspecified.
 *
 * node-saml's InResponseTo cache lives in MongoDB (`mongoCacheProvider`), so any process can
 * accept the response to a request another process sent.
 */
import { SAML, ValidateInResponseTo, type CacheItem, type CacheProvider, type Profile, type SamlConfig } from '@node-saml/node-saml';
import type { Keyring } from '../db/encryption.js';
import type { ChangeStamps } from '../iam/change-stamps.js';
import { getTenantSigningKeys } from '../saml/keys.js';
import { parseHardened } from '../saml/xml/harden.js';
import { validateSamlSchema } from '../saml/xml/schema.js';
import { federationSpUrls, type ExternalIdpRecord } from './external-idp.model.js';
import { FederationRequestCache, FEDERATION_PENDING_TTL_MS } from './signin.models.js';

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
} as const;

/** Clock skew accepted on NotBefore / NotOnOrAfter (the brief: 3 minutes, as the IdP side accepts). */
export const ACCEPTED_CLOCK_SKEW_MS = 180_000;

const NAMEID_FORMATS = new Set(['urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress', 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified']);

const SIGNATURE_ALGORITHMS: Record<string, number> = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 256,
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 512,
};
const DIGEST_ALGORITHMS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmlenc#sha512']);
const CANONICALIZATIONS = new Set([
  'http://www.w3.org/2001/10/xml-exc-c14n#',
  'http://www.w3.org/2001/10/xml-exc-c14n#WithComments',
  'http://www.w3.org/TR/2001/REC-xml-c14n-20010315',
  'http://www.w3.org/2000/09/xmldsig#enveloped-signature',
]);

/** Authentication context classes that mean two factors (REFEDS MFA and the SAML/Entra classes the IdP side also treats as MFA). */
export const MFA_CONTEXT_CLASSES = new Set([
  'https://refeds.org/profile/mfa',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken',
  'http://schemas.microsoft.com/claims/multipleauthn',
]);

/** Why the SP refused a response or could not send a request: a machine reason for logs and audit. */
export type FederationRejectReason =
  | 'notAvailable'
  | 'malformed'
  | 'encrypted'
  | 'signatureWrapping'
  | 'weakAlgorithm'
  | 'wrongDestination'
  | 'wrongIssuer'
  | 'invalidResponse'
  | 'unknownState'
  | 'wrongInResponseTo'
  | 'wrongRecipient'
  | 'nameIdFormat'
  | 'unknownUser'
  | 'userSuspended'
  | 'replay'
  | 'mfaRequired'
  | 'interactionLost'
  | 'alreadyUsed'
  | 'idpError';

export class FederationRejection extends Error {
  readonly reason: FederationRejectReason;
  /** 403 for refusals of a verified identity, 400 for bad messages and lost state. */
  readonly status: 400 | 403;
  /** The user the verified assertion named, when known (the refusal is then audited on that user). */
  readonly user: { userId: string; loginId: string } | null;
  constructor(reason: FederationRejectReason, detail: string, status: 400 | 403 = 400, user: { userId: string; loginId: string } | null = null) {
    super(detail);
    this.name = 'FederationRejection';
    this.reason = reason;
    this.status = status;
    this.user = user;
  }
}

/**
 * node-saml's CacheProvider over MongoDB, one namespace per tenant: `saveAsync` when a request is
 * built, `getAsync` when a response names it in InResponseTo, `removeAsync` once it is answered
 * (or a response to it failed). Entries expire with the pending sign-in.
 */
export function mongoCacheProvider(tenantId: string): CacheProvider {
  return {
    async saveAsync(key: string, value: string): Promise<CacheItem | null> {
      const createdAt = new Date();
      // An upsert keeps a retried save harmless; node-saml never saves the same id twice.
      await FederationRequestCache.updateOne(
        { tenantId, key },
        { $set: { value, createdAt, expiresAt: new Date(createdAt.getTime() + FEDERATION_PENDING_TTL_MS) } },
        { upsert: true },
      ).setOptions({ includeExpired: true });
      return { value, createdAt: createdAt.getTime() };
    },
    async getAsync(key: string): Promise<string | null> {
      if (typeof key !== 'string' || key.length === 0 || key.length > 256) return null;
      const hit = await FederationRequestCache.findOne({ tenantId, key }).lean<{ value: string }>();
      return hit?.value ?? null;
    },
    async removeAsync(key: string | null): Promise<string | null> {
      if (typeof key !== 'string' || key.length === 0 || key.length > 256) return null;
      const gone = await FederationRequestCache.findOneAndDelete({ tenantId, key }).lean<{ value: string }>();
      return gone?.value ?? null;
    },
  };
}

export interface SpDeps {
  config: { baseUrl: string };
  keyring: Keyring;
  stamps: ChangeStamps;
}

type IdpForSp = Pick<
  ExternalIdpRecord,
  'idpIssuerUrl' | 'idpSigninUrl' | 'protocolBinding' | 'requestSigningEnabled' | 'signRequestAlgorithm' | 'idpCertificates'
>;

function nodeSamlAlgorithm(a: string | null | undefined): 'sha256' | 'sha512' {
  return a === 'RSA_SHA512' ? 'sha512' : 'sha256';
}

/** The node-saml SP of a tenant for its external IdP record (the brief's configuration, item 1). */
export async function buildSp(
  tenant: { tenantId: string; accountId: number },
  idp: IdpForSp,
  deps: SpDeps,
  generateUniqueId?: () => string,
): Promise<SAML> {
  const urls = federationSpUrls(deps.config.baseUrl, tenant.tenantId);
  const options: SamlConfig = {
    issuer: urls.entityId,
    callbackUrl: urls.acsUrl,
    entryPoint: idp.idpSigninUrl,
    idpCert: idp.idpCertificates.map((c) => c.certificatePem),
    idpIssuer: idp.idpIssuerUrl,
    audience: urls.entityId,
    // The assertion must carry its own valid signature (node-saml checks it even inside a signed
    // response: security-bar case 14); a signature over the whole response is verified when
    // present but not required (Okta, Entra ID and Gatehouse sign the assertion by default).
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    signatureAlgorithm: nodeSamlAlgorithm(idp.signRequestAlgorithm),
    digestAlgorithm: nodeSamlAlgorithm(idp.signRequestAlgorithm),
    acceptedClockSkewMs: ACCEPTED_CLOCK_SKEW_MS,
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: FEDERATION_PENDING_TTL_MS,
    cacheProvider: mongoCacheProvider(tenant.tenantId),
    disableRequestedAuthnContext: true,
    identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    authnRequestBinding: idp.protocolBinding === 'HTTP_POST' ? 'HTTP-POST' : 'HTTP-Redirect',
    // HTTP-POST carries the XML base64-encoded, not deflated (SAML Bindings §3.5.4).
    skipRequestCompression: idp.protocolBinding === 'HTTP_POST',
    // No decryption key: encrypted assertions are refused before node-saml sees them.
  };
  if (generateUniqueId) options.generateUniqueId = generateUniqueId;
  if (idp.requestSigningEnabled) {
    const keys = await getTenantSigningKeys(tenant.tenantId, tenant.accountId, deps.keyring, deps.stamps);
    options.privateKey = keys.current.privateKeyPem;
    options.publicCert = keys.current.certPem;
  }
  return new SAML(options);
}

function elementsNS(root: Document | Element, ns: string, local: string): Element[] {
  const list = root.getElementsByTagNameNS(ns, local);
  const out: Element[] = [];
  for (let i = 0; i < list.length; i += 1) {
    const e = list.item(i);
    if (e) out.push(e);
  }
  return out;
}

function childElements(parent: Element, ns: string, local: string): Element[] {
  const out: Element[] = [];
  for (let n = parent.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === 1 && (n as Element).namespaceURI === ns && (n as Element).localName === local) out.push(n as Element);
  }
  return out;
}

/**
 * Checks of the decoded Response XML before node-saml sees it (the list in the module comment).
 * `minSignatureBits` is 256 or 512 (the record's `signResponseAlgorithm`).
 */
export async function inspectResponse(xml: string, expected: { acsUrl: string; idpIssuer: string; minSignatureBits: number }): Promise<void> {
  let doc: Document;
  try {
    doc = parseHardened(xml);
  } catch (err) {
    throw new FederationRejection('malformed', err instanceof Error ? err.message : 'not well-formed XML');
  }
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.protocol || root.localName !== 'Response') throw new FederationRejection('malformed', 'the message is not a SAML Response');
  // Before the schema: an encrypted response is refused for what it is, whatever else it holds,
  // and nothing of it is decrypted (so a tampered ciphertext and a tampered plaintext get the
  // same answer: case 22).
  for (const local of ['EncryptedAssertion', 'EncryptedID', 'EncryptedAttribute']) {
    if (elementsNS(doc, NS.assertion, local).length > 0) throw new FederationRejection('encrypted', `${local} is not accepted: this SP takes no encrypted assertions`);
  }
  if (elementsNS(doc, NS.xenc, 'EncryptedData').length > 0) throw new FederationRejection('encrypted', 'encrypted content is not accepted');
  try {
    await validateSamlSchema(xml, 'protocol');
  } catch (err) {
    throw new FederationRejection('malformed', err instanceof Error ? err.message : 'not a valid SAML message');
  }

  const assertions = elementsNS(doc, NS.assertion, 'Assertion');
  const assertion = assertions[0];
  if (assertions.length !== 1 || !assertion || assertion.parentNode !== root) {
    throw new FederationRejection('signatureWrapping', `expected exactly one Assertion, a child of the Response; found ${assertions.length}`);
  }

  // Every ID in the document, once: a reference must not be able to pick between two elements.
  const ids = new Set<string>();
  for (const e of elementsNS(doc, '*', '*')) {
    const id = e.getAttribute('ID');
    if (id === null || id === '') continue;
    if (ids.has(id)) throw new FederationRejection('signatureWrapping', 'duplicate ID attributes');
    ids.add(id);
  }

  const signatures = elementsNS(doc, NS.dsig, 'Signature');
  if (signatures.length === 0) throw new FederationRejection('invalidResponse', 'neither the Response nor the Assertion is signed');
  for (const sig of signatures) {
    const parent = sig.parentNode as Element | null;
    if (parent !== root && parent !== assertion) throw new FederationRejection('signatureWrapping', 'a Signature outside the Response and its Assertion');
    const signedInfos = childElements(sig, NS.dsig, 'SignedInfo');
    const signedInfo = signedInfos[0];
    if (signedInfos.length !== 1 || !signedInfo) throw new FederationRejection('signatureWrapping', 'a Signature must have exactly one SignedInfo');
    const references = childElements(signedInfo, NS.dsig, 'Reference');
    const reference = references[0];
    if (references.length !== 1 || !reference || reference.getAttribute('URI') !== `#${parent.getAttribute('ID') ?? ''}`) {
      throw new FederationRejection('signatureWrapping', 'a Signature must reference exactly its parent element');
    }
  }
  for (const m of elementsNS(doc, NS.dsig, 'SignatureMethod')) {
    const bits = SIGNATURE_ALGORITHMS[m.getAttribute('Algorithm') ?? ''];
    if (bits === undefined) throw new FederationRejection('weakAlgorithm', `signature algorithm ${(m.getAttribute('Algorithm') ?? '').slice(0, 100)} is not accepted (RSA-SHA256/512 only)`);
    if (bits < expected.minSignatureBits) throw new FederationRejection('weakAlgorithm', `signature algorithm weaker than the configured RSA-SHA${expected.minSignatureBits}`);
  }
  for (const m of elementsNS(doc, NS.dsig, 'DigestMethod')) {
    if (!DIGEST_ALGORITHMS.has(m.getAttribute('Algorithm') ?? '')) throw new FederationRejection('weakAlgorithm', `digest algorithm ${(m.getAttribute('Algorithm') ?? '').slice(0, 100)} is not accepted (SHA-256/512 only)`);
  }
  for (const local of ['CanonicalizationMethod', 'Transform']) {
    for (const m of elementsNS(doc, NS.dsig, local)) {
      if (!CANONICALIZATIONS.has(m.getAttribute('Algorithm') ?? '')) throw new FederationRejection('signatureWrapping', `${local} ${(m.getAttribute('Algorithm') ?? '').slice(0, 100)} is not accepted`);
    }
  }

  if (root.getAttribute('Destination') !== expected.acsUrl) throw new FederationRejection('wrongDestination', 'the Response Destination is not this tenant\'s ACS URL');
  // The Response's Issuer is optional (SAML core §3.2.2) but, when present, must be the IdP.
  const responseIssuers = childElements(root, NS.assertion, 'Issuer');
  if (responseIssuers.length > 1 || (responseIssuers[0] && responseIssuers[0].textContent !== expected.idpIssuer)) {
    throw new FederationRejection('wrongIssuer', 'the Response Issuer is not the configured IdP');
  }
}

export interface VerifiedAssertion {
  nameId: string;
  assertionId: string;
  issuer: string;
  inResponseTo: string;
  mfa: boolean;
  /** Attribute name → values (strings), as node-saml read them from the signed assertion. */
  attributes: Map<string, string[]>;
}

/**
 * What Gatehouse takes from node-saml's verified profile. Everything read here comes from the
 * signed assertion (`getAssertionXml()` is the signed reference's content), never from the
 * unverified document.
 */
export function readVerifiedProfile(profile: Profile, expected: { acsUrl: string; idpIssuer: string }): VerifiedAssertion {
  const assertionXml = profile.getAssertionXml?.();
  if (!assertionXml) throw new FederationRejection('invalidResponse', 'no signed assertion');
  const doc = parseHardened(assertionXml);
  const assertion = doc.documentElement;
  if (assertion.namespaceURI !== NS.assertion || assertion.localName !== 'Assertion') throw new FederationRejection('invalidResponse', 'the signed content is not an Assertion');
  // node-saml 5.1 checks the issuer of logout messages only, not of assertions: checked here.
  const issuers = childElements(assertion, NS.assertion, 'Issuer');
  if (issuers.length !== 1 || issuers[0]!.textContent !== expected.idpIssuer) throw new FederationRejection('wrongIssuer', 'the Assertion Issuer is not the configured IdP');
  const assertionId = assertion.getAttribute('ID') ?? '';
  if (!assertionId) throw new FederationRejection('invalidResponse', 'the assertion has no ID');
  const confirmations = elementsNS(doc, NS.assertion, 'SubjectConfirmationData');
  if (confirmations.length === 0 || confirmations.some((c) => c.getAttribute('Recipient') !== expected.acsUrl)) {
    throw new FederationRejection('wrongRecipient', 'the SubjectConfirmationData Recipient is not this tenant\'s ACS URL');
  }
  if (!NAMEID_FORMATS.has(profile.nameIDFormat)) throw new FederationRejection('nameIdFormat', `NameID format ${String(profile.nameIDFormat).slice(0, 100)} is not emailAddress or unspecified`);
  const nameIds = elementsNS(doc, NS.assertion, 'NameID');
  const nameId = nameIds[0]?.textContent ?? '';
  // node-saml's profile and the signed XML must agree (one text node: comments are refused).
  if (nameIds.length !== 1 || nameId !== profile.nameID || !nameId) throw new FederationRejection('invalidResponse', 'the NameID is missing or ambiguous');
  const inResponseTo = typeof profile.inResponseTo === 'string' ? profile.inResponseTo : '';
  const classes = elementsNS(doc, NS.assertion, 'AuthnContextClassRef').map((c) => (c.textContent ?? '').trim());
  const attributes = new Map<string, string[]>();
  for (const attr of elementsNS(doc, NS.assertion, 'Attribute')) {
    const name = attr.getAttribute('Name');
    if (!name) continue;
    const values = childElements(attr, NS.assertion, 'AttributeValue').map((v) => v.textContent ?? '');
    attributes.set(name, [...(attributes.get(name) ?? []), ...values]);
  }
  return {
    nameId,
    assertionId,
    issuer: expected.idpIssuer,
    inResponseTo,
    mfa: classes.length > 0 && classes.every((c) => MFA_CONTEXT_CLASSES.has(c)),
    attributes,
  };
}
