/**
 * Logout propagation (issue 8: RP-initiated and back-channel logout "both tied to the Gatehouse
 * session so logging out anywhere ends it everywhere"). When a Gatehouse session ends (logout,
 * admin expiry, single-session rule, suspension: `onSsoSessionEnd`), every oidc-provider session
 * linked to it ends: each client that took part and registered a `backchannel_logout_uri` gets a
 * logout token (OpenID Connect Back-Channel Logout 1.0 §2.4, with `sid`), and the session's grants
 * are revoked unless they were issued for offline access (as oidc-provider's own end_session does).
 */
import type { EndedSsoSession } from '../auth/sso-session.js';
import type { ConsentWithdrawnEvent } from '../sso/consents/consent.service.js';
import { Application } from '../sso/applications/application.model.js';
import { revokeGrantArtifacts, revokeUserClientGrants } from './adapter.js';
import { OidcArtifact } from './artifact.model.js';
import { providerFor, type OidcDeps } from './provider.js';

/** What this module uses of oidc-provider's Client (backchannelLogout is untyped in @types/oidc-provider). */
interface BackchannelClient {
  backchannelLogoutUri?: string;
  backchannelLogout(sub: string, sid: string): Promise<void>;
}

interface SessionPayload {
  accountId?: string;
  authorizations?: Record<string, { sid?: string; grantId?: string; persistsLogout?: boolean }>;
}

export async function propagateSsoLogout(ended: EndedSsoSession, deps: OidcDeps): Promise<void> {
  const sessions = await OidcArtifact.find({ tenantId: ended.tenantId, ssoSessionId: ended.sessionId, model: 'Session' }).select('_id payload').lean();
  if (sessions.length === 0) return;
  const tp = await providerFor({ tenantId: ended.tenantId, accountId: ended.accountId }, deps);
  for (const s of sessions) {
    // Deleted first: a concurrent authorization with this session cookie then finds no session.
    const removed = await OidcArtifact.deleteOne({ _id: s._id, tenantId: ended.tenantId });
    if (removed.deletedCount !== 1) continue; // another process is propagating this one
    const payload = JSON.parse(s.payload) as SessionPayload;
    const accountId = payload.accountId ?? ended.userId;
    const deliveries: Promise<void>[] = [];
    for (const [clientId, auth] of Object.entries(payload.authorizations ?? {})) {
      if (auth.grantId && !auth.persistsLogout) await revokeGrantArtifacts(ended.tenantId, auth.grantId);
      const client = (await tp.provider.Client.find(clientId)) as unknown as BackchannelClient | undefined;
      if (!client?.backchannelLogoutUri || !auth.sid) continue;
      deliveries.push(
        client.backchannelLogout(accountId, auth.sid).then(
          () => deps.logger.info({ event: 'oidc.backchannelLogout', tenantId: ended.tenantId, clientId, reason: ended.reason }, 'back-channel logout delivered'),
          (err: unknown) => deps.logger.warn({ err, tenantId: ended.tenantId, clientId }, 'back-channel logout delivery failed'),
        ),
      );
    }
    await Promise.all(deliveries);
  }
}

/** A withdrawn consent revokes every grant the user gave the application, with its tokens. */
export async function revokeOnConsentWithdrawn(event: ConsentWithdrawnEvent, deps: OidcDeps): Promise<void> {
  const app = await Application.findOne({ tenantId: event.tenantId, applicationId: event.applicationId }).select('oidc.clientId').lean();
  const clientId = app?.oidc?.clientId;
  if (!clientId) return;
  const revoked = await revokeUserClientGrants(event.tenantId, event.userId, clientId);
  deps.logger.info({ event: 'oidc.consentWithdrawn', tenantId: event.tenantId, clientId, userId: event.userId, revoked }, 'grants revoked after a consent withdrawal');
}
