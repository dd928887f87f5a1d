/**
 * Federated sign-in through the tenant's external SAML IdP (ARCHITECTURE.md "Request flows":
 * federation; reference/ncloud-model.md §2 "A. Console federation"). Three steps, each ending
 * in the shared login pipeline of src/auth/login.ts, never beside it:
 *
 *   GET  /saml/login[?interaction=ID]  start (or continue) a login interaction, store a pending
 *                                      record, send the AuthnRequest (Redirect 303 or auto-POST);
 *                                      RelayState = the pending record's random id
 *   POST /saml/acs                     verify the Response (saml-sp.ts), match NameID to an ACTIVE
 *                                      user, record the assertion ID once, apply the attribute
 *                                      mapper, store the outcome on the pending record → 303
 *   GET  /saml/complete?state=…        top-level GET, so the SameSite=Lax binding cookie of the
 *                                      interaction is back: finishLogin → 303 to returnTo
 *
 * The ACS request comes cross-site (the IdP's page posts it), so it carries no Lax cookie: it
 * proves nothing about the browser and finishes nothing by itself. Only the browser holding the
 * interaction's binding cookie can turn the verified outcome into a session (login CSRF).
 *
 * No just-in-time provisioning: Ncloud's users are created by the admin first, and the NameID
 * (an email address) must equal an existing user's loginId (case-insensitively).
 * MFA is the IdP's (as AWS IAM Identity Center does with an external IdP): the session's acr is
 * `mfa` only when the IdP's AuthnContextClassRef says so, and a protocol that requires MFA is
 * satisfied only then.
 */
import { randomBytes } from 'node:crypto';
import { SamlStatusError } from '@node-saml/node-saml';
import type { Request, Response } from 'express';
import { beginLogin, findBoundInteraction, finishLogin, type LoginDeps } from '../auth/login.js';
import type { ChangeStamps } from '../iam/change-stamps.js';
import { AppError, isDuplicateKeyError } from '../shared/errors.js';
import { decodePostMessage, isXmlRefusal } from '../saml/xml/harden.js';
import { readLoginSettings } from '../sso/tenant/login-settings.js';
import { getAttributeMapper } from '../sso/tenant/tenant.service.js';
import { tenantScope, type TenantRecord } from '../sso/tenant/tenant-context.js';
import { SsoUser } from '../sso/users/user.model.js';
import { ExternalIdp, federationSpUrls, type ExternalIdpRecord } from './external-idp.model.js';
import { recordFederatedSignIn, syncProfile } from './profile-sync.js';
import { buildSp, FederationRejection, inspectResponse, readVerifiedProfile } from './saml-sp.js';
import { ASSERTION_SEEN_TTL_MS, FederationAssertionSeen, FederationPending, FEDERATION_PENDING_TTL_MS, type FederationPendingDoc } from './signin.models.js';

export interface FederationDeps extends LoginDeps {
  stamps: ChangeStamps;
}

const STATE_ID = /^[A-Za-z0-9_-]{22}$/;
const INTERACTION_ID = /^[A-Za-z0-9_-]{22}$/;

/** How many tenants' IdP records one process keeps (the oldest is forgotten first). */
const IDP_CACHE_MAX = 1000;
const idpCache = new Map<string, { stamp: number; idp: ExternalIdpRecord | null }>();

/**
 * The tenant's IdP record, cached per process under the tenant's change stamp (every write of the
 * record bumps it: external-idp.service.ts), so the login page's option and each step of a
 * federated sign-in cost no read on a hit. Without `stamps` (tools, tests) it always reads.
 */
async function externalIdpOf(tenantId: string, stamps: ChangeStamps | undefined): Promise<ExternalIdpRecord | null> {
  if (!stamps) return ExternalIdp.findOne({ tenantId }).lean<ExternalIdpRecord>();
  // The stamp is read first: a write landing during the read leaves an older stamp on the entry.
  const stamp = await stamps.current(tenantScope(tenantId));
  const hit = idpCache.get(tenantId);
  if (hit && hit.stamp === stamp) return hit.idp;
  const idp = await ExternalIdp.findOne({ tenantId }).lean<ExternalIdpRecord>();
  idpCache.delete(tenantId);
  if (idpCache.size >= IDP_CACHE_MAX) idpCache.delete(idpCache.keys().next().value!);
  idpCache.set(tenantId, { stamp, idp });
  return idp;
}

