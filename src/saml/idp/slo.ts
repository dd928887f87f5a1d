/**
 * Single logout (SAML Profiles §4.4; issue 9 "single logout over both bindings that ends the
 * Gatehouse session and propagates to the other SAML participants of the session"):
 *
 *   SP A ── LogoutRequest (Redirect | POST; signature checked against A's certificates when it
 *           has any, required when it requires signed requests) ──▶ /saml/idp/slo
 *     ─▶ the sessions A's NameID + SessionIndex name (participant records) ─▶ the other SPs of
 *        those sessions with an SLO endpoint become the steps of a logout run
 *     ─▶ endSsoSession(..., 'logout') (OIDC back-channel logout hears it through onSsoSessionEnd)
 *     ─▶ front channel, one SP at a time: signed LogoutRequest to B's SLO URL (RelayState = run)
 *        ◀─ B's LogoutResponse at /saml/idp/slo ─▶ next SP … ─▶ LogoutResponse to A (Success,
 *        or Success/PartialLogout when an SP failed or did not answer).
 *
 * A session ended anywhere else (portal logout, OIDC end-session, admin expiry, single-session
 * rule, suspension) reaches `rememberSessionEnd` through onSsoSessionEnd: its participants are
 * marked ended with the reason. No message can reach those SPs then (no browser in the flow, and
 * the SOAP back channel is not offered), so they keep their own sessions until those expire; the
 * record says which SPs were not told.
 */
import { createSign } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import type { Request, Response } from 'express';
import { ssoSessionCookieName, ssoSessionCookieOptions, endSsoSession, type EndedSsoSession } from '../../auth/sso-session.js';
import { renderPage } from '../../console/views.js';
import type { TenantDeps } from '../../http/tenant-routes.js';
import type { TenantRecord } from '../../sso/tenant/tenant-context.js';
import { escapeXmlAttr, escapeXmlText } from '../xml/harden.js';
import { newSamlId, signMessage, SIGNATURE_ALGORITHMS, type IdpSigningMaterial } from './assertion.js';
import { SAML_LOGOUT_RUN_TTL_MS, SamlLogoutRun, SamlSessionParticipant, type SamlLogoutRunDoc, type SamlSessionParticipantDoc } from './idp.models.js';
import { childElements, NS, readPostMessage, readRedirectMessage, textOf, verifyMessageSignature, type InboundMessage, type XmlElement } from './inbound.js';
import { renderAutoPost } from './pages.js';
import { SamlRejection, withSp } from './rejection.js';
import { findSamlApplicationById, findServiceProvider, spRef, type SamlApplication } from './service-provider.js';
import { idpEntityIdOf, signingMaterial } from './sso.js';

const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  partial: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
} as const;

/** onSsoSessionEnd listener: the session's SAML participants learn nothing, but the record says the session ended and why. */
export async function rememberSessionEnd(ended: EndedSsoSession): Promise<void> {
  await SamlSessionParticipant.updateMany({ tenantId: ended.tenantId, sessionId: ended.sessionId, endedAt: null }, { $set: { endedAt: new Date(), endedReason: ended.reason } });
}

/** GET or POST /saml/idp/slo: a LogoutRequest from an SP, or an SP's LogoutResponse to ours. */
export async function receiveLogoutMessage(req: Request, res: Response, binding: 'redirect' | 'post', deps: TenantDeps, tenant: TenantRecord): Promise<void> {
  const fields = binding === 'redirect' ? (req.query as Record<string, unknown>) : ((req.body ?? {}) as Record<string, unknown>);
  const kind = fields.SAMLRequest !== undefined ? 'SAMLRequest' : fields.SAMLResponse !== undefined ? 'SAMLResponse' : null;
  if (!kind) throw new SamlRejection('malformed', 'no SAML message');
  const msg = binding === 'redirect' ? await readRedirectMessage(req, kind) : await readPostMessage(req, kind);
  const issuer = textOf(childElements(msg.root, NS.assertion, 'Issuer')[0]);
  const sp = await findServiceProvider(tenant.tenantId, issuer, deps.stamps);
  try {
    const el = verifiedElement(msg, sp);
    if (textOf(childElements(el, NS.assertion, 'Issuer')[0]) !== sp.saml.entityId) throw new SamlRejection('signatureWrapping', 'Issuer differs in the signed message');
    if (kind === 'SAMLRequest') await receiveLogoutRequest(req, res, deps, tenant, sp, el, msg.relayState);
    else await receiveLogoutResponse(res, deps, tenant, sp, el, msg.relayState);
  } catch (err) {
    throw withSp(err, spRef(sp));
  }
}

