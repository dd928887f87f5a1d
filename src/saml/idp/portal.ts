/**
 * What the user portal needs from the SAML IdP (issue 9 "IdP-initiated SSO by POST from the
 * portal with a CSRF token"): the SAML applications this user may launch, and the launch form's
 * CSRF token.
 *
 * The token is an HMAC (per-tenant IdP secret) of the browser's session id and session token
 * hash: it is valid only in the session that rendered the portal page, dies with the session (and
 * at every step-up, which replaces the token), and cannot be computed by another site. The
 * portal puts it in a hidden `csrf` field of `POST /tenants/{t}/saml/idp/init/{applicationId}`.
 */
import { createHmac } from 'node:crypto';
import { sameSecret } from '../../shared/tokens.js';
import type { SsoSessionRecord } from '../../auth/sso-session.js';
import type { Keyring } from '../../db/encryption.js';
import { mayUseApplication } from '../../sso/applications/application-access.js';
import { Application, type StoredApplication } from '../../sso/applications/application.model.js';
import { SsoUser } from '../../sso/users/user.model.js';
import { tenantIdpSecret } from './claims.js';

export interface SamlPortalApplication {
  applicationId: string;
  name: string;
  description: string;
  /** Where the launch form posts (with the `csrf` field from samlLaunchToken). */
  launchPath: string;
}

export function samlLaunchPath(tenantId: string, applicationId: string): string {
  return `/tenants/${tenantId}/saml/idp/init/${applicationId}`;
}

/** SAML applications that allow IdP-initiated sign-in and that this user may use, by name. */
export async function listSamlPortalApplications(tenantId: string, userId: string): Promise<SamlPortalApplication[]> {
  const user = await SsoUser.findOne({ tenantId, userId }).select('groupIds status').lean();
  if (!user || user.status !== 'ACTIVATED') return [];
  const apps = await Application.find({ tenantId, protocol: 'SAML' }).select('applicationId name description accessScope saml.idpInitiatedAllowed').lean<StoredApplication[]>();
  const out: SamlPortalApplication[] = [];
  for (const app of apps) {
    if (!app.saml?.idpInitiatedAllowed) continue;
    if (!(await mayUseApplication(tenantId, app, userId, user.groupIds ?? []))) continue;
    out.push({ applicationId: app.applicationId, name: app.name, description: app.description ?? '', launchPath: samlLaunchPath(tenantId, app.applicationId) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function launchMac(secret: Buffer, session: Pick<SsoSessionRecord, 'sessionId' | 'tokenHash'>): string {
  return createHmac('sha256', secret).update(`launch\n${session.sessionId}\n${session.tokenHash ?? ''}`).digest('base64url');
}

/** The CSRF token of the portal's launch forms for this session. */
export async function samlLaunchToken(tenantId: string, session: Pick<SsoSessionRecord, 'sessionId' | 'tokenHash'>, keyring: Keyring): Promise<string> {
  return launchMac(await tenantIdpSecret(tenantId, keyring), session);
}

export async function verifySamlLaunchToken(tenantId: string, session: Pick<SsoSessionRecord, 'sessionId' | 'tokenHash'>, token: unknown, keyring: Keyring): Promise<boolean> {
  if (typeof token !== 'string' || token.length !== 43) return false;
  return sameSecret(token, await samlLaunchToken(tenantId, session, keyring));
}
