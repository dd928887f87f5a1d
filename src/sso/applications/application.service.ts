/**
 * Applications of the caller's tenant (seed S4 "Application" actions; reference/ncloud-model.md
 * §1 "Application"; issue 8 OIDC clients, issue 9 SAML service providers).
 *
 * - The tenant always comes from the caller's account, and every query names it: an id of another
 *   account's tenant is simply not found (404).
 * - Names are unique per tenant case-sensitively, client ids and SP entity ids through
 *   `protocolKey`: both by unique indexes (application.model.ts), never check-then-insert.
 * - The OIDC client secret is 256 random bits, returned once (create, renewal, or an update that
 *   turns a public client confidential) and stored only envelope-encrypted under a context naming
 *   the application, so a ciphertext copied to another row does not decrypt.
 * - Every write is one atomic document update under the `revision` it was computed from (a lost
 *   race re-reads and retries), moves `configRevision`, and bumps the tenant's change stamp so
 *   protocol caches (OIDC providers, SAML SP registry) in every process drop their copy. Tags and
 *   assigned principals are not protocol configuration (mayUseApplication reads them at each
 *   sign-in), so they bump neither.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Keyring } from '../../db/encryption.js';
import type { ChangeStamps } from '../../iam/change-stamps.js';
import { AppError, isDuplicateKeyError, type FieldError } from '../../shared/errors.js';
import { pageOf, type Page } from '../../shared/pagination.js';
import { escapeRegex } from '../../shared/query.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { withdrawApplicationConsents } from '../consents/consent.service.js';
import { SsoGroup } from '../groups/group.model.js';
import { addTags, removeTags, type TagStore } from '../ip-acls/tag-changes.js';
import { requireTenant, ssoNrn, tenantScope } from '../tenant/tenant-context.js';
import { SsoUser } from '../users/user.model.js';
import { ApplicationPrincipal, type ApplicationPrincipalType } from './application-principal.model.js';
import {
  APPLICATION_LIMIT,
  Application,
  applicationSecretContext,
  oidcProtocolKey,
  samlProtocolKey,
  type StoredApplication,
} from './application.model.js';
import {
  ACCESS_TOKEN_VALIDITY,
  consentPageSchema,
  oidcSettingsSchema,
  REFRESH_TOKEN_VALIDITY,
  samlSettingsSchema,
  SECRET_AUTH_METHODS,
  type ConsentPagePatch,
  type ConsentPageSettings,
  type CreateApplicationInput,
  type ListApplicationsQuery,
  type ListPrincipalsQuery,
  type OidcSettings,
  type OidcSettingsPatch,
  type PrincipalsInput,
  type SamlSettings,
  type SamlSettingsPatch,
  type UpdateApplicationInput,
} from './application.schemas.js';
import { checkSpCertificate } from './sp-certificates.js';
import { parseSpMetadata } from './sp-metadata.js';
import { checkClientJwks } from './client-jwks.js';

export interface ApplicationDeps {
  keyring: Keyring;
  stamps: ChangeStamps;
}

export interface OidcView {
  clientId: string;
  accessType: 'confidential' | 'public';
  clientAuthMethod: string;
  /** Whether a client secret is set (the secret itself is never shown again). */
  hasClientSecret: boolean;
  clientSecretIssuedAt: string | null;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  grantTypes: string[];
  scopes: string[];
  accessTokenValidity: number;
  refreshTokenValidity: number;
  jwks: string | null;
  backchannelLogoutUri: string | null;
  initiateLoginUri: string | null;
}

export type SamlView = Omit<SamlSettings, 'metadataValidUntil'> & { metadataValidUntil: string | null };

export interface ApplicationView {
  applicationId: string;
  nrn: string;
  name: string;
  description: string;
  applicationUrl: string;
  applicationType: string;
  memberLoginPolicy: string;
  protocol: 'OAUTH2' | 'SAML';
  accessScope: 'ALL_USERS' | 'ASSIGNED';
  consentPage: ConsentPageSettings;
  oidc: OidcView | null;
  saml: SamlView | null;
  tags: Tag[];
  configRevision: number;
  createdAt: string;
  updatedAt: string;
}

/**
 * A create or update answer: the application, plus `clientSecret` only when this call issued one
 * (shown once, never again).
 */
