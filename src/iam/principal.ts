/**
 * Who is calling the admin API. Resolved once per request by authn/authenticate.ts from a
 * console session, an access-key signature or STS credentials; the authorizer turns it into the
 * policy engine's Principal. ARCHITECTURE.md "The policy engine": the main account is not subject
 * to policies; a sub account's policies are its own plus its groups'; a role session's are the role's.
 */
import type { Principal } from '../policy/index.js';

export type Via = 'console' | 'accessKey' | 'sts';

interface Base {
  /** The account (member number) the principal acts in. */
  accountId: number;
  via: Via;
  /** True when the session or credential was established with a second factor. */
  mfa: boolean;
  /** Console session id (hash) or credential id, for audit and logout. */
  credentialId: string;
}

export interface RootPrincipal extends Base {
  kind: 'Root';
  loginId: string;
}

export interface SubAccountPrincipal extends Base {
  kind: 'SubAccount';
  subAccountId: string;
  loginId: string;
  name: string;
  tags: Record<string, string>;
}

export interface RolePrincipal extends Base {
  kind: 'Role';
  roleId: string;
  roleName: string;
  roleNrn: string;
  /** `ncp:sourceIdentityId`: the sub account (account roles) or the SSO user (SSO roles). */
  sourceIdentityId: string;
  sourceIdentityType: 'SubAccount' | 'SsoUser';
}

export type AdminPrincipal = RootPrincipal | SubAccountPrincipal | RolePrincipal;

/** Stable key of a principal for caches (compiled policy sets). */
export function principalKey(p: AdminPrincipal): string {
  switch (p.kind) {
    case 'Root':
      return `root:${p.accountId}`;
    case 'SubAccount':
      return `sub:${p.accountId}:${p.subAccountId}`;
    case 'Role':
      return `role:${p.accountId}:${p.roleId}:${p.sourceIdentityId}`;
  }
}

/** The policy engine's view (principal-property condition keys, reference/ncloud-model.md §3). */
export function toPolicyPrincipal(p: AdminPrincipal): Principal {
  switch (p.kind) {
    case 'Root':
      return { type: 'Root', id: p.loginId, name: p.loginId, uuid: String(p.accountId) };
    case 'SubAccount':
      return { type: 'SubAccount', id: p.loginId, name: p.name, uuid: p.subAccountId, tags: p.tags };
    case 'Role':
      return {
        type: 'Role',
        id: p.roleName,
        name: p.roleName,
        uuid: p.roleId,
        sourceIdentityId: p.sourceIdentityId,
        sourceIdentityType: p.sourceIdentityType,
      };
  }
}

/** What an audit event records of the actor: ids, never credentials. */
export function actorOf(p: AdminPrincipal): { kind: AdminPrincipal['kind']; id: string; name: string; via: Via; sourceIdentityId?: string } {
  switch (p.kind) {
    case 'Root':
      return { kind: 'Root', id: String(p.accountId), name: p.loginId, via: p.via };
    case 'SubAccount':
      return { kind: 'SubAccount', id: p.subAccountId, name: p.loginId, via: p.via };
    case 'Role':
      return { kind: 'Role', id: p.roleId, name: p.roleName, via: p.via, sourceIdentityId: p.sourceIdentityId };
  }
}
