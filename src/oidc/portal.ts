/**
 * OIDC applications in the user portal (issue 8 "Portal": applications with an initiate-login URI
 * appear there). The launch is OpenID Connect third-party initiated login (Core §4): a GET to the
 * application's `initiate_login_uri` with `iss` (the tenant's issuer), after which the application
 * starts an ordinary authorization request.
 */
import type { PortalApplication } from '../portal/applications.js';
import { assignedApplicationIds } from '../sso/applications/application-access.js';
import { Application } from '../sso/applications/application.model.js';
import { SsoUser } from '../sso/users/user.model.js';

/**
 * The tenant's OAUTH2 applications with an initiate-login URI that this user may use (ALL_USERS,
 * or assigned to the user or one of its groups), sorted by name. `baseUrl` (the server's public
 * URL) makes the `iss` parameter; without it the bare URI is returned.
 */
export async function listOidcPortalApplications(tenantId: string, userId: string, baseUrl?: string): Promise<PortalApplication[]> {
  const user = await SsoUser.findOne({ tenantId, userId }).select('status groupIds').lean();
  if (!user || user.status !== 'ACTIVATED') return [];
  // Every OAUTH2 application of the tenant (≤ APPLICATION_LIMIT), filtered here: the bundled
  // engine cannot index the dotted `oidc.initiateLoginUri`.
  const apps = await Application.find({ tenantId, protocol: 'OAUTH2' }).select('applicationId name description accessScope oidc.initiateLoginUri').lean();
  const launchable = apps.filter((a) => typeof a.oidc?.initiateLoginUri === 'string' && a.oidc.initiateLoginUri.length > 0);
  if (launchable.length === 0) return [];
  const assigned = launchable.some((a) => a.accessScope === 'ASSIGNED') ? new Set(await assignedApplicationIds(tenantId, userId, user.groupIds)) : new Set<string>();
  return launchable
    .filter((a) => a.accessScope === 'ALL_USERS' || (a.accessScope === 'ASSIGNED' && assigned.has(a.applicationId)))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((a): PortalApplication => {
      const url = new URL(a.oidc!.initiateLoginUri!);
      if (baseUrl) url.searchParams.set('iss', `${baseUrl}/tenants/${tenantId}`);
      return { applicationId: a.applicationId, name: a.name, protocol: 'OAUTH2', launch: { method: 'GET', url: url.href }, description: a.description ?? '' };
    });
}