export type ApplicationChange = ApplicationView & { clientSecret?: string };

export interface ClientSecretRenewal {
  applicationId: string;
  nrn: string;
  clientId: string;
  clientSecret: string;
  clientSecretIssuedAt: string;
}

const quotaKey = (tenantId: string) => `ssoApplications:${tenantId}`;
const notFound = (applicationId: string) => new AppError('NOT_FOUND', `application ${applicationId} does not exist`);
const WRITE_ATTEMPTS = 8;

// ---- defaults (where Ncloud is silent; README "Applications") ----

const CONSENT_PAGE_DEFAULTS: ConsentPageSettings = {
  enabled: true,
  applicationName: { ko: '', en: '', ja: '' },
  useLanguages: ['en'],
  defaultLanguage: 'en',
  usePurposeDesc: false,
  purposeDesc: { ko: '', en: '', ja: '' },
  usePeriodDesc: false,
  periodDesc: { ko: '', en: '', ja: '' },
  dataTransferAbroad: false,
  dataTransferCountry: '',
  dataRecipients: '',
  dataRecipientsContact: '',
};

const OIDC_DEFAULTS: Omit<OidcSettings, 'clientAuthMethod'> = {
  redirectUris: [],
  postLogoutRedirectUris: [],
  grantTypes: ['authorization_code'],
  scopes: ['openid'],
  accessTokenValidity: ACCESS_TOKEN_VALIDITY.default,
  refreshTokenValidity: REFRESH_TOKEN_VALIDITY.default,
  jwks: null,
  backchannelLogoutUri: null,
  initiateLoginUri: null,
};

const SAML_DEFAULTS: Omit<SamlSettings, 'entityId'> = {
  acsEndpoints: [],
  sloUrl: null,
  sloBinding: null,
  nameIdFormat: 'emailAddress',
  nameIdSource: 'loginId',
  signWhat: 'assertion',
  signatureAlgorithm: 'rsa-sha256',
  encryptAssertion: false,
  encryptionCertificate: null,
  requireSignedRequests: false,
  signingCertificates: [],
  idpInitiatedAllowed: false,
  defaultRelayState: '',
  attributes: [],
  roleAttributeName: 'https://gatehouse.dev/SAML/Attributes/Role',
  sessionDurationAttributeName: null,
  metadataValidUntil: null,
};

// ---- views ----

function storedConsentPage(d: StoredApplication): ConsentPageSettings {
  const p = d.consentPage;
  const loc = (l: { ko?: string | null; en?: string | null; ja?: string | null } | null | undefined) => ({ ko: l?.ko ?? '', en: l?.en ?? '', ja: l?.ja ?? '' });
  if (!p) return { ...CONSENT_PAGE_DEFAULTS };
  return {
    enabled: p.enabled ?? true,
    applicationName: loc(p.applicationName),
    useLanguages: [...(p.useLanguages ?? ['en'])] as ConsentPageSettings['useLanguages'],
    defaultLanguage: (p.defaultLanguage ?? 'en') as ConsentPageSettings['defaultLanguage'],
    usePurposeDesc: p.usePurposeDesc ?? false,
    purposeDesc: loc(p.purposeDesc),
    usePeriodDesc: p.usePeriodDesc ?? false,
    periodDesc: loc(p.periodDesc),
    dataTransferAbroad: p.dataTransferAbroad ?? false,
    dataTransferCountry: p.dataTransferCountry ?? '',
    dataRecipients: p.dataRecipients ?? '',
    dataRecipientsContact: p.dataRecipientsContact ?? '',
  };
}

type StoredOidc = NonNullable<StoredApplication['oidc']>;
type StoredSaml = NonNullable<StoredApplication['saml']>;

function storedOidc(o: StoredOidc): Omit<OidcSettings, 'accessType'> {
  return {
    redirectUris: [...o.redirectUris],
    postLogoutRedirectUris: [...o.postLogoutRedirectUris],
    clientAuthMethod: o.clientAuthMethod as OidcSettings['clientAuthMethod'],
    grantTypes: [...o.grantTypes],
    scopes: [...o.scopes],
    accessTokenValidity: o.accessTokenValiditySec,
    refreshTokenValidity: o.refreshTokenValiditySec,
    jwks: o.jwks ?? null,
    backchannelLogoutUri: o.backchannelLogoutUri ?? null,
    initiateLoginUri: o.initiateLoginUri ?? null,
  };
}