/**
 * Logout messages change state on the IdP, so an SP that registered signing certificates must
 * sign them (and one that requires signed requests must have certificates); an SP without
 * certificates is identified by the unguessable SessionIndex it was given.
 */
function verifiedElement(msg: InboundMessage, sp: SamlApplication): XmlElement {
  const certs = sp.saml.signingCertificates ?? [];
  if (certs.length === 0 && !sp.saml.requireSignedRequests) return msg.root;
  const signed = verifyMessageSignature(msg, certs);
  if (!signed) throw new SamlRejection('unsignedRequest', 'this SP must sign its logout messages');
  return signed;
}

async function receiveLogoutRequest(req: Request, res: Response, deps: TenantDeps, tenant: TenantRecord, sp: SamlApplication, el: XmlElement, relayState: string | null): Promise<void> {
  if (el.namespaceURI !== NS.protocol || el.localName !== 'LogoutRequest') throw new SamlRejection('malformed', 'not a LogoutRequest');
  const requestId = el.getAttribute('ID') ?? '';
  if (!/^[A-Za-z_][\w.-]{0,255}$/.test(requestId)) throw new SamlRejection('malformed', 'bad request ID');
  const destination = el.getAttribute('Destination');
  const base = `${deps.config.baseUrl}/tenants`;
  // SAML Bindings §3.4.5.2/§3.5.5.2: a Destination, when present, must be this endpoint.
  if (destination && destination !== `${base}/${tenant.tenantId}/saml/idp/slo` && destination !== `${base}/${tenant.tenantAlias}/saml/idp/slo`) {
    throw new SamlRejection('malformed', 'Destination is not this endpoint');
  }
  const notOnOrAfter = el.getAttribute('NotOnOrAfter');
  if (notOnOrAfter && Date.parse(notOnOrAfter) + 180_000 < Date.now()) throw new SamlRejection('staleRequest', 'LogoutRequest expired');
  const nameId = textOf(childElements(el, NS.assertion, 'NameID')[0]);
  if (!nameId) throw new SamlRejection('malformed', 'no NameID (encrypted NameIDs are not accepted)');
  const sessionIndexes = childElements(el, NS.protocol, 'SessionIndex').map((s) => textOf(s) ?? '').filter(Boolean);

  // The sessions this SP holds for that NameID: by SessionIndex when given, else all of them (SAML Core §3.7.3.2).
  const filter = sessionIndexes.length
    ? { tenantId: tenant.tenantId, applicationId: sp.applicationId, nameId, sessionIndex: { $in: sessionIndexes.slice(0, 20) } }
    : { tenantId: tenant.tenantId, applicationId: sp.applicationId, nameId };
  const mine = await SamlSessionParticipant.find(filter).setOptions({ includeExpired: true }).limit(50).lean<SamlSessionParticipantDoc[]>();
  const sessionIds = [...new Set(mine.map((p) => p.sessionId))];
  const others = sessionIds.length
    ? await SamlSessionParticipant.find({ tenantId: tenant.tenantId, sessionId: { $in: sessionIds }, applicationId: { $ne: sp.applicationId }, logoutSentAt: null }).lean<SamlSessionParticipantDoc[]>()
    : [];
  const steps: { applicationId: string; sessionId: string }[] = [];
  for (const p of others) {
    if (steps.some((s) => s.applicationId === p.applicationId && s.sessionId === p.sessionId)) continue;
    steps.push({ applicationId: p.applicationId, sessionId: p.sessionId });
  }

  for (const sessionId of sessionIds) await endSsoSession(tenant.tenantId, sessionId, 'logout');
  await SamlSessionParticipant.updateMany({ tenantId: tenant.tenantId, applicationId: sp.applicationId, sessionId: { $in: sessionIds } }, { $set: { logoutConfirmedAt: new Date() } }).setOptions({ includeExpired: true });
  res.clearCookie(ssoSessionCookieName(deps.config, tenant.tenantId), ssoSessionCookieOptions(deps.config));
  deps.logger.info({ event: 'saml.logout', tenantId: tenant.tenantId, applicationId: sp.applicationId, sessions: sessionIds.length, propagateTo: steps.length }, 'SAML single logout started by an SP');

  const run = await SamlLogoutRun.create({
    accountId: tenant.accountId,
    tenantId: tenant.tenantId,
    runId: randomBytes(16).toString('base64url'),
    sessionId: sessionIds[0] ?? 'none',
    origin: { applicationId: sp.applicationId, requestId, relayState },
    steps: steps.map((s) => ({ applicationId: s.applicationId, state: 'pending' })),
    expiresAt: new Date(Date.now() + SAML_LOGOUT_RUN_TTL_MS),
  });
  await advance(res, deps, tenant, run.toObject() as SamlLogoutRunDoc, sessionIds);
}

