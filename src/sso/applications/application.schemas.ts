/**
 * Input of the applications API (reference/ncloud-model.md §1 "Application"; issues 8 and 9).
 *
 * Two layers, because an update (and a SAML create from metadata) merges what is given over what
 * is stored before the rules that tie fields together can be judged:
 * - request schemas (`createApplicationBody`, `updateApplicationBody`): each field's own shape,
 *   every field optional in the protocol sub-documents and without defaults;
 * - settings schemas (`oidcSettingsSchema`, `samlSettingsSchema`, `consentPageSchema`): the merged,
 *   complete settings with the cross-field rules (confidential ⇔ secret methods, PKJWT needs a
 *   JWKS, encryption needs a certificate, exactly one default ACS, …). The service runs them and
 *   reports their errors under `body.oidc.…` / `body.saml.…` / `body.consentPage.…`.
 */
import { z } from 'zod';
import { ssoIdSchema, ssoPageQuery, ssoTagKeySchema, ssoTagsSchema } from '../shared/schemas.js';
import { checkClientJwks } from './client-jwks.js';
import { webUriProblem } from './application-uris.js';
import { checkSpCertificate } from './sp-certificates.js';
import { METADATA_MAX_BYTES } from './sp-metadata.js';

// ---- common ----

export const APPLICATION_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** Ncloud: 2-100, starts with a letter, letters/digits/_ . -; unique per tenant case-sensitively. Never trimmed. */
export const applicationNameSchema = z
  .string()
  .min(2, 'must be at least 2 characters')
  .max(100, 'must be at most 100 characters')
  .regex(APPLICATION_NAME_PATTERN, 'must start with a letter and contain only letters, digits, _ . and -');