function storedSaml(s: StoredSaml): SamlSettings {
  return {
    entityId: s.entityId,
    acsEndpoints: s.acsEndpoints.map((e) => ({ binding: e.binding as 'HTTP-POST' | 'HTTP-Redirect', location: e.location, index: e.index, isDefault: e.isDefault })),
    sloUrl: s.sloUrl ?? null,
    sloBinding: (s.sloBinding ?? null) as SamlSettings['sloBinding'],
    nameIdFormat: s.nameIdFormat as SamlSettings['nameIdFormat'],
    nameIdSource: s.nameIdSource as SamlSettings['nameIdSource'],
    signWhat: s.signWhat as SamlSettings['signWhat'],
    signatureAlgorithm: s.signatureAlgorithm as SamlSettings['signatureAlgorithm'],
    encryptAssertion: s.encryptAssertion,
    encryptionCertificate: s.encryptionCertificate ?? null,
    requireSignedRequests: s.requireSignedRequests,
    signingCertificates: [...s.signingCertificates],
    idpInitiatedAllowed: s.idpInitiatedAllowed,
    defaultRelayState: s.defaultRelayState ?? '',
    attributes: s.attributes.map((a) => ({ name: a.name, nameFormat: a.nameFormat, friendlyName: a.friendlyName ?? '', source: a.source, value: a.value ?? '' })),
    roleAttributeName: s.roleAttributeName ?? null,
    sessionDurationAttributeName: s.sessionDurationAttributeName ?? null,
    metadataValidUntil: s.metadataValidUntil ?? null,
  };
}

