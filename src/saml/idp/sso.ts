/**
 * SP-initiated and IdP-initiated Web Browser SSO (SAML Profiles §4.1; issue 9; ARCHITECTURE.md
 * "Request flows: SAML app"):
 *
 *   /saml/idp/sso (Redirect | POST) ─ read + verify the AuthnRequest (inbound.ts), known SP,
 *     ACS from its registered endpoints, signature policy ─▶ pending request (server-side,
 *     bound to this browser) ─▶ resume:
 *       live session meeting ForceAuthn / RequestedAuthnContext? ─ no ─▶ IsPassive? NoPassive
 *         response : beginLogin(returnTo = resume) ─▶ login pages ─▶ resume?login=ID
 *       ─▶ takeLoginResult (once, this browser) ─▶ mayUseApplication ─▶ claim the pending
 *       request (once) ─▶ signed Response ─▶ auto-POST page to the ACS, participant recorded.
 *
 * The POST binding arrives as a cross-site POST, which carries no SameSite=Lax cookie: the
 * request is stored and the browser sent (303) to the resume URL, a top-level GET that does carry
 * the session cookie. The Redirect binding (a top-level GET already) continues at once.
 */
import { randomBytes } from 'node:crypto';
import { hashToken } from '../../shared/tokens.js';
import type { Request, Response } from 'express';
import type { Config } from '../../config.js';
import { beginLogin, currentSsoSession, sessionSatisfies, takeLoginResult, type LoginRequirements } from '../../auth/login.js';
import { ssoSessionCookieOptions, type SsoSessionRecord } from '../../auth/sso-session.js';
import type { TenantDeps } from '../../http/tenant-routes.js';
import { mayUseApplication } from '../../sso/applications/application-access.js';
import type { TenantRecord } from '../../sso/tenant/tenant-context.js';
import { getTenantSigningKeys } from '../keys.js';
import { signLoginResponse, signMessage, statusResponseXml, newSamlId, type IdpSigningMaterial } from './assertion.js';
import { attributesFor, loadClaimUser, nameIdFor, sessionIndexOf, tenantIdpSecret } from './claims.js';
import { SAML_PENDING_TTL_MS, SamlPendingRequest, SamlSessionParticipant, type SamlPendingRequestDoc } from './idp.models.js';
import { childElements, NS, readPostMessage, readRedirectMessage, textOf, verifyMessageSignature, type XmlElement } from './inbound.js';
import { renderAutoPost } from './pages.js';
import { SamlRejection, withSp } from './rejection.js';
import { chooseAcs, findSamlApplicationById, findServiceProvider, spRef, type SamlApplication } from './service-provider.js';

export function idpEntityIdOf(config: Pick<Config, 'baseUrl'>, tenantId: string): string {
  return `${config.baseUrl}/tenants/${tenantId}/saml/idp`;
}

export async function signingMaterial(tenant: Pick<TenantRecord, 'tenantId' | 'accountId'>, deps: TenantDeps): Promise<IdpSigningMaterial> {
  const keys = await getTenantSigningKeys(tenant.tenantId, tenant.accountId, deps.keyring, deps.stamps);
  return { certificatePem: keys.current.certPem, privateKeyPem: keys.current.privateKeyPem };
}

// ---------------------------------------------------------------------------------------------
// Browser binding of pending requests (same idea as the login interaction's cookie)

export function samlBindingCookieName(config: Pick<Config, 'baseUrl'>, tenantId: string): string {
  const base = `gh_saml_${tenantId}`;
  return config.baseUrl.startsWith('https:') ? `__Host-${base}` : base;
}


function cookiesOf(req: Request): Record<string, string> {
  return (req as Request & { cookies?: Record<string, string> }).cookies ?? {};
}

/** This browser's binding token (made and set when absent). */
function browserBinding(req: Request, res: Response, tenantId: string, config: Config): string {
  const name = samlBindingCookieName(config, tenantId);
  const existing = cookiesOf(req)[name];
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const token = randomBytes(32).toString('base64url');
  res.cookie(name, token, { ...ssoSessionCookieOptions(config), maxAge: SAML_PENDING_TTL_MS });
  return token;
}

// ---------------------------------------------------------------------------------------------
// The AuthnRequest