const webUri = (rules: Parameters<typeof webUriProblem>[1] = {}) =>
  z.string().superRefine((v, ctx) => {
    const problem = webUriProblem(v, rules);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** `applicationUrl`: where the application lives (the portal links to it); empty allowed. */
const applicationUrlSchema = z.string().superRefine((v, ctx) => {
  if (v === '') return;
  const problem = webUriProblem(v);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

// ---- consent page (Ncloud consentPage) ----

export const CONSENT_PAGE_LANGUAGES = ['ko', 'en', 'ja'] as const;
const language = z.enum(CONSENT_PAGE_LANGUAGES);
const localizedPatch = (max: number) =>
  z
    .object({
      ko: z.string().max(max, `must be at most ${max} characters`).optional(),
      en: z.string().max(max, `must be at most ${max} characters`).optional(),
      ja: z.string().max(max, `must be at most ${max} characters`).optional(),
    })
    .strict();

export const consentPagePatch = z
  .object({
    enabled: z.boolean().optional(),
    applicationName: localizedPatch(100).optional(),
    useLanguages: z.array(language).min(1, 'at least one language').max(3).optional(),
    defaultLanguage: language.optional(),
    usePurposeDesc: z.boolean().optional(),
    purposeDesc: localizedPatch(1000).optional(),
    usePeriodDesc: z.boolean().optional(),
    periodDesc: localizedPatch(1000).optional(),
    dataTransferAbroad: z.boolean().optional(),
    dataTransferCountry: z.string().max(100, 'must be at most 100 characters').optional(),
    dataRecipients: z.string().max(500, 'must be at most 500 characters').optional(),
    dataRecipientsContact: z.string().max(200, 'must be at most 200 characters').optional(),
  })
  .strict();
export type ConsentPagePatch = z.infer<typeof consentPagePatch>;

const localized = z.object({ ko: z.string(), en: z.string(), ja: z.string() });

/** The complete consent page after merging: the rules between its fields. */
export const consentPageSchema = z
  .object({
    enabled: z.boolean(),
    applicationName: localized,
    useLanguages: z.array(language),
    defaultLanguage: language,
    usePurposeDesc: z.boolean(),
    purposeDesc: localized,
    usePeriodDesc: z.boolean(),
    periodDesc: localized,
    dataTransferAbroad: z.boolean(),
    dataTransferCountry: z.string(),
    dataRecipients: z.string(),
    dataRecipientsContact: z.string(),
  })
  .superRefine((p, ctx) => {
    if (new Set(p.useLanguages).size !== p.useLanguages.length) ctx.addIssue({ code: 'custom', path: ['useLanguages'], message: 'each language once' });
    if (!p.useLanguages.includes(p.defaultLanguage)) ctx.addIssue({ code: 'custom', path: ['defaultLanguage'], message: 'must be one of useLanguages' });
    if (p.usePurposeDesc && !p.purposeDesc[p.defaultLanguage]) ctx.addIssue({ code: 'custom', path: ['purposeDesc', p.defaultLanguage], message: 'is required in the default language when usePurposeDesc is on' });
    if (p.usePeriodDesc && !p.periodDesc[p.defaultLanguage]) ctx.addIssue({ code: 'custom', path: ['periodDesc', p.defaultLanguage], message: 'is required in the default language when usePeriodDesc is on' });
    // Transfer abroad must say where and to whom (what the page must show under Korea's PIPA §28-8).
    if (p.dataTransferAbroad && !p.dataTransferCountry) ctx.addIssue({ code: 'custom', path: ['dataTransferCountry'], message: 'is required when dataTransferAbroad is on' });
    if (p.dataTransferAbroad && !p.dataRecipients) ctx.addIssue({ code: 'custom', path: ['dataRecipients'], message: 'is required when dataTransferAbroad is on' });
  });
export type ConsentPageSettings = z.infer<typeof consentPageSchema>;

// ---- OIDC ----

export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'] as const;
export const SECRET_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'] as const;
export const OIDC_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'groups', 'roles', 'offline_access'] as const;
/** Token lifetimes in seconds (issue 8): access 5 min-24 h, refresh 1 h-365 days. */
export const ACCESS_TOKEN_VALIDITY = { min: 300, max: 86_400, default: 3600 } as const;
export const REFRESH_TOKEN_VALIDITY = { min: 3600, max: 31_536_000, default: 14 * 86_400 } as const;
export const REDIRECT_URIS_MAX = 50;

const redirectUriList = z.array(webUri()).max(REDIRECT_URIS_MAX, `at most ${REDIRECT_URIS_MAX} URIs`);

export const oidcSettingsPatch = z
  .object({
    redirectUris: redirectUriList.optional(),
    postLogoutRedirectUris: redirectUriList.optional(),
    clientAuthMethod: z.enum(CLIENT_AUTH_METHODS).optional(),
    /** Ncloud's field; derived from clientAuthMethod, checked when given. */
    accessType: z.enum(['confidential', 'public']).optional(),
    grantTypes: z.array(z.string().max(100)).max(10).optional(),
    scopes: z.array(z.string().max(100)).max(20).optional(),
    accessTokenValidity: z.number().int().min(ACCESS_TOKEN_VALIDITY.min).max(ACCESS_TOKEN_VALIDITY.max).optional(),
    refreshTokenValidity: z.number().int().min(REFRESH_TOKEN_VALIDITY.min).max(REFRESH_TOKEN_VALIDITY.max).optional(),
    jwks: z.string().max(65_536).nullable().optional(),
    backchannelLogoutUri: webUri().nullable().optional(),
    /** OIDC Core §4: MUST use https (oidc-provider refuses anything else). */
    initiateLoginUri: webUri({ loopbackHttp: false }).nullable().optional(),
  })
  .strict();
export type OidcSettingsPatch = z.infer<typeof oidcSettingsPatch>;

export const oidcSettingsSchema = z
  .object({
    redirectUris: z.array(z.string()),
    postLogoutRedirectUris: z.array(z.string()),
    clientAuthMethod: z.enum(CLIENT_AUTH_METHODS, { message: `is required: one of ${CLIENT_AUTH_METHODS.join(', ')}` }),
    accessType: z.enum(['confidential', 'public']).optional(),
    grantTypes: z.array(z.string()),
    scopes: z.array(z.string()),
    accessTokenValidity: z.number().int(),
    refreshTokenValidity: z.number().int(),
    jwks: z.string().nullable(),
    backchannelLogoutUri: z.string().nullable(),
    initiateLoginUri: z.string().nullable(),
  })
  .superRefine((o, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const confidential = o.clientAuthMethod !== 'none';
    if (o.accessType !== undefined && o.accessType !== (confidential ? 'confidential' : 'public')) {
      issue(['accessType'], `a ${o.accessType} client uses ${o.accessType === 'public' ? 'clientAuthMethod none' : 'client_secret_basic, client_secret_post or private_key_jwt'}; ${o.clientAuthMethod} makes it ${confidential ? 'confidential' : 'public'}`);
    }
    if (o.redirectUris.length === 0 && o.grantTypes.includes('authorization_code')) issue(['redirectUris'], `at least one redirect URI is required (1-${REDIRECT_URIS_MAX})`);
    for (const [key, list] of [
      ['redirectUris', o.redirectUris],
      ['postLogoutRedirectUris', o.postLogoutRedirectUris],
    ] as const) {
      list.forEach((u, i) => {
        if (list.indexOf(u) !== i) issue([key, i], 'appears more than once');
      });
    }
    if (o.grantTypes.length === 0) issue(['grantTypes'], 'at least one grant type');
    o.grantTypes.forEach((g, i) => {
      if (g === 'implicit') issue(['grantTypes', i], 'implicit is not offered: the implicit grant exposes tokens in the front channel; use authorization_code with PKCE (RFC 9700 §2.1.2)');
      else if (g === 'password') issue(['grantTypes', i], 'password is not offered: the resource owner password credentials grant must not be used (RFC 9700 §2.4)');
      else if (!(OIDC_GRANT_TYPES as readonly string[]).includes(g)) issue(['grantTypes', i], `must be one of ${OIDC_GRANT_TYPES.join(', ')}`);
      else if (o.grantTypes.indexOf(g) !== i) issue(['grantTypes', i], 'appears more than once');
    });
    if (o.grantTypes.includes('client_credentials') && !confidential) issue(['grantTypes'], 'client_credentials needs a confidential client (a public client cannot authenticate)');
    if (o.grantTypes.includes('refresh_token') && !o.grantTypes.includes('authorization_code')) issue(['grantTypes'], 'refresh_token needs authorization_code (refresh tokens come from an authorization)');
    o.scopes.forEach((s, i) => {
      if (!(OIDC_SCOPES as readonly string[]).includes(s)) issue(['scopes', i], `must be one of ${OIDC_SCOPES.join(', ')}`);
      else if (o.scopes.indexOf(s) !== i) issue(['scopes', i], 'appears more than once');
    });
    if (o.clientAuthMethod === 'private_key_jwt') {
      if (!o.jwks) issue(['jwks'], 'is required for private_key_jwt: the public keys client assertions are verified with');
      else {
        const checked = checkClientJwks(o.jwks);
        if (!checked.ok) issue(['jwks'], checked.message);
      }
    } else if (o.jwks) {
      issue(['jwks'], 'is used only with clientAuthMethod private_key_jwt');
    }
  });
export type OidcSettings = z.infer<typeof oidcSettingsSchema>;

// ---- SAML ----

export const SAML_BINDINGS = ['HTTP-POST', 'HTTP-Redirect'] as const;
export const NAME_ID_FORMATS = ['emailAddress', 'persistent', 'transient', 'unspecified'] as const;
export const NAME_ID_SOURCES = ['loginId', 'email', 'userId', 'empNo'] as const;
export const ATTRIBUTE_SOURCES = ['profile', 'groups', 'roles', 'constant'] as const;
/** Profile fields an attribute may release (user.model.ts userProfile, plus the ids). */
export const PROFILE_FIELDS = ['loginId', 'userId', 'email', 'firstName', 'lastName', 'displayName', 'empNo', 'deptName', 'phoneNo'] as const;
export const ATTRIBUTE_NAME_FORMATS = [
  'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
  'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
  'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified',
] as const;
export const ACS_ENDPOINTS_MAX = 20;
export const SAML_ATTRIBUTES_MAX = 50;
export const SP_SIGNING_CERTIFICATES_MAX = 4;
export const RELAY_STATE_MAX = 240;

const acsEndpointInput = z
  .object({
    binding: z.enum(SAML_BINDINGS).optional(),
    location: webUri(),
    index: z.number().int().min(0).max(65_535).optional(),
    isDefault: z.boolean().optional(),
  })
  .strict();

const certificateInput = z
  .string()
  .max(16_384)
  .superRefine((v, ctx) => {
    const checked = checkSpCertificate(v);
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.message });
  });

const samlAttributeInput = z
  .object({
    name: z.string().min(1).max(256),
    nameFormat: z.enum(ATTRIBUTE_NAME_FORMATS).optional(),
    friendlyName: z.string().max(256).optional(),
    source: z.enum(ATTRIBUTE_SOURCES),
    value: z.string().max(1024).optional(),
  })
  .strict();

/** AWS's RelayState rule (≤240) and what an SP can be sent to: a path on the SP or an https URL. */
const relayStateInput = z
  .string()
  .max(RELAY_STATE_MAX, `must be at most ${RELAY_STATE_MAX} characters`)
  .superRefine((v, ctx) => {
    if (v === '') return;
    if (v.startsWith('/') && !v.startsWith('//') && !/[\s\\]/.test(v)) return;
    const problem = webUriProblem(v, { loopbackHttp: false });
    if (problem) ctx.addIssue({ code: 'custom', message: `must be a path (/…) or an https URL: ${problem}` });
  });

const entityIdInput = z
  .string()
  .min(1)
  .max(1024)
  .regex(/^\S+$/, 'must not contain whitespace')
  .refine((v) => /^[A-Za-z][A-Za-z0-9+.-]*:/.test(v), 'must be a URI (https://… or urn:…)');

export const samlSettingsPatch = z
  .object({
    /** SP metadata XML: fills entityId, ACS, SLO, NameID format and certificates (fields given here win). */
    metadataXml: z.string().max(METADATA_MAX_BYTES, `must be at most ${METADATA_MAX_BYTES / 1024} KB`).optional(),
    entityId: entityIdInput.optional(),
    acsEndpoints: z.array(acsEndpointInput).max(ACS_ENDPOINTS_MAX, `at most ${ACS_ENDPOINTS_MAX} endpoints`).optional(),
    sloUrl: webUri().nullable().optional(),
    sloBinding: z.enum(SAML_BINDINGS).nullable().optional(),
    nameIdFormat: z.enum(NAME_ID_FORMATS).optional(),
    nameIdSource: z.enum(NAME_ID_SOURCES).optional(),
    signWhat: z.enum(['assertion', 'response', 'both']).optional(),
    signatureAlgorithm: z.enum(['rsa-sha256', 'rsa-sha512'], { message: 'must be rsa-sha256 or rsa-sha512 (SHA-1 is never used)' }).optional(),
    encryptAssertion: z.boolean().optional(),
    encryptionCertificate: certificateInput.nullable().optional(),
    requireSignedRequests: z.boolean().optional(),
    signingCertificates: z.array(certificateInput).max(SP_SIGNING_CERTIFICATES_MAX, `at most ${SP_SIGNING_CERTIFICATES_MAX} certificates`).optional(),
    idpInitiatedAllowed: z.boolean().optional(),
    defaultRelayState: relayStateInput.optional(),
    attributes: z.array(samlAttributeInput).max(SAML_ATTRIBUTES_MAX, `at most ${SAML_ATTRIBUTES_MAX} attributes`).optional(),
    roleAttributeName: z.string().min(1).max(256).nullable().optional(),
    sessionDurationAttributeName: z.string().min(1).max(256).nullable().optional(),
  })
  .strict();
export type SamlSettingsPatch = z.infer<typeof samlSettingsPatch>;

export const samlSettingsSchema = z
  .object({
    entityId: z.string({ message: 'is required (or give metadataXml)' }).min(1, 'is required (or give metadataXml)'),
    acsEndpoints: z.array(
      z.object({ binding: z.enum(SAML_BINDINGS), location: z.string(), index: z.number().int(), isDefault: z.boolean() }),
    ),
    sloUrl: z.string().nullable(),
    sloBinding: z.enum(SAML_BINDINGS).nullable(),
    nameIdFormat: z.enum(NAME_ID_FORMATS),
    nameIdSource: z.enum(NAME_ID_SOURCES),
    signWhat: z.enum(['assertion', 'response', 'both']),
    signatureAlgorithm: z.enum(['rsa-sha256', 'rsa-sha512']),
    encryptAssertion: z.boolean(),
    encryptionCertificate: z.string().nullable(),
    requireSignedRequests: z.boolean(),
    signingCertificates: z.array(z.string()),
    idpInitiatedAllowed: z.boolean(),
    defaultRelayState: z.string(),
    attributes: z.array(
      z.object({ name: z.string(), nameFormat: z.string(), friendlyName: z.string(), source: z.enum(ATTRIBUTE_SOURCES), value: z.string() }),
    ),
    roleAttributeName: z.string().nullable(),
    sessionDurationAttributeName: z.string().nullable(),
    metadataValidUntil: z.date().nullable(),
  })
  .superRefine((s, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (s.acsEndpoints.length === 0) issue(['acsEndpoints'], `at least one assertion consumer service endpoint (1-${ACS_ENDPOINTS_MAX})`);
    const defaults = s.acsEndpoints.filter((e) => e.isDefault).length;
    if (s.acsEndpoints.length > 0 && defaults !== 1) issue(['acsEndpoints'], `exactly one endpoint must be the default (${defaults} are)`);
    s.acsEndpoints.forEach((e, i) => {
      if (s.acsEndpoints.findIndex((o) => o.index === e.index) !== i) issue(['acsEndpoints', i, 'index'], `index ${e.index} is used by another endpoint`);
    });
    if (s.sloUrl && !s.sloBinding) issue(['sloBinding'], 'is required with sloUrl');
    if (!s.sloUrl && s.sloBinding) issue(['sloUrl'], 'is required with sloBinding');
    if (s.encryptAssertion && !s.encryptionCertificate) issue(['encryptionCertificate'], 'is required when encryptAssertion is on');
    if (s.requireSignedRequests && s.signingCertificates.length === 0) issue(['signingCertificates'], 'at least one signing certificate is required when requireSignedRequests is on');
    s.signingCertificates.forEach((c, i) => {
      if (s.signingCertificates.indexOf(c) !== i) issue(['signingCertificates', i], 'appears more than once');
    });
    const names = new Set<string>();
    s.attributes.forEach((a, i) => {
      if (names.has(a.name)) issue(['attributes', i, 'name'], `attribute "${a.name}" appears more than once`);
      names.add(a.name);
      if (s.roleAttributeName && a.name === s.roleAttributeName) issue(['attributes', i, 'name'], 'is the role attribute name');
      if (a.source === 'profile' && !(PROFILE_FIELDS as readonly string[]).includes(a.value)) issue(['attributes', i, 'value'], `must name a profile field: ${PROFILE_FIELDS.join(', ')}`);
      if (a.source === 'constant' && a.value === '') issue(['attributes', i, 'value'], 'is the constant to release and must not be empty');
      if ((a.source === 'groups' || a.source === 'roles') && a.value !== '') issue(['attributes', i, 'value'], `must be empty for source ${a.source}`);
    });
  });
export type SamlSettings = z.infer<typeof samlSettingsSchema>;

// ---- requests ----

const commonFields = {
  description: z.string().max(500, 'must be at most 500 characters').optional(),
  applicationUrl: applicationUrlSchema.optional(),
  applicationType: z.enum(['WEB', 'APP']).optional(),
  memberLoginPolicy: z.enum(['ALLOW', 'DENY']).optional(),
  accessScope: z.enum(['ALL_USERS', 'ASSIGNED']).optional(),
  consentPage: consentPagePatch.optional(),
};

export const createApplicationBody = z
  .object({
    name: applicationNameSchema,
    protocol: z.enum(['OAUTH2', 'SAML']),
    ...commonFields,
    oidc: oidcSettingsPatch.optional(),
    saml: samlSettingsPatch.optional(),
    tags: ssoTagsSchema.default([]),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.protocol === 'OAUTH2' && !b.oidc) ctx.addIssue({ code: 'custom', path: ['oidc'], message: 'is required for protocol OAUTH2' });
    if (b.protocol === 'OAUTH2' && b.saml) ctx.addIssue({ code: 'custom', path: ['saml'], message: 'is only for protocol SAML' });
    if (b.protocol === 'SAML' && !b.saml) ctx.addIssue({ code: 'custom', path: ['saml'], message: 'is required for protocol SAML' });
    if (b.protocol === 'SAML' && b.oidc) ctx.addIssue({ code: 'custom', path: ['oidc'], message: 'is only for protocol OAUTH2' });
  });