/**
 * The tenant's external IdP when federated sign-in is on (record ENABLED, SAML, with a
 * certificate, and the login setting `externalIdpEnabled`), else null. The login settings come
 * from the tenant record the tenant resolver already holds (cached under the same stamp).
 */
export async function activeExternalIdp(tenant: Pick<TenantRecord, 'tenantId' | 'loginSettings'>, stamps?: ChangeStamps): Promise<ExternalIdpRecord | null> {
  if (!readLoginSettings(tenant.loginSettings).externalIdpEnabled) return null;
  const idp = await externalIdpOf(tenant.tenantId, stamps);
  if (!idp || idp.status !== 'ENABLED' || idp.protocol !== 'SAML' || idp.idpCertificates.length === 0) return null;
  return idp;
}

/**
 * What the login page needs to offer "Sign in with your organization": the link for this
 * interaction, or null when federated sign-in is off for the tenant. For the lead's login page.
 */
export async function federationLoginOption(
  tenant: Pick<TenantRecord, 'tenantId' | 'loginSettings'>,
  interactionId: string,
  stamps?: ChangeStamps,
): Promise<{ href: string } | null> {
  if (!INTERACTION_ID.test(interactionId)) return null;
  if (!(await activeExternalIdp(tenant, stamps))) return null;
  return { href: `/tenants/${tenant.tenantId}/saml/login?interaction=${interactionId}` };
}

export type StartOutcome = { kind: 'redirect'; location: string } | { kind: 'post'; action: string; fields: { SAMLRequest: string; RelayState: string } };

/** Step 1: the AuthnRequest for this browser's interaction (a new portal interaction when none is given). */
export async function startFederatedSignIn(req: Request, res: Response, tenant: TenantRecord, interactionParam: unknown, deps: FederationDeps): Promise<StartOutcome> {
  const idp = await activeExternalIdp(tenant, deps.stamps);
  if (!idp) throw new FederationRejection('notAvailable', 'federated sign-in is not enabled for this tenant');

  let interactionId: string;
  if (interactionParam === undefined) {
    // Every path ends in the same pipeline: a sign-in started here returns to the portal.
    const loginPath = await beginLogin(req, res, { tenant, returnTo: `/tenants/${tenant.tenantId}/portal`, client: 'portal' }, deps);
    interactionId = new URL(loginPath, 'http://x').searchParams.get('interaction') ?? '';
  } else {
    if (typeof interactionParam !== 'string' || !INTERACTION_ID.test(interactionParam)) throw new FederationRejection('interactionLost', 'malformed interaction id');
    const it = await findBoundInteraction(req, tenant.tenantId, interactionParam, deps.config);
    if (!it || it.state === 'completed') throw new FederationRejection('interactionLost', 'no such sign-in in progress in this browser');
    interactionId = interactionParam;
  }

  const stateId = randomBytes(16).toString('base64url');
  // The AuthnRequest ID is chosen here so the pending record knows which response answers it.
  const requestId = `_${randomBytes(20).toString('hex')}`;
  await FederationPending.create({
    accountId: tenant.accountId,
    tenantId: tenant.tenantId,
    stateId,
    interactionId,
    requestId,
    expiresAt: new Date(Date.now() + FEDERATION_PENDING_TTL_MS),
  });
  const sp = await buildSp(tenant, idp, deps, () => requestId);
  if (idp.protocolBinding === 'HTTP_REDIRECT') {
    return { kind: 'redirect', location: await sp.getAuthorizeUrlAsync(stateId, undefined, {}) };
  }
  const message = await sp.getAuthorizeMessageAsync(stateId, undefined, {});
  const SAMLRequest = message.SAMLRequest;
  if (typeof SAMLRequest !== 'string') throw new AppError('INTERNAL', 'node-saml built no SAMLRequest');
  return { kind: 'post', action: idp.idpSigninUrl, fields: { SAMLRequest, RelayState: stateId } };
}

