/**
 * Accounts and claims of the OpenID Provider (issue 8 "Claims"): the account id is the SSO user's
 * `userId`; claim values come from the user's profile (reference/ncloud-model.md §2B, scope
 * meanings: `openid`/`profile` = account type, login id, member unique id, user name; `groups` =
 * the same plus groups; `email` = email), plus Gatehouse's `roles`: the SSO roles of the user's
 * active assignments (`resolveUserAccess`), each NRN naming the account the role lives in.
 *
 * A user who is not ACTIVATED has no account: oidc-provider then refuses to issue or refresh
 * tokens and userinfo answers invalid_token, so a suspension takes effect at the next refresh.
 */
import type { Account, AccountClaims, KoaContextWithOIDC } from 'oidc-provider';
import { resolveUserAccess } from '../sso/access/resolve-access.js';
import { SsoGroup } from '../sso/groups/group.model.js';
import { SsoUser } from '../sso/users/user.model.js';

/** Scopes and the claims they release (oidc-provider `claims` configuration). */
export const SCOPE_CLAIMS = {
  // How and when the user authenticated go into every ID token (the login pipeline's result); userinfo has no such values.
  openid: ['sub', 'acr', 'amr', 'auth_time'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username', 'login_id', 'user_id', 'account_type'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
  roles: ['roles'],
} as const;

/** Ncloud's "account type" of an SSO user signing in to an application. */
const ACCOUNT_TYPE = 'SSO_USER';

/** The fields of an SSO user the provider needs (claims and who may sign in). */
const USER_FIELDS = 'userId loginId userProfile status groupIds';
const usersOfRequest = new WeakMap<object, Map<string, ReturnType<typeof readUser>>>();

function readUser(tenantId: string, userId: string) {
  return SsoUser.findOne({ tenantId, userId }).select(USER_FIELDS).lean().exec();
}

/**
 * The user as read once within one provider request: an authorization with a live session both
 * checks who may sign in (src/oidc/access.ts) and loads the account (findAccount), one read
 * instead of two (bench/oidc.ts). Remembered for that request only (its ctx), so a suspension or
 * an assignment change is seen by the next request.
 */
export function userOfRequest(ctx: object, tenantId: string, userId: string): ReturnType<typeof readUser> {
  let known = usersOfRequest.get(ctx);
  if (!known) usersOfRequest.set(ctx, (known = new Map()));
  let found = known.get(userId);
  if (!found) {
    found = readUser(tenantId, userId);
    known.set(userId, found);
  }
  return found;
}

export function findAccountIn(tenantId: string) {
  return async function findAccount(ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> {
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 64) return undefined;
    const user = await (typeof ctx === 'object' && ctx !== null ? userOfRequest(ctx, tenantId, sub) : readUser(tenantId, sub));
    if (!user || user.status !== 'ACTIVATED') return undefined;
    return {
      accountId: user.userId,
      async claims(_use: string, scope: string): Promise<AccountClaims> {
        const scopes = new Set(scope.split(' '));
        const p = user.userProfile;
        const fullName = [p?.firstName, p?.lastName].filter((x) => x).join(' ');
        const claims: AccountClaims = {
          sub: user.userId,
          name: fullName || user.loginId,
          given_name: p?.firstName || undefined,
          family_name: p?.lastName || undefined,
          preferred_username: user.loginId,
          login_id: user.loginId,
          user_id: user.userId,
          account_type: ACCOUNT_TYPE,
          email: p?.email || undefined,
          email_verified: p?.email ? Boolean(p.emailVerified) : undefined,
        };
        if (scopes.has('groups')) {
          const groups = user.groupIds.length
            ? await SsoGroup.find({ tenantId, groupId: { $in: user.groupIds } }).select('groupName').lean()
            : [];
          claims.groups = groups.map((g) => g.groupName).sort();
        }
        if (scopes.has('roles')) {
          // Strings, not objects: relying parties (mod_auth_openidc, most OIDC libraries) pass
          // arrays of strings on and drop structured values. The role NRN names its account
          // (`nrn:PUB:SubAccount::{memberNo}:Role/{roleId}`), as the SAML role attribute does.
          const access = await resolveUserAccess(tenantId, user.userId);
          claims.roles = [...new Set((access?.assignments ?? []).map((a) => a.role.roleNrn))].sort();
        }
        return claims;
      },
    };
  };
}
