/**
 * Input of the external IdP admin API (reference/ncloud-model.md §1 "External IdP": issuer,
 * sign-in and sign-out URLs ≤1,000 characters, `protocolBinding`, request signing and its
 * algorithm, 1-2 IdP certificates; security-bar cases 13-22). Everything is checked here, at the
 * edge, so a refused request is a 400 VALIDATION_FAILED naming the field and writes nothing.
 *
 * Where Gatehouse is stricter than Ncloud:
 * - URLs: https only (plain http only for loopback hosts, for local test IdPs), no user
 *   information, no fragment, no wildcard (src/sso/applications/application-uris.ts, the rule the
 *   SAML applications' endpoints follow; it also refuses `javascript:` and every other scheme).
 *   The issuer is an entity ID: SAML core §8.3.6 allows any URI, and real IdPs use `urn:` ones
 *   (ADFS, some Shibboleth deployments), so a `urn:` issuer is accepted as well.
 * - RSA_SHA1 is refused with a message naming SHA-1 (security-bar case 21), although Ncloud's API
 *   lists it.
 * - Certificates: a parsable X.509 certificate (@peculiar/x509), RSA ≥2048 bits or EC P-256/P-384,
 *   not expired (src/sso/applications/sp-certificates.ts, shared with SAML applications).
 */
import { createHash } from 'node:crypto';
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { webUriProblem } from '../sso/applications/application-uris.js';
import { checkSpCertificate } from '../sso/applications/sp-certificates.js';
import { notificationSettingBody } from '../sso/certificates/certificate.schemas.js';
import { EXTERNAL_IDP_BINDINGS, EXTERNAL_IDP_SIGNATURE_ALGORITHMS, EXTERNAL_IDP_STATUSES, MAX_IDP_CERTIFICATES, MAX_IDP_URL_LENGTH } from './external-idp.model.js';

/** Why `value` is not an acceptable IdP endpoint URL, or null. */
export function idpUrlProblem(value: string): string | null {
  if (value.length > MAX_IDP_URL_LENGTH) return `must be at most ${MAX_IDP_URL_LENGTH} characters`;
  return webUriProblem(value);
}

/** Why `value` is not an acceptable IdP entity ID (an https URL as above, or a `urn:`), or null. */
export function issuerProblem(value: string): string | null {
  if (value.length > MAX_IDP_URL_LENGTH) return `must be at most ${MAX_IDP_URL_LENGTH} characters`;
  if (/^urn:[a-z0-9][a-z0-9-]{0,31}:\S+$/i.test(value)) return null;
  return webUriProblem(value);
}