async function receiveLogoutResponse(res: Response, deps: TenantDeps, tenant: TenantRecord, sp: SamlApplication, el: XmlElement, relayState: string | null): Promise<void> {
  if (el.namespaceURI !== NS.protocol || el.localName !== 'LogoutResponse') throw new SamlRejection('malformed', 'not a LogoutResponse');
  const inResponseTo = el.getAttribute('InResponseTo');
  if (!relayState || !/^[A-Za-z0-9_-]{22}$/.test(relayState) || !inResponseTo) throw new SamlRejection('logoutUnknown', 'LogoutResponse to no logout of ours');
  const run = await SamlLogoutRun.findOne({ tenantId: tenant.tenantId, runId: relayState, finishedAt: null }).lean<SamlLogoutRunDoc>();
  const stepIndex = run ? run.steps.findIndex((s) => s.applicationId === sp.applicationId && s.requestId === inResponseTo && s.state === 'sent') : -1;
  if (!run || stepIndex < 0) throw new SamlRejection('logoutUnknown', 'LogoutResponse to no logout of ours');
  const status = childElements(el, NS.protocol, 'Status')[0];
  const code = status ? childElements(status, NS.protocol, 'StatusCode')[0]?.getAttribute('Value') : null;
  const ok = code === STATUS.success;
  const moved = await SamlLogoutRun.findOneAndUpdate(
    { tenantId: tenant.tenantId, runId: run.runId, revision: run.revision },
    { $set: { [`steps.${stepIndex}.state`]: ok ? 'done' : 'failed' }, $inc: { revision: 1 } },
    { returnDocument: 'after' },
  ).lean<SamlLogoutRunDoc>();
  if (!moved) throw new SamlRejection('logoutUnknown', 'the logout moved on meanwhile');
  if (ok) {
    await SamlSessionParticipant.updateMany({ tenantId: tenant.tenantId, applicationId: sp.applicationId, sessionId: run.sessionId }, { $set: { logoutConfirmedAt: new Date() } }).setOptions({ includeExpired: true });
  }
  await advance(res, deps, tenant, moved, [run.sessionId]);
}

/** Sends the next LogoutRequest of the run, or the final LogoutResponse to the SP that asked. */
async function advance(res: Response, deps: TenantDeps, tenant: TenantRecord, run: SamlLogoutRunDoc, sessionIds: string[]): Promise<void> {
  const keys = await signingMaterial(tenant, deps);
  const idpEntityId = idpEntityIdOf(deps.config, tenant.tenantId);
  let current = run;
  for (;;) {
    const i = current.steps.findIndex((s) => s.state === 'pending');
    if (i < 0) break;
    const step = current.steps[i]!;
    const target = await findSamlApplicationById(tenant.tenantId, step.applicationId);
    const participant = target?.saml.sloUrl
      ? await SamlSessionParticipant.findOne({ tenantId: tenant.tenantId, applicationId: step.applicationId, sessionId: { $in: sessionIds } }).setOptions({ includeExpired: true }).lean<SamlSessionParticipantDoc>()
      : null;
    const requestId = newSamlId();
    const moved = await SamlLogoutRun.findOneAndUpdate(
      { tenantId: tenant.tenantId, runId: current.runId, revision: current.revision },
      { $set: { [`steps.${i}.state`]: target && participant ? 'sent' : 'failed', [`steps.${i}.requestId`]: requestId }, $inc: { revision: 1 } },
      { returnDocument: 'after' },
    ).lean<SamlLogoutRunDoc>();
    if (!moved) throw new SamlRejection('logoutUnknown', 'the logout moved on meanwhile');
    current = moved;
    if (!target || !participant || !target.saml.sloUrl) continue;
    await SamlSessionParticipant.updateOne({ tenantId: tenant.tenantId, applicationId: step.applicationId, sessionId: participant.sessionId }, { $set: { logoutSentAt: new Date() } }).setOptions({ includeExpired: true });
    const xml = logoutRequestXml({ id: requestId, idpEntityId, destination: target.saml.sloUrl, nameId: participant.nameId, nameIdFormat: participant.nameIdFormat, spNameQualifier: participant.nameIdFormat.endsWith(':persistent') ? target.saml.entityId : null, sessionIndex: participant.sessionIndex });
    sendMessage(res, tenant, target, keys, 'SAMLRequest', 'LogoutRequest', xml, current.runId);
    return;
  }

  await SamlLogoutRun.updateOne({ tenantId: tenant.tenantId, runId: current.runId }, { $set: { finishedAt: new Date() } });
  const origin = current.origin?.applicationId ? await findSamlApplicationById(tenant.tenantId, current.origin.applicationId) : null;
  if (!origin || !origin.saml.sloUrl) {
    res.setHeader('Cache-Control', 'no-store');
    renderPage(res, 'saml/signed-out', {});
    return;
  }
  const partial = current.steps.some((s) => s.state !== 'done');
  const xml = logoutResponseXml({ id: newSamlId(), idpEntityId, destination: origin.saml.sloUrl, inResponseTo: current.origin?.requestId ?? null, partial });
  sendMessage(res, tenant, origin, keys, 'SAMLResponse', 'LogoutResponse', xml, current.origin?.relayState ?? null);
}