export interface AcsOutcome {
  location: string;
  userId: string;
  loginId: string;
  amr: string[];
  syncedFields: string[];
}

function minSignatureBits(idp: Pick<ExternalIdpRecord, 'signResponseAlgorithm'>): number {
  return idp.signResponseAlgorithm === 'RSA_SHA512' ? 512 : 256;
}

/** Step 2: the IdP's Response, verified, turned into a stored outcome of the pending record. */
export async function consumeAssertion(tenant: TenantRecord, body: Record<string, unknown>, deps: FederationDeps): Promise<AcsOutcome> {
  const { SAMLResponse, RelayState } = body;
  if (typeof RelayState !== 'string' || !STATE_ID.test(RelayState)) throw new FederationRejection('unknownState', 'RelayState is missing or malformed');
  if (typeof SAMLResponse !== 'string') throw new FederationRejection('malformed', 'SAMLResponse is missing');
  const pending = await FederationPending.findOne({ tenantId: tenant.tenantId, stateId: RelayState }).lean<FederationPendingDoc>();
  if (!pending) throw new FederationRejection('unknownState', 'no pending federated sign-in for this RelayState');
  if (pending.state !== 'sent') throw new FederationRejection('alreadyUsed', 'this federated sign-in already received its response');
  const idp = await activeExternalIdp(tenant, deps.stamps);
  if (!idp) throw new FederationRejection('notAvailable', 'federated sign-in was turned off');

  const acsUrl = federationSpUrls(deps.config.baseUrl, tenant.tenantId).acsUrl;
  let xml: string;
  try {
    xml = decodePostMessage(SAMLResponse);
  } catch (err) {
    throw new FederationRejection('malformed', isXmlRefusal(err) ? String(err.detail) : 'SAMLResponse is not a base64 XML message');
  }
  try {
    await inspectResponse(xml, { acsUrl, idpIssuer: idp.idpIssuerUrl, minSignatureBits: minSignatureBits(idp) });
  } catch (err) {
    if (isXmlRefusal(err)) throw new FederationRejection('malformed', String(err.detail));
    throw err;
  }
  const sp = await buildSp(tenant, idp, deps);
  let profile;
  try {
    // The validated base64 is re-encoded from the exact bytes checked above.
    ({ profile } = await sp.validatePostResponseAsync({ SAMLResponse: Buffer.from(xml, 'utf8').toString('base64') }));
  } catch (err) {
    if (err instanceof SamlStatusError) throw new FederationRejection('idpError', `the IdP answered with an error status: ${err.message.slice(0, 200)}`);
    throw new FederationRejection('invalidResponse', `node-saml refused the response: ${(err instanceof Error ? err.message : String(err)).slice(0, 300)}`);
  }
  if (!profile) throw new FederationRejection('invalidResponse', 'the response carries no assertion');
  const verified = readVerifiedProfile(profile, { acsUrl, idpIssuer: idp.idpIssuerUrl });
  if (verified.inResponseTo !== pending.requestId) throw new FederationRejection('wrongInResponseTo', 'the response does not answer the request this sign-in sent');

  const user = await SsoUser.findOne({ tenantId: tenant.tenantId, loginIdKey: verified.nameId.toLowerCase() })
    .select('userId loginId status credentialGeneration accountId')
    .lean<{ userId: string; loginId: string; status: string; credentialGeneration: number; accountId: number }>();
  if (!user) throw new FederationRejection('unknownUser', 'the asserted NameID matches no user of this tenant', 403);
  const who = { userId: user.userId, loginId: user.loginId };
  if (user.status !== 'ACTIVATED') throw new FederationRejection('userSuspended', 'the user is not ACTIVATED', 403, who);

  // Security-bar case 19: an assertion is accepted once, whatever the timing (unique index).
  try {
    await FederationAssertionSeen.create({
      tenantId: tenant.tenantId,
      key: `${verified.issuer} ${verified.assertionId}`,
      userId: user.userId,
      seenAt: new Date(),
      expiresAt: new Date(Date.now() + ASSERTION_SEEN_TTL_MS),
    });
  } catch (err) {
    if (isDuplicateKeyError(err)) throw new FederationRejection('replay', 'this assertion was already used', 403, who);
    throw err;
  }

  const amr = verified.mfa ? ['fed', 'mfa'] : ['fed'];
  const claimed = await FederationPending.findOneAndUpdate(
    { tenantId: tenant.tenantId, stateId: RelayState, state: 'sent' },
    { $set: { state: 'verified', userId: user.userId, credentialGeneration: user.credentialGeneration, amr, acr: verified.mfa ? 'mfa' : 'pwd', verifiedAt: new Date() } },
    { returnDocument: 'after' },
  ).lean<FederationPendingDoc>();
  if (!claimed) throw new FederationRejection('alreadyUsed', 'this federated sign-in already received its response', 400, who);

  const first = await recordFederatedSignIn({ accountId: tenant.accountId, tenantId: tenant.tenantId, userId: user.userId });
  const syncedFields = await syncProfile({ accountId: tenant.accountId, tenantId: tenant.tenantId, userId: user.userId }, getAttributeMapper(tenant), verified.attributes, first);
  return { location: `/tenants/${tenant.tenantId}/saml/complete?state=${RelayState}`, userId: user.userId, loginId: user.loginId, amr, syncedFields };
}