export function toApplicationView(d: StoredApplication): ApplicationView {
  const o = d.oidc;
  const s = d.saml;
  return {
    applicationId: d.applicationId,
    nrn: ssoNrn(d.accountId, 'Application', d.applicationId),
    name: d.name,
    description: d.description ?? '',
    applicationUrl: d.applicationUrl ?? '',
    applicationType: d.applicationType,
    memberLoginPolicy: d.memberLoginPolicy,
    protocol: d.protocol,
    accessScope: d.accessScope,
    consentPage: storedConsentPage(d),
    oidc: o
      ? {
          clientId: o.clientId,
          accessType: o.accessType,
          hasClientSecret: o.clientSecretIssuedAt != null,
          clientSecretIssuedAt: o.clientSecretIssuedAt ? o.clientSecretIssuedAt.toISOString() : null,
          ...storedOidc(o),
        }
      : null,
    saml: s ? { ...storedSaml(s), metadataValidUntil: s.metadataValidUntil ? s.metadataValidUntil.toISOString() : null } : null,
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    configRevision: d.configRevision,
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}

// ---- merging and the cross-field rules ----

function defined<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function invalid(prefix: string, issues: readonly { path: PropertyKey[]; message: string }[]): AppError {
  const fieldErrors: FieldError[] = issues.map((i) => ({ field: [prefix, ...i.path.map(String)].join('.'), message: i.message }));
  return new AppError('VALIDATION_FAILED', `the ${prefix.replace(/^body\./, '')} settings are not valid`, { fieldErrors });
}

function resolveConsentPage(base: ConsentPageSettings, patch: ConsentPagePatch | undefined): ConsentPageSettings {
  const p = defined(patch ?? {});
  const merged = {
    ...base,
    ...p,
    applicationName: { ...base.applicationName, ...defined(patch?.applicationName ?? {}) },
    purposeDesc: { ...base.purposeDesc, ...defined(patch?.purposeDesc ?? {}) },
    periodDesc: { ...base.periodDesc, ...defined(patch?.periodDesc ?? {}) },
  };
  const res = consentPageSchema.safeParse(merged);
  if (!res.success) throw invalid('body.consentPage', res.error.issues);
  return res.data;
}

function resolveOidc(base: Omit<OidcSettings, 'clientAuthMethod' | 'accessType'> & { clientAuthMethod?: OidcSettings['clientAuthMethod'] }, patch: OidcSettingsPatch): OidcSettings {
  const res = oidcSettingsSchema.safeParse({ ...base, ...defined(patch) });
  if (!res.success) throw invalid('body.oidc', res.error.issues);
  const o = res.data;
  // The stored JWKS is the canonical JSON of the checked document.
  if (o.jwks) {
    const checked = checkClientJwks(o.jwks);
    if (checked.ok) o.jwks = checked.canonical;
  }
  return o;
}

function resolveSaml(base: Partial<SamlSettings>, patch: SamlSettingsPatch): SamlSettings {
  const { metadataXml, ...explicit } = patch;
  let merged: Record<string, unknown> = { ...SAML_DEFAULTS, ...base };
  if (metadataXml !== undefined) {
    const parsed = parseSpMetadata(metadataXml, 'body.saml.metadataXml');
    if (!parsed.ok) throw new AppError('VALIDATION_FAILED', 'the SP metadata is not acceptable', { fieldErrors: parsed.fieldErrors });
    const m = parsed.settings;
    merged = {
      ...merged,
      entityId: m.entityId,
      acsEndpoints: m.acsEndpoints,
      sloUrl: m.sloUrl,
      sloBinding: m.sloBinding,
      ...(m.nameIdFormat ? { nameIdFormat: m.nameIdFormat } : {}),
      signingCertificates: m.signingCertificates,
      ...(m.encryptionCertificate ? { encryptionCertificate: m.encryptionCertificate } : {}),
      requireSignedRequests: m.requireSignedRequests || merged.requireSignedRequests === true,
      metadataValidUntil: m.metadataValidUntil,
    };
  }
  merged = { ...merged, ...defined(explicit) };
  // Endpoint defaults: HTTP-POST, index = position, and (SAML metadata §2.2.3) when none is
  // marked default, the lowest index is.
  const acs = ((merged.acsEndpoints ?? []) as { binding?: string; location: string; index?: number; isDefault?: boolean }[]).map((e, i) => ({
    binding: e.binding ?? 'HTTP-POST',
    location: e.location,
    index: e.index ?? i,
    isDefault: e.isDefault ?? false,
  }));
  if (acs.length > 0 && !acs.some((e) => e.isDefault)) {
    const lowest = acs.reduce((a, b) => (b.index < a.index ? b : a));
    lowest.isDefault = true;
  }
  merged.acsEndpoints = acs;
  // Certificates are stored as normalized PEM (the field schemas have already checked them).
  const pem = (c: string) => {
    const checked = checkSpCertificate(c);
    return checked.ok ? checked.pem : c;
  };
  merged.signingCertificates = ((merged.signingCertificates ?? []) as string[]).map(pem);
  if (typeof merged.encryptionCertificate === 'string') merged.encryptionCertificate = pem(merged.encryptionCertificate);
  merged.attributes = ((merged.attributes ?? []) as { name: string; nameFormat?: string; friendlyName?: string; source: string; value?: string }[]).map((a) => ({
    name: a.name,
    nameFormat: a.nameFormat ?? 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
    friendlyName: a.friendlyName ?? '',
    source: a.source,
    value: a.value ?? '',
  }));
  const res = samlSettingsSchema.safeParse(merged);
  if (!res.success) throw invalid('body.saml', res.error.issues);
  return res.data;
}

function oidcDocument(o: OidcSettings, clientId: string, secretIssuedAt: Date | null) {
  return {
    clientId,
    clientSecretIssuedAt: secretIssuedAt,
    redirectUris: o.redirectUris,
    postLogoutRedirectUris: o.postLogoutRedirectUris,
    clientAuthMethod: o.clientAuthMethod,
    accessType: o.clientAuthMethod === 'none' ? 'public' : 'confidential',
    grantTypes: o.grantTypes,
    scopes: o.scopes,
    accessTokenValiditySec: o.accessTokenValidity,
    refreshTokenValiditySec: o.refreshTokenValidity,
    jwks: o.jwks,
    backchannelLogoutUri: o.backchannelLogoutUri,
    initiateLoginUri: o.initiateLoginUri,
  };
}

const usesSecret = (method: string) => (SECRET_AUTH_METHODS as readonly string[]).includes(method);

/** 256 random bits, URL-safe (issue 8). */
function newClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** A client id: 192 random bits, URL-safe, never reused. */
function newClientId(): string {
  return randomBytes(24).toString('base64url');
}

/** A duplicate-key error on create/update: the name, or (for SAML) the SP entity id. */
async function duplicateError(tenantId: string, applicationId: string | null, name: string, entityId: string | null): Promise<AppError> {
  const sameName = await Application.exists({ tenantId, name, ...(applicationId ? { applicationId: { $ne: applicationId } } : {}) });
  if (sameName || !entityId) {
    return new AppError('CONFLICT', `an application named "${name}" already exists (names are unique per tenant, case-sensitively)`, {
      message: 'The application name already exists.',
      fieldErrors: [{ field: 'body.name', message: 'already used by another application' }],
    });
  }
  return new AppError('CONFLICT', `another application already uses the SAML entity ID "${entityId}"`, {
    fieldErrors: [{ field: 'body.saml.entityId', message: 'already used by another application of the tenant' }],
  });
}

// ---- reads ----

export async function findApplication(tenantId: string, applicationId: string): Promise<StoredApplication | null> {
  return Application.findOne({ tenantId, applicationId }).lean<StoredApplication>();
}

/** The protocols' lookup: an OIDC client by client_id or an SP by entity ID (`oidcProtocolKey` / `samlProtocolKey`). */
export async function findApplicationByProtocolKey(tenantId: string, protocolKey: string): Promise<StoredApplication | null> {
  return Application.findOne({ tenantId, protocolKey }).lean<StoredApplication>();
}

/** The decrypted client secret of an OIDC application (for the OIDC provider's client metadata), or null. */
export async function readClientSecret(tenantId: string, applicationId: string, keyring: Keyring): Promise<string | null> {
  const d = await Application.findOne({ tenantId, applicationId }).select('+clientSecretEncrypted').lean<StoredApplication>();
  if (!d?.clientSecretEncrypted) return null;
  return keyring.decrypt(d.clientSecretEncrypted, applicationSecretContext(tenantId, applicationId));
}

async function mustFind(tenantId: string, applicationId: string): Promise<StoredApplication> {
  const d = await findApplication(tenantId, applicationId);
  if (!d) throw notFound(applicationId);
  return d;
}

export async function listApplications(accountId: number, q: ListApplicationsQuery): Promise<Page<ApplicationView>> {
  const { tenantId } = await requireTenant(accountId);
  const filter: Record<string, unknown> = { tenantId };
  // At most APPLICATION_LIMIT per tenant: a case-insensitive prefix regex is cheap enough here.
  if (q.name) filter.name = { $regex: `^${escapeRegex(q.name)}`, $options: 'i' };
  if (q.protocol) filter.protocol = q.protocol;
  return pageOf(Application.find(filter).sort({ name: 1 }).lean<StoredApplication[]>(), Application.countDocuments(filter), q, toApplicationView);
}

export async function getApplication(accountId: number, applicationId: string): Promise<ApplicationView> {
  const { tenantId } = await requireTenant(accountId);
  return toApplicationView(await mustFind(tenantId, applicationId));
}

// ---- writes ----

export async function createApplication(accountId: number, input: CreateApplicationInput, deps: ApplicationDeps): Promise<ApplicationChange> {
  const { tenantId } = await requireTenant(accountId);
  const applicationId = randomUUID();
  const consentPage = resolveConsentPage(CONSENT_PAGE_DEFAULTS, input.consentPage);
  let protocolFields: Record<string, unknown>;
  let clientSecret: string | undefined;
  let entityId: string | null = null;
  if (input.protocol === 'OAUTH2') {
    const o = resolveOidc(OIDC_DEFAULTS, input.oidc ?? {});
    const clientId = newClientId();
    const issuedAt = usesSecret(o.clientAuthMethod) ? new Date() : null;
    if (issuedAt) clientSecret = newClientSecret();
    protocolFields = {
      protocolKey: oidcProtocolKey(clientId),
      oidc: oidcDocument(o, clientId, issuedAt),
      saml: null,
      clientSecretEncrypted: clientSecret ? deps.keyring.encrypt(clientSecret, applicationSecretContext(tenantId, applicationId)) : null,
    };
  } else {
    const s = resolveSaml({}, input.saml ?? {});
    entityId = s.entityId;
    protocolFields = { protocolKey: samlProtocolKey(s.entityId), saml: s, oidc: null, clientSecretEncrypted: null };
  }
  await acquireQuota(quotaKey(tenantId), APPLICATION_LIMIT, 'applications per tenant');
  let created: StoredApplication;
  try {
    const doc = await Application.create({
      tenantId,
      accountId,
      applicationId,
      name: input.name,
      description: input.description ?? '',
      applicationUrl: input.applicationUrl ?? '',
      applicationType: input.applicationType ?? 'WEB',
      memberLoginPolicy: input.memberLoginPolicy ?? 'DENY',
      protocol: input.protocol,
      accessScope: input.accessScope ?? 'ALL_USERS',
      consentPage,
      tags: input.tags,
      ...protocolFields,
    });
    created = doc.toObject() as StoredApplication;
  } catch (err) {
    await releaseQuota(quotaKey(tenantId));
    if (isDuplicateKeyError(err)) throw await duplicateError(tenantId, null, input.name, entityId);
    throw err;
  }
  await deps.stamps.bump(tenantScope(tenantId));
  return { ...toApplicationView(created), ...(clientSecret ? { clientSecret } : {}) };
}

export async function updateApplication(accountId: number, applicationId: string, input: UpdateApplicationInput, deps: ApplicationDeps): Promise<ApplicationChange> {
  const { tenantId } = await requireTenant(accountId);
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt++) {
    const current = await mustFind(tenantId, applicationId);
    if (input.oidc && current.protocol !== 'OAUTH2') {
      throw new AppError('VALIDATION_FAILED', 'oidc settings apply to OAUTH2 applications only', { fieldErrors: [{ field: 'body.oidc', message: 'this is a SAML application' }] });
    }
    if (input.saml && current.protocol !== 'SAML') {
      throw new AppError('VALIDATION_FAILED', 'saml settings apply to SAML applications only', { fieldErrors: [{ field: 'body.saml', message: 'this is an OAUTH2 application' }] });
    }
    const set: Record<string, unknown> = {};
    for (const key of ['name', 'description', 'applicationUrl', 'applicationType', 'memberLoginPolicy', 'accessScope'] as const) {
      if (input[key] !== undefined) set[key] = input[key];
    }
    if (input.consentPage) set.consentPage = resolveConsentPage(storedConsentPage(current), input.consentPage);
    let clientSecret: string | undefined;
    let entityId: string | null = null;
    if (input.oidc && current.oidc) {
      const o = resolveOidc(storedOidc(current.oidc), input.oidc);
      let issuedAt = current.oidc.clientSecretIssuedAt ?? null;
      if (usesSecret(o.clientAuthMethod) && !issuedAt) {
        // Public → confidential: the client needs a secret now; shown once in this answer.
        clientSecret = newClientSecret();
        issuedAt = new Date();
        set.clientSecretEncrypted = deps.keyring.encrypt(clientSecret, applicationSecretContext(tenantId, applicationId));
      } else if (!usesSecret(o.clientAuthMethod) && issuedAt) {
        // A client that no longer authenticates with a secret must not keep a usable one.
        issuedAt = null;
        set.clientSecretEncrypted = null;
      }
      set.oidc = oidcDocument(o, current.oidc.clientId, issuedAt);
    }
    if (input.saml && current.saml) {
      const s = resolveSaml(storedSaml(current.saml), input.saml);
      entityId = s.entityId;
      set.saml = s;
      set.protocolKey = samlProtocolKey(s.entityId);
    }
    let written: StoredApplication | null;
    try {
      written = await Application.findOneAndUpdate(
        { tenantId, applicationId, revision: current.revision },
        { $set: set, $inc: { revision: 1, configRevision: 1 } },
        { returnDocument: 'after' },
      ).lean<StoredApplication>();
    } catch (err) {
      if (isDuplicateKeyError(err)) throw await duplicateError(tenantId, applicationId, input.name ?? current.name, entityId);
      throw err;
    }
    if (!written) continue;
    await deps.stamps.bump(tenantScope(tenantId));
    return { ...toApplicationView(written), ...(clientSecret ? { clientSecret } : {}) };
  }
  throw new AppError('CONFLICT', 'the application was changed concurrently; try again');
}