const idpUrl = z.string().superRefine((v, ctx) => {
  const problem = idpUrlProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const issuer = z.string().superRefine((v, ctx) => {
  const problem = issuerProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** RSA_SHA256 | RSA_SHA512; RSA_SHA1 gets its own message (security-bar case 21). */
const signatureAlgorithm = z.string().superRefine((v, ctx) => {
  if (/sha-?1$/i.test(v)) ctx.addIssue({ code: 'custom', message: 'SHA-1 is refused (collision attacks make SHA-1 signatures forgeable): use RSA_SHA256 or RSA_SHA512' });
  else if (!(EXTERNAL_IDP_SIGNATURE_ALGORITHMS as readonly string[]).includes(v)) ctx.addIssue({ code: 'custom', message: `must be one of ${EXTERNAL_IDP_SIGNATURE_ALGORITHMS.join(', ')}` });
}) as unknown as z.ZodType<(typeof EXTERNAL_IDP_SIGNATURE_ALGORITHMS)[number]>;

/** A certificate as the API takes it, parsed: the stored fields of the model's idpCertificates entry (less the id and time added). */
export interface ParsedIdpCertificate {
  certificatePem: string;
  subject: string;
  sha256Fingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

/** Parses and checks one IdP certificate (PEM, or the bare base64 DER of metadata), or returns why not. */
export function parseIdpCertificate(text: string, now = new Date()): { ok: true; cert: ParsedIdpCertificate } | { ok: false; message: string } {
  const checked = checkSpCertificate(text, now);
  if (!checked.ok) return checked;
  const parsed = new X509Certificate(checked.pem);
  return {
    ok: true,
    cert: {
      certificatePem: checked.pem,
      subject: parsed.subject,
      sha256Fingerprint: createHash('sha256').update(parsed.raw).digest('hex'),
      notBefore: new Date(parsed.validFrom),
      notAfter: new Date(parsed.validTo),
    },
  };
}

const certificatePem = z
  .string()
  .min(1, 'must be a PEM certificate')
  .transform((text, ctx) => {
    const r = parseIdpCertificate(text);
    if (!r.ok) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r.cert;
  });

const certificateList = z
  .array(certificatePem)
  .min(1, `at least one IdP signing certificate is required`)
  .max(MAX_IDP_CERTIFICATES, `at most ${MAX_IDP_CERTIFICATES} IdP certificates (the current one and the next one during the IdP's rollover)`)
  .superRefine((list, ctx) => {
    const seen = new Set<string>();
    list.forEach((c, i) => {
      if (seen.has(c.sha256Fingerprint)) ctx.addIssue({ code: 'custom', path: [i], message: 'the same certificate is listed twice' });
      seen.add(c.sha256Fingerprint);
    });
  });

/** The editable settings (create and PUT). */
const settingsShape = {
  idpIssuerUrl: issuer,
  idpSigninUrl: idpUrl,
  idpSignoutUrl: idpUrl.nullable().default(null),
  protocolBinding: z.enum(EXTERNAL_IDP_BINDINGS).default('HTTP_POST'),
  requestSigningEnabled: z.boolean().default(false),
  signRequestAlgorithm: signatureAlgorithm.default('RSA_SHA256'),
  signResponseAlgorithm: signatureAlgorithm.default('RSA_SHA256'),
};

export const createExternalIdpBody = z
  .object({
    ...settingsShape,
    status: z.enum(EXTERNAL_IDP_STATUSES).default('ENABLED'),
    idpCertificates: certificateList,
  })
  .strict();
export type CreateExternalIdpInput = z.infer<typeof createExternalIdpBody>;

/** PUT replaces the settings; certificates and status have their own routes (and actions). */
export const updateExternalIdpBody = z.object(settingsShape).strict();
export type UpdateExternalIdpInput = z.infer<typeof updateExternalIdpBody>;

export const externalIdpStatusBody = z.object({ status: z.enum(EXTERNAL_IDP_STATUSES) }).strict();

/** Metadata documents are bounded well below the 1 MiB JSON body limit (real IdP metadata is a few KiB; Entra's is ~20 KiB). */
export const IDP_METADATA_MAX_BYTES = 256 * 1024;

export const parseMetadataBody = z
  .object({
    metadataXml: z.string().min(1, 'must be the IdP metadata XML').max(IDP_METADATA_MAX_BYTES, `must be at most ${IDP_METADATA_MAX_BYTES} characters`),
    /** The binding to read SingleSignOnService for; without it HTTP_POST is preferred, else HTTP_REDIRECT. */
    protocolBinding: z.enum(EXTERNAL_IDP_BINDINGS).optional(),
  })
  .strict();
export type ParseMetadataInput = z.infer<typeof parseMetadataBody>;

export const addIdpCertificateBody = z.object({ certificatePem }).strict();
export type AddIdpCertificateInput = z.infer<typeof addIdpCertificateBody>;

export const idpCertificateIdParams = z.object({ certificateId: z.uuid('must be a certificate id') }).strict();

/** Same shape and rules as the SP certificates' setting (≤20 recipients, 1-10 lead days of 1-365). */
export const idpNotificationSettingBody = notificationSettingBody;