/** Authentication context classes that mean "two factors" (REFEDS MFA; SAML AC classes with a second factor). */
const MFA_CLASSES = new Set([
  'https://refeds.org/profile/mfa',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract',
  'urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken',
  'http://schemas.microsoft.com/claims/multipleauthn',
]);

/** An IssueInstant older than this (or further ahead than the skew) is refused: no replay of old captured requests. */
const REQUEST_MAX_AGE_MS = 10 * 60_000;
const CLOCK_SKEW_MS = 3 * 60_000;

interface ParsedAuthnRequest {
  id: string;
  forceAuthn: boolean;
  isPassive: boolean;
  requireMfa: boolean;
  acs: { index: number | null; url: string | null; protocolBinding: string | null };
}

function bool(el: XmlElement, name: string): boolean {
  const v = el.getAttribute(name);
  return v === 'true' || v === '1';
}

function parseAuthnRequest(el: XmlElement, expectedIssuer: string, destinations: string[]): ParsedAuthnRequest {
  if (el.namespaceURI !== NS.protocol || el.localName !== 'AuthnRequest') throw new SamlRejection('malformed', 'not an AuthnRequest');
  const issuer = textOf(childElements(el, NS.assertion, 'Issuer')[0]);
  if (issuer !== expectedIssuer) throw new SamlRejection('signatureWrapping', 'Issuer differs in the signed message');
  const id = el.getAttribute('ID') ?? '';
  if (!/^[A-Za-z_][\w.-]{0,255}$/.test(id)) throw new SamlRejection('malformed', 'bad request ID');
  const issued = Date.parse(el.getAttribute('IssueInstant') ?? '');
  if (!Number.isFinite(issued) || issued < Date.now() - REQUEST_MAX_AGE_MS || issued > Date.now() + CLOCK_SKEW_MS) throw new SamlRejection('staleRequest', 'IssueInstant out of range');
  const destination = el.getAttribute('Destination');
  // SAML Bindings §3.4.5.2/§3.5.5.2: a Destination, when present (always for signed messages), must be this endpoint.
  if (destination && !destinations.includes(destination)) throw new SamlRejection('malformed', 'Destination is not this endpoint');
  const rawIndex = el.getAttribute('AssertionConsumerServiceIndex');
  const index = rawIndex === null || rawIndex === '' ? null : /^\d{1,5}$/.test(rawIndex) ? Number(rawIndex) : NaN;
  if (Number.isNaN(index)) throw new SamlRejection('malformed', 'bad AssertionConsumerServiceIndex');
  const requested = childElements(el, NS.protocol, 'RequestedAuthnContext')[0];
  const classes = requested ? childElements(requested, NS.assertion, 'AuthnContextClassRef').map((c) => textOf(c) ?? '') : [];
  // Every requested class being a two-factor class means the SP will accept nothing less.
  const requireMfa = classes.length > 0 && classes.every((c) => MFA_CLASSES.has(c));
  return {
    id,
    forceAuthn: bool(el, 'ForceAuthn'),
    isPassive: bool(el, 'IsPassive'),
    requireMfa,
    acs: { index, url: el.getAttribute('AssertionConsumerServiceURL') || null, protocolBinding: el.getAttribute('ProtocolBinding') || null },
  };
}