export type CreateApplicationInput = z.infer<typeof createApplicationBody>;

/** Every field optional; the protocol is fixed at creation (a client is not turned into an SP). */
export const updateApplicationBody = z
  .object({
    name: applicationNameSchema.optional(),
    ...commonFields,
    oidc: oidcSettingsPatch.optional(),
    saml: samlSettingsPatch.optional(),
  })
  .strict();
export type UpdateApplicationInput = z.infer<typeof updateApplicationBody>;

export const applicationIdParams = z.object({ applicationId: ssoIdSchema }).strict();

export const listApplicationsQuery = ssoPageQuery.extend({
  /** Prefix of the name, matched case-insensitively. */
  name: z.string().max(100).optional(),
  protocol: z.enum(['OAUTH2', 'SAML']).optional(),
});
export type ListApplicationsQuery = z.infer<typeof listApplicationsQuery>;

const idList = z.array(ssoIdSchema).max(100, 'at most 100 per request');
export const principalsBody = z
  .object({ userIds: idList.default([]), groupIds: idList.default([]) })
  .strict()
  .refine((b) => b.userIds.length + b.groupIds.length > 0, { message: 'name at least one user or group', path: ['userIds'] });
export type PrincipalsInput = z.infer<typeof principalsBody>;

export const listPrincipalsQuery = ssoPageQuery.extend({ principalType: z.enum(['user', 'group']).optional() });
export type ListPrincipalsQuery = z.infer<typeof listPrincipalsQuery>;

export const tagBody = z.object({ tags: ssoTagsSchema.refine((t) => t.length > 0, 'at least one tag') }).strict();
export const untagBody = z.object({ tagKeys: z.array(ssoTagKeySchema).min(1).max(20) }).strict();