/**
 * `renewalClientSecret` (Ncloud R3): a new secret replaces the old one at once (the old one stops
 * working as soon as the protocol cache drops, which the stamp bump triggers). Only for clients
 * that authenticate with a secret.
 */
export async function renewClientSecret(accountId: number, applicationId: string, deps: ApplicationDeps): Promise<ClientSecretRenewal> {
  const { tenantId } = await requireTenant(accountId);
  const current = await mustFind(tenantId, applicationId);
  if (!current.oidc || !usesSecret(current.oidc.clientAuthMethod)) {
    throw new AppError('BAD_REQUEST', `application ${current.name} does not authenticate with a client secret (clientAuthMethod ${current.oidc?.clientAuthMethod ?? 'n/a: SAML'})`);
  }
  const clientSecret = newClientSecret();
  const issuedAt = new Date();
  const written = await Application.findOneAndUpdate(
    { tenantId, applicationId, 'oidc.clientAuthMethod': { $in: [...SECRET_AUTH_METHODS] } },
    {
      $set: { clientSecretEncrypted: deps.keyring.encrypt(clientSecret, applicationSecretContext(tenantId, applicationId)), 'oidc.clientSecretIssuedAt': issuedAt },
      $inc: { revision: 1, configRevision: 1 },
    },
    { returnDocument: 'after' },
  ).lean<StoredApplication>();
  if (!written?.oidc) throw notFound(applicationId);
  await deps.stamps.bump(tenantScope(tenantId));
  return {
    applicationId,
    nrn: ssoNrn(written.accountId, 'Application', applicationId),
    clientId: written.oidc.clientId,
    clientSecret,
    clientSecretIssuedAt: issuedAt.toISOString(),
  };
}