/** GET or POST /saml/idp/sso. */
export async function receiveAuthnRequest(req: Request, res: Response, binding: 'redirect' | 'post', deps: TenantDeps, tenant: TenantRecord): Promise<void> {
  const msg = binding === 'redirect' ? await readRedirectMessage(req, 'SAMLRequest') : await readPostMessage(req, 'SAMLRequest');
  if (msg.root.namespaceURI !== NS.protocol || msg.root.localName !== 'AuthnRequest') throw new SamlRejection('malformed', 'not an AuthnRequest');
  const issuer = textOf(childElements(msg.root, NS.assertion, 'Issuer')[0]);
  const sp = await findServiceProvider(tenant.tenantId, issuer, deps.stamps);
  try {
    const certs = sp.saml.signingCertificates ?? [];
    const signedRoot = certs.length > 0 || sp.saml.requireSignedRequests ? verifyMessageSignature(msg, certs) : null;
    if (sp.saml.requireSignedRequests && !signedRoot) throw new SamlRejection('unsignedRequest', 'this SP must sign its AuthnRequests');
    const base = `${deps.config.baseUrl}/tenants`;
    const destinations = [`${base}/${tenant.tenantId}/saml/idp/sso`, `${base}/${tenant.tenantAlias}/saml/idp/sso`];
    const parsed = parseAuthnRequest(signedRoot ?? msg.root, sp.saml.entityId, destinations);
    const acsUrl = chooseAcs(sp, parsed.acs);
    if (binding === 'redirect') {
      // A top-level GET carries the session cookie: a live session that meets the request is
      // answered at once, with nothing stored (no pending request to claim: nothing to replay
      // but a fresh Response for the same browser session, which the SP's InResponseTo check binds).
      const live = await currentSsoSession(req, tenant.tenantId, deps.config);
      if (live && sessionSatisfies(live, { forceAuthn: parsed.forceAuthn, requireMfa: parsed.requireMfa })) {
        await issueResponse(res, deps, tenant, sp, live, { requestId: parsed.id, acsUrl, relayState: msg.relayState }, async () => true);
        return;
      }
    }
    const pending = await createPending(req, res, deps, tenant, sp, {
      requestId: parsed.id,
      acsUrl,
      relayState: msg.relayState,
      forceAuthn: parsed.forceAuthn,
      isPassive: parsed.isPassive,
      requireMfa: parsed.requireMfa,
    });
    if (binding === 'post') {
      res.redirect(303, resumePath(tenant.tenantId, pending.pendingId));
      return;
    }
    await continuePending(req, res, deps, tenant, pending, null, sp);
  } catch (err) {
    throw withSp(err, spRef(sp));
  }
}

export function resumePath(tenantId: string, pendingId: string): string {
  return `/tenants/${tenantId}/saml/idp/resume/${pendingId}`;
}

export async function createPending(
  req: Request,
  res: Response,
  deps: TenantDeps,
  tenant: TenantRecord,
  sp: SamlApplication,
  input: { requestId: string | null; acsUrl: string; relayState: string | null; forceAuthn: boolean; isPassive: boolean; requireMfa: boolean },
): Promise<SamlPendingRequestDoc> {
  const binding = browserBinding(req, res, tenant.tenantId, deps.config);
  const doc = await SamlPendingRequest.create({
    accountId: tenant.accountId,
    tenantId: tenant.tenantId,
    pendingId: randomBytes(16).toString('base64url'),
    bindingHash: hashToken(binding),
    applicationId: sp.applicationId,
    entityId: sp.saml.entityId,
    ...input,
    expiresAt: new Date(Date.now() + SAML_PENDING_TTL_MS),
  });
  return doc.toObject() as SamlPendingRequestDoc;
}

/** GET /saml/idp/resume/{pendingId}[?login=ID]. */
export async function resumePending(req: Request, res: Response, deps: TenantDeps, tenant: TenantRecord, pendingId: string, loginId: string | null): Promise<void> {
  const pending = await findBoundPending(req, tenant.tenantId, pendingId, deps.config);
  if (!pending) throw new SamlRejection('pendingUnknown', 'no such pending request in this browser');
  try {
    await continuePending(req, res, deps, tenant, pending, loginId);
  } catch (err) {
    throw withSp(err, { applicationId: pending.applicationId, entityId: pending.entityId });
  }
}

async function findBoundPending(req: Request, tenantId: string, pendingId: string, config: Config): Promise<SamlPendingRequestDoc | null> {
  if (!/^[A-Za-z0-9_-]{22}$/.test(pendingId)) return null;
  const token = cookiesOf(req)[samlBindingCookieName(config, tenantId)];
  if (!token) return null;
  return SamlPendingRequest.findOne({ tenantId, pendingId, bindingHash: hashToken(token), consumedAt: null }).lean<SamlPendingRequestDoc>();
}

