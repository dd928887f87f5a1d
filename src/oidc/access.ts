/**
 * Who may sign in to an application (issue 8 "Interactions": who-may-sign-in enforced): an
 * ACTIVATED user of the tenant, and the application's own rule (`mayUseApplication`: all users,
 * or the assigned users and groups). Fails closed: an unknown or suspended user may use nothing.
 */
import { mayUseApplication } from '../sso/applications/application-access.js';
import { SsoUser } from '../sso/users/user.model.js';
import type { ClientApplication } from './clients.js';

export async function userMayUseApplication(tenantId: string, app: Pick<ClientApplication, 'applicationId' | 'accessScope'>, userId: string): Promise<boolean> {
  const user = await SsoUser.findOne({ tenantId, userId }).select('status groupIds').lean();
  if (!user || user.status !== 'ACTIVATED') return false;
  return mayUseApplication(tenantId, app, userId, user.groupIds);
}

/** The same rule for a user already read (the provider's per-request read, src/oidc/account.ts). */
export function loadedUserMayUseApplication(
  tenantId: string,
  app: Pick<ClientApplication, 'applicationId' | 'accessScope'>,
  user: { userId: string; status: string; groupIds: string[] } | null,
): Promise<boolean> | false {
  if (!user || user.status !== 'ACTIVATED') return false;
  return mayUseApplication(tenantId, app, user.userId, user.groupIds);
}