/**
 * Deletes an application: its standing consents end first (the listeners revoke grants), then
 * its assigned principals, then the row. Each step is repeatable, so a delete that failed half-way
 * is finished by calling it again.
 */
export async function deleteApplication(accountId: number, applicationId: string, deps: ApplicationDeps): Promise<void> {
  const { tenantId } = await requireTenant(accountId);
  await mustFind(tenantId, applicationId);
  await withdrawApplicationConsents(tenantId, applicationId);
  await ApplicationPrincipal.deleteMany({ tenantId, applicationId });
  const d = await Application.findOneAndDelete({ tenantId, applicationId }).lean();
  if (!d) throw notFound(applicationId);
  await releaseQuota(quotaKey(tenantId));
  await deps.stamps.bump(tenantScope(tenantId));
}

// ---- assigned users and groups ----

export interface ApplicationPrincipalView {
  principalType: ApplicationPrincipalType;
  principalId: string;
  /** The user's loginId or the group's name (null if it has since been deleted). */
  displayName: string | null;
  createdAt: string;
}

export async function listApplicationPrincipals(accountId: number, applicationId: string, q: ListPrincipalsQuery): Promise<Page<ApplicationPrincipalView>> {
  const { tenantId } = await requireTenant(accountId);
  await mustFind(tenantId, applicationId);
  const filter: Record<string, unknown> = { tenantId, applicationId };
  if (q.principalType) filter.principalType = q.principalType;
  const page = await pageOf(
    ApplicationPrincipal.find(filter).sort({ principalType: 1, principalId: 1 }).lean<{ principalType: ApplicationPrincipalType; principalId: string; createdAt?: Date }[]>(),
    ApplicationPrincipal.countDocuments(filter),
    q,
    (d) => d,
  );
  const userIds = page.items.filter((p) => p.principalType === 'user').map((p) => p.principalId);
  const groupIds = page.items.filter((p) => p.principalType === 'group').map((p) => p.principalId);
  const [users, groups] = await Promise.all([
    userIds.length ? SsoUser.find({ tenantId, userId: { $in: userIds } }).select('userId loginId').lean<{ userId: string; loginId: string }[]>() : [],
    groupIds.length ? SsoGroup.find({ tenantId, groupId: { $in: groupIds } }).select('groupId groupName').lean<{ groupId: string; groupName: string }[]>() : [],
  ]);
  const names = new Map<string, string>([...users.map((u) => [u.userId, u.loginId] as const), ...groups.map((g) => [g.groupId, g.groupName] as const)]);
  return {
    ...page,
    items: page.items.map((p) => ({ principalType: p.principalType, principalId: p.principalId, displayName: names.get(p.principalId) ?? null, createdAt: (p.createdAt ?? new Date(0)).toISOString() })),
  };
}