async function continuePending(
  req: Request,
  res: Response,
  deps: TenantDeps,
  tenant: TenantRecord,
  pending: SamlPendingRequestDoc,
  loginId: string | null,
  /** The SP when this request just read it (no second read); on resume it is read again, as it may have changed. */
  known?: SamlApplication,
): Promise<void> {
  const sp = known ?? (await findSamlApplicationById(tenant.tenantId, pending.applicationId));
  if (!sp) throw new SamlRejection('unknownSp', 'the application was removed');
  const requirements: LoginRequirements = { forceAuthn: pending.forceAuthn, requireMfa: pending.requireMfa };

  let session: SsoSessionRecord | null;
  if (loginId !== null) {
    const result = await takeLoginResult(req, res, tenant.tenantId, loginId, deps);
    if (!result) throw new SamlRejection('noSession', 'the sign-in result is unknown, used, or of another browser');
    if (pending.requireMfa && result.acr !== 'mfa') throw new SamlRejection('accessDenied', 'MFA was required');
    session = result.session;
  } else {
    const live = await currentSsoSession(req, tenant.tenantId, deps.config);
    session = live && sessionSatisfies(live, requirements) ? live : null;
  }

  if (!session) {
    if (pending.isPassive) {
      await answerWithStatus(res, deps, tenant, sp, pending, 'urn:oasis:names:tc:SAML:2.0:status:Responder', 'urn:oasis:names:tc:SAML:2.0:status:NoPassive');
      return;
    }
    const to = await beginLogin(
      req,
      res,
      { tenant, returnTo: resumePath(tenant.tenantId, pending.pendingId), client: 'saml', clientName: sp.name, requirements },
      deps,
    );
    res.redirect(303, to);
    return;
  }

  await issueResponse(res, deps, tenant, sp, session, pending, () => claimPending(tenant.tenantId, pending.pendingId));
}

/** Where and to what a Response goes: from a pending request, or straight from a verified AuthnRequest. */
interface ResponseTarget {
  requestId?: string | null;
  acsUrl: string;
  relayState?: string | null;
}

/**
 * The signed Response for this session to the SP: access check, `claim` (the pending request is
 * answered at most once), claims, signing, the participant record, the auto-POST page.
 */
async function issueResponse(
  res: Response,
  deps: TenantDeps,
  tenant: TenantRecord,
  sp: SamlApplication,
  session: SsoSessionRecord,
  pending: ResponseTarget,
  claim: () => Promise<boolean>,
): Promise<void> {
  const user = await loadClaimUser(tenant.tenantId, session.userId);
  if (!user) throw new SamlRejection('noSession', 'the user is not active');
  // Who may sign in (issue 9): refused users see the generic error page and no Response is sent
  // to the SP, as Keycloak and IAM Identity Center show their own "no access" page; a
  // RequestDenied status would tell the SP (and whoever drives it) that this user exists here.
  if (!(await mayUseApplication(tenant.tenantId, sp, user.userId, user.groupIds))) throw new SamlRejection('accessDenied', 'the user may not use this application');

  if (!(await claim())) throw new SamlRejection('pendingUnknown', 'the request was already answered');

  const secret = await tenantIdpSecret(tenant.tenantId, deps.keyring);
  const idpEntityId = idpEntityIdOf(deps.config, tenant.tenantId);
  const nameId = nameIdFor(sp, user, secret);
  const sessionIndex = sessionIndexOf(secret, session.sessionId);
  const attributes = await attributesFor(sp, user, {
    tenantId: tenant.tenantId,
    idpEntityId,
    sessionRemainingSec: (session.absoluteExpiresAt.getTime() - Date.now()) / 1000,
  });
  const keys = await signingMaterial(tenant, deps);
  let signed: { responseId: string; samlResponse: string };
  try {
    signed = await signLoginResponse(
      {
        idpEntityId,
        sp,
        acsUrl: pending.acsUrl,
        inResponseTo: pending.requestId ?? null,
        nameId,
        authnInstant: session.authTime,
        sessionIndex,
        sessionNotOnOrAfter: session.absoluteExpiresAt,
        acr: session.acr === 'mfa' ? 'mfa' : 'pwd',
        attributes,
      },
      keys,
    );
  } catch (err) {
    throw new SamlRejection('encryption', `the response could not be built: ${(err as Error).message}`);
  }
  await recordParticipant(tenant, session, sp, nameId, sessionIndex);
  deps.logger.info(
    { event: 'saml.response', tenantId: tenant.tenantId, applicationId: sp.applicationId, userId: user.userId, sessionId: session.sessionId, responseId: signed.responseId, idpInitiated: !pending.requestId },
    'SAML response issued',
  );
  renderAutoPost(res, { tenantId: tenant.tenantId, action: pending.acsUrl, fieldName: 'SAMLResponse', message: signed.samlResponse, relayState: pending.relayState ?? null });
}