/** Step 3: in the browser that started the interaction, the verified outcome becomes a session. */
export async function completeFederatedSignIn(req: Request, res: Response, tenant: TenantRecord, stateParam: unknown, deps: FederationDeps): Promise<{ location: string; userId: string }> {
  if (typeof stateParam !== 'string' || !STATE_ID.test(stateParam)) throw new FederationRejection('unknownState', 'state is missing or malformed');
  const pending = await FederationPending.findOne({ tenantId: tenant.tenantId, stateId: stateParam, state: 'verified' }).lean<FederationPendingDoc>();
  if (!pending?.userId) throw new FederationRejection('unknownState', 'no verified federated sign-in for this state');
  const it = await findBoundInteraction(req, tenant.tenantId, pending.interactionId, deps.config);
  if (!it || it.state === 'completed') throw new FederationRejection('interactionLost', 'the sign-in this response belongs to is not in progress in this browser');
  // Claimed once: a second GET (or a concurrent one) finds it completed.
  const claimed = await FederationPending.findOneAndUpdate(
    { tenantId: tenant.tenantId, stateId: stateParam, state: 'verified' },
    { $set: { state: 'completed' } },
    { returnDocument: 'after' },
  ).lean<FederationPendingDoc>();
  if (!claimed?.userId) throw new FederationRejection('alreadyUsed', 'this federated sign-in was already completed');
  const who = { userId: claimed.userId, loginId: '' };
  const mfa = claimed.acr === 'mfa';
  if (it.requireMfa && !mfa) throw new FederationRejection('mfaRequired', 'the application requires MFA and the IdP did not assert it', 403, who);

  // The user may have been suspended between the ACS and this GET: check again.
  const user = await SsoUser.findOne({ tenantId: tenant.tenantId, userId: claimed.userId }).select('status credentialGeneration').lean<{ status: string; credentialGeneration: number }>();
  if (!user || user.status !== 'ACTIVATED' || user.credentialGeneration !== claimed.credentialGeneration) {
    throw new FederationRejection('userSuspended', 'the user was suspended during the sign-in', 403, who);
  }
  const settings = readLoginSettings(tenant.loginSettings);
  let location: string;
  try {
    location = await finishLogin(
      req,
      res,
      it,
      { userId: claimed.userId, credentialGeneration: user.credentialGeneration, amr: claimed.amr, acr: mfa ? 'mfa' : 'pwd' },
      { idleTimeoutSec: settings.idleSessionExpirationSeconds, multipleLoginAllowed: settings.multipleLoginAllowed },
      deps,
    );
  } catch (err) {
    if (err instanceof AppError && err.code === 'CONFLICT') throw new FederationRejection('alreadyUsed', 'the sign-in was already completed');
    throw err;
  }
  await SsoUser.updateOne({ tenantId: tenant.tenantId, userId: claimed.userId }, { $set: { lastLoginAt: new Date() } });
  return { location, userId: claimed.userId };
}