/**
 * Assigns users and groups (idempotent: one document each under a unique index). Every id must be
 * a user or group of the tenant; otherwise nothing is added and each unknown id is reported.
 */
export async function addApplicationPrincipals(accountId: number, applicationId: string, input: PrincipalsInput): Promise<{ added: number }> {
  const { tenantId } = await requireTenant(accountId);
  await mustFind(tenantId, applicationId);
  const userIds = [...new Set(input.userIds)];
  const groupIds = [...new Set(input.groupIds)];
  const [users, groups] = await Promise.all([
    userIds.length ? SsoUser.find({ tenantId, userId: { $in: userIds } }).select('userId').lean<{ userId: string }[]>() : [],
    groupIds.length ? SsoGroup.find({ tenantId, groupId: { $in: groupIds }, deletingSince: null }).select('groupId').lean<{ groupId: string }[]>() : [],
  ]);
  const knownUsers = new Set(users.map((u) => u.userId));
  const knownGroups = new Set(groups.map((g) => g.groupId));
  const fieldErrors: FieldError[] = [
    ...input.userIds.flatMap((id, i) => (knownUsers.has(id) ? [] : [{ field: `body.userIds.${i}`, message: `user ${id} does not exist in this tenant` }])),
    ...input.groupIds.flatMap((id, i) => (knownGroups.has(id) ? [] : [{ field: `body.groupIds.${i}`, message: `group ${id} does not exist in this tenant` }])),
  ];
  if (fieldErrors.length) throw new AppError('VALIDATION_FAILED', 'some users or groups do not exist', { fieldErrors });
  let added = 0;
  const rows = [...userIds.map((id) => ({ principalType: 'user' as const, principalId: id })), ...groupIds.map((id) => ({ principalType: 'group' as const, principalId: id }))];
  for (const row of rows) {
    try {
      await ApplicationPrincipal.create({ tenantId, accountId, applicationId, ...row });
      added++;
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
    }
  }
  // A delete that raced this add removed the application first: take back what was added.
  if (!(await findApplication(tenantId, applicationId))) {
    await ApplicationPrincipal.deleteMany({ tenantId, applicationId });
    throw notFound(applicationId);
  }
  return { added };
}