function logoutRequestXml(i: { id: string; idpEntityId: string; destination: string; nameId: string; nameIdFormat: string; spNameQualifier: string | null; sessionIndex: string }): string {
  const now = new Date();
  const spq = i.spNameQualifier ? ` NameQualifier="${escapeXmlAttr(i.idpEntityId)}" SPNameQualifier="${escapeXmlAttr(i.spNameQualifier)}"` : '';
  return (
    `<samlp:LogoutRequest xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${i.id}" Version="2.0" IssueInstant="${now.toISOString()}" Destination="${escapeXmlAttr(i.destination)}" NotOnOrAfter="${new Date(now.getTime() + 5 * 60_000).toISOString()}" Reason="urn:oasis:names:tc:SAML:2.0:logout:user">` +
    `<saml:Issuer>${escapeXmlText(i.idpEntityId)}</saml:Issuer>` +
    `<saml:NameID Format="${escapeXmlAttr(i.nameIdFormat)}"${spq}>${escapeXmlText(i.nameId)}</saml:NameID>` +
    `<samlp:SessionIndex>${escapeXmlText(i.sessionIndex)}</samlp:SessionIndex></samlp:LogoutRequest>`
  );
}

function logoutResponseXml(i: { id: string; idpEntityId: string; destination: string; inResponseTo: string | null; partial: boolean }): string {
  const irt = i.inResponseTo ? ` InResponseTo="${escapeXmlAttr(i.inResponseTo)}"` : '';
  // SAML Core §3.7.3.2: when not every participant confirmed, top-level Success with PartialLogout.
  const status = i.partial
    ? `<samlp:StatusCode Value="${STATUS.success}"><samlp:StatusCode Value="${STATUS.partial}"/></samlp:StatusCode>`
    : `<samlp:StatusCode Value="${STATUS.success}"/>`;
  return (
    `<samlp:LogoutResponse xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${i.id}" Version="2.0" IssueInstant="${new Date().toISOString()}" Destination="${escapeXmlAttr(i.destination)}"${irt}>` +
    `<saml:Issuer>${escapeXmlText(i.idpEntityId)}</saml:Issuer><samlp:Status>${status}</samlp:Status></samlp:LogoutResponse>`
  );
}

/**
 * Sends a logout message to an SP's registered SLO endpoint (never a URL from the request):
 * HTTP-Redirect with the query signature of SAML Bindings §3.4.4.1, or HTTP-POST with an
 * enveloped signature on an auto-POST page.
 */
function sendMessage(res: Response, tenant: TenantRecord, sp: SamlApplication, keys: IdpSigningMaterial, field: 'SAMLRequest' | 'SAMLResponse', root: string, xml: string, relayState: string | null): void {
  const destination = sp.saml.sloUrl!;
  const algorithm = SIGNATURE_ALGORITHMS[sp.saml.signatureAlgorithm as keyof typeof SIGNATURE_ALGORITHMS] ?? SIGNATURE_ALGORITHMS['rsa-sha256'];
  if (sp.saml.sloBinding === 'HTTP-POST') {
    renderAutoPost(res, { tenantId: tenant.tenantId, action: destination, fieldName: field, message: signMessage(xml, root, keys, algorithm), relayState });
    return;
  }
  let query = `${field}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`;
  if (relayState !== null) query += `&RelayState=${encodeURIComponent(relayState)}`;
  query += `&SigAlg=${encodeURIComponent(algorithm)}`;
  const signer = createSign(algorithm.endsWith('sha512') ? 'RSA-SHA512' : 'RSA-SHA256');
  signer.update(query);
  query += `&Signature=${encodeURIComponent(signer.sign(keys.privateKeyPem, 'base64'))}`;
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(303, `${destination}${destination.includes('?') ? '&' : '?'}${query}`);
}