/** Marks the pending request answered; false when another tab or a replay got there first. */
async function claimPending(tenantId: string, pendingId: string): Promise<boolean> {
  const claimed = await SamlPendingRequest.findOneAndUpdate({ tenantId, pendingId, consumedAt: null }, { $set: { consumedAt: new Date() } }, { returnDocument: 'after' }).lean();
  return claimed !== null;
}

async function answerWithStatus(res: Response, deps: TenantDeps, tenant: TenantRecord, sp: SamlApplication, pending: SamlPendingRequestDoc, top: string, sub: string): Promise<void> {
  if (!(await claimPending(tenant.tenantId, pending.pendingId))) throw new SamlRejection('pendingUnknown', 'the request was already answered');
  const keys = await signingMaterial(tenant, deps);
  const xml = statusResponseXml({ idpEntityId: idpEntityIdOf(deps.config, tenant.tenantId), acsUrl: pending.acsUrl, inResponseTo: pending.requestId ?? null, topStatus: top, subStatus: sub }, newSamlId());
  const message = signMessage(xml, 'Response', keys);
  renderAutoPost(res, { tenantId: tenant.tenantId, action: pending.acsUrl, fieldName: 'SAMLResponse', message, relayState: pending.relayState ?? null });
}

/**
 * What this process last recorded per (session, SP): a repeat sign-in to the same SP in the same
 * session under the same NameID and SessionIndex changes nothing single logout reads, so the
 * write is skipped (a transient NameID is new every time and is always written).
 */
const RECORDED_MAX = 10_000;
const recorded = new Map<string, string>();

async function recordParticipant(tenant: TenantRecord, session: SsoSessionRecord, sp: SamlApplication, nameId: { value: string; format: string }, sessionIndex: string): Promise<void> {
  const key = `${tenant.tenantId}|${session.sessionId}|${sp.applicationId}`;
  const value = `${nameId.format}|${nameId.value}|${sessionIndex}`;
  if (recorded.get(key) === value) return;
  await writeParticipant(tenant, session, sp, nameId, sessionIndex);
  if (recorded.size >= RECORDED_MAX && !recorded.has(key)) recorded.delete(recorded.keys().next().value as string);
  recorded.set(key, value);
}

async function writeParticipant(tenant: TenantRecord, session: SsoSessionRecord, sp: SamlApplication, nameId: { value: string; format: string }, sessionIndex: string): Promise<void> {
  const now = new Date();
  const write = () =>
    SamlSessionParticipant.updateOne(
      { tenantId: tenant.tenantId, sessionId: session.sessionId, applicationId: sp.applicationId },
      {
        $set: { accountId: tenant.accountId, userId: session.userId, entityId: sp.saml.entityId, nameId: nameId.value, nameIdFormat: nameId.format, sessionIndex, lastAt: now, endedAt: null, endedReason: null, logoutSentAt: null, logoutConfirmedAt: null, expiresAt: session.absoluteExpiresAt },
        $setOnInsert: { firstAt: now },
      },
      { upsert: true },
    ).setOptions({ includeExpired: true });
  try {
    await write();
  } catch (err) {
    // Two responses for the same session and SP at once: the loser's insert meets the unique index; update instead.
    if ((err as { code?: number }).code !== 11000) throw err;
    await write();
  }
}

// ---------------------------------------------------------------------------------------------
// IdP-initiated

/**
 * POST /saml/idp/init/{applicationId}: an unsolicited Response (no InResponseTo) to the SP's
 * default ACS, with the application's default RelayState only (never one from the request;
 * security-bar §2 "IdP-initiated login CSRF", case 11). The router has already checked the CSRF
 * token against the browser's session.
 */
export async function launchIdpInitiated(req: Request, res: Response, deps: TenantDeps, tenant: TenantRecord, sp: SamlApplication, acsUrl: string): Promise<void> {
  const pending = await createPending(req, res, deps, tenant, sp, {
    requestId: null,
    acsUrl,
    relayState: sp.saml.defaultRelayState ? sp.saml.defaultRelayState : null,
    forceAuthn: false,
    isPassive: false,
    requireMfa: false,
  });
  // The pending record is bound through the cookie just set; continue directly with this request's session.
  await continuePending(req, res, deps, tenant, pending, null, sp);
}