/** Unassigns users and groups (absent ones are ignored: removal is idempotent). */
export async function removeApplicationPrincipals(accountId: number, applicationId: string, input: PrincipalsInput): Promise<{ removed: number }> {
  const { tenantId } = await requireTenant(accountId);
  await mustFind(tenantId, applicationId);
  const or = [
    ...(input.userIds.length ? [{ principalType: 'user' as const, principalId: { $in: input.userIds } }] : []),
    ...(input.groupIds.length ? [{ principalType: 'group' as const, principalId: { $in: input.groupIds } }] : []),
  ];
  let removed = 0;
  for (const cond of or) removed += (await ApplicationPrincipal.deleteMany({ tenantId, applicationId, ...cond })).deletedCount;
  return { removed };
}

// ---- tags ----

function tagStore(tenantId: string, applicationId: string): TagStore<ApplicationView> {
  return {
    read: () => findApplication(tenantId, applicationId),
    write: async (revision, tags) => {
      const d = await Application.findOneAndUpdate({ tenantId, applicationId, revision }, { $set: { tags }, $inc: { revision: 1 } }, { returnDocument: 'after' }).lean<StoredApplication>();
      return d ? toApplicationView(d) : null;
    },
    notFound: () => notFound(applicationId),
  };
}

export async function tagApplication(accountId: number, applicationId: string, tags: readonly Tag[]): Promise<ApplicationView> {
  const { tenantId } = await requireTenant(accountId);
  return addTags(tagStore(tenantId, applicationId), tags);
}

export async function untagApplication(accountId: number, applicationId: string, tagKeys: readonly string[]): Promise<ApplicationView> {
  const { tenantId } = await requireTenant(accountId);
  return removeTags(tagStore(tenantId, applicationId), tagKeys);
}
