/**
 * What the protocols (src/oidc, src/saml) ask at sign-in: may this tenant user use this
 * application? (issue 8 "who may sign in": all tenant users, or assigned users and groups.)
 *
 * Only the application's own assignment rule is decided here. The caller has already checked
 * that the user exists and is ACTIVATED (the login pipeline) and that the application belongs to
 * the tenant (it was looked up by `protocolKey` under `tenantId`). Sub accounts and the main
 * account sign in to applications through `SSO:View/accessApplication` and `memberLoginPolicy`,
 * which are not tenant users and are not decided here.
 */
import type { StoredApplication } from './application.model.js';
import { ApplicationPrincipal } from './application-principal.model.js';

export type ApplicationAccessRef = Pick<StoredApplication, 'applicationId' | 'accessScope'>;

/**
 * True when `accessScope` is ALL_USERS, or the user or one of its groups is assigned to the
 * application. One indexed lookup (tenantId, applicationId, principalId ∈ {user, groups}) that
 * reads only this user's rows, whatever the size of the tenant (ARCHITECTURE.md "Scale").
 * Anything but the two known scopes is refused (fail closed).
 */
export async function mayUseApplication(tenantId: string, app: ApplicationAccessRef, userId: string, groupIds: readonly string[]): Promise<boolean> {
  if (app.accessScope === 'ALL_USERS') return true;
  if (app.accessScope !== 'ASSIGNED') return false;
  const principalIds = [userId, ...groupIds].filter((id) => typeof id === 'string' && id.length > 0);
  if (principalIds.length === 0) return false;
  const found = await ApplicationPrincipal.exists({ tenantId, applicationId: app.applicationId, principalId: { $in: principalIds } });
  return found !== null;
}

/** The ids of the applications a user (directly or through these groups) is assigned to: for the portal's list. */
export async function assignedApplicationIds(tenantId: string, userId: string, groupIds: readonly string[]): Promise<string[]> {
  const ids = await ApplicationPrincipal.distinct('applicationId', { tenantId, principalId: { $in: [userId, ...groupIds] } });
  return ids.map(String).sort();
}

/**
 * A user or group was deleted: it is no longer assigned to any application (the principal lists
 * stay truthful, as assignment targets do). Called by the user and group deletes, before the
 * group record goes, so an interrupted delete redoes it on retry. Returns how many were removed.
 */
export async function removeDeletedApplicationPrincipal(tenantId: string, principalId: string): Promise<number> {
  return (await ApplicationPrincipal.deleteMany({ tenantId, principalId })).deletedCount;
}
