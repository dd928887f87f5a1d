/**
 * The applications a user may launch from the portal (issue 7 "User portal": "filled in as the
 * protocol issues land"), by name:
 * - SAML applications that allow IdP-initiated sign-in and that the user may use
 *   (src/saml/idp/portal.ts `listSamlPortalApplications`): a POST to
 *   `/tenants/{t}/saml/idp/init/{applicationId}` carrying the SAML module's session-bound launch
 *   token (`samlLaunchToken`, field `csrf`), never a GET (security-bar §6 item 11);
 * - OIDC applications the user may use (`mayUseApplication`: ALL_USERS, or assigned to the user
 *   or one of its groups) that say where a sign-in starts: their `initiateLoginUri` with
 *   `iss` (OIDC Core §4, third-party initiated login), else their `applicationUrl`.
 * Only http(s) URLs are ever offered as links (the admin API already refuses other schemes).
 */
import { listSamlPortalApplications } from '../saml/idp/portal.js';
import { mayUseApplication } from '../sso/applications/application-access.js';
import { Application, type StoredApplication } from '../sso/applications/application.model.js';
import { SsoUser } from '../sso/users/user.model.js';

export interface PortalApplication {
  applicationId: string;
  name: string;
  protocol: 'OAUTH2' | 'SAML';
  /** A link to the application, or a same-origin POST carrying the SAML launch token. */
  launch: { method: 'GET'; url: string } | { method: 'POST'; path: string; token: 'samlLaunch' };
  description: string;
}

function isWebUrl(u: string): boolean {
  try {
    const { protocol } = new URL(u);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/** Where an OIDC application's sign-in starts, or undefined when it names none. */
function oidcLaunchUrl(app: Pick<StoredApplication, 'applicationUrl' | 'oidc'>, issuer: string | undefined): string | undefined {
  const initiate = app.oidc?.initiateLoginUri;
  if (initiate && issuer && isWebUrl(initiate)) {
    const url = new URL(initiate);
    url.searchParams.set('iss', issuer);
    return url.toString();
  }
  return app.applicationUrl && isWebUrl(app.applicationUrl) ? app.applicationUrl : undefined;
}

export async function listPortalApplications(tenantId: string, userId: string, opts: { baseUrl?: string } = {}): Promise<PortalApplication[]> {
  const user = await SsoUser.findOne({ tenantId, userId }).select('groupIds status').lean();
  if (!user || user.status !== 'ACTIVATED') return [];
  const issuer = opts.baseUrl ? `${opts.baseUrl}/tenants/${tenantId}` : undefined;
  const [saml, oidcApps] = await Promise.all([
    listSamlPortalApplications(tenantId, userId),
    Application.find({ tenantId, protocol: 'OAUTH2' }).select('applicationId name description accessScope applicationUrl oidc.initiateLoginUri').lean<StoredApplication[]>(),
  ]);
  const out: PortalApplication[] = saml.map((a) => ({
    applicationId: a.applicationId,
    name: a.name,
    protocol: 'SAML',
    description: a.description,
    launch: { method: 'POST', path: a.launchPath, token: 'samlLaunch' },
  }));
  for (const app of oidcApps) {
    const url = oidcLaunchUrl(app, issuer);
    if (!url || !(await mayUseApplication(tenantId, app, userId, user.groupIds ?? []))) continue;
    out.push({ applicationId: app.applicationId, name: app.name, protocol: 'OAUTH2', description: app.description ?? '', launch: { method: 'GET', url } });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
