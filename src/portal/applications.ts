/**
 * The applications a user may launch from the portal (issue 7 "User portal": "filled in as the
 * protocol issues land"), by name, each from the module that owns its protocol:
 * - SAML applications that allow IdP-initiated sign-in and that the user may use
 *   (src/saml/idp/portal.ts `listSamlPortalApplications`): a POST to
 *   `/tenants/{t}/saml/idp/init/{applicationId}` carrying the SAML module's session-bound launch
 *   token (`samlLaunchToken`, field `csrf`), never a GET (security-bar §6 item 11);
 * - OIDC applications with an initiate-login URI that the user may use (src/oidc/portal.ts
 *   `listOidcPortalApplications`): a link to it with `iss` (OIDC Core §4, third-party initiated
 *   login). An application without one does not appear (issue 8: the portal cannot start an
 *   OIDC sign-in on the application's behalf).
 */
import { listOidcPortalApplications } from '../oidc/portal.js';
import { listSamlPortalApplications } from '../saml/idp/portal.js';

export interface PortalApplication {
  applicationId: string;
  name: string;
  protocol: 'OAUTH2' | 'SAML';
  /** A link to the application, or a same-origin POST carrying the SAML launch token. */
  launch: { method: 'GET'; url: string } | { method: 'POST'; path: string; token: 'samlLaunch' };
  description: string;
}

export async function listPortalApplications(tenantId: string, userId: string, opts: { baseUrl?: string } = {}): Promise<PortalApplication[]> {
  const [saml, oidc] = await Promise.all([listSamlPortalApplications(tenantId, userId), listOidcPortalApplications(tenantId, userId, opts.baseUrl)]);
  const out: PortalApplication[] = saml.map((a) => ({
    applicationId: a.applicationId,
    name: a.name,
    protocol: 'SAML',
    description: a.description,
    launch: { method: 'POST', path: a.launchPath, token: 'samlLaunch' },
  }));
  // Only http(s) links are ever offered (the admin API refuses other schemes; defence in depth).
  for (const a of oidc) if (a.launch.method === 'GET' && /^https?:\/\//i.test(a.launch.url)) out.push(a);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
