/**
 * Resolves the admin principal of a request (ARCHITECTURE.md "Endpoint map": console session
 * cookie, access key + Ncloud signature v2, or STS temporary credentials) and enforces the
 * principal's own access rules: status, console/API access flags, consolePermitIps and
 * apiAllowSources (client IP through trusted proxies only), credential generations (suspension
 * and password reset end sessions and STS credentials at once).
 */
import type { Request, RequestHandler } from 'express';
import type { Keyring } from '../../db/encryption.js';
import { clientIp } from '../../http/client-ip.js';
import { AppError } from '../../shared/errors.js';
import { IpAllowList } from '../../shared/ip.js';
import { AccessKey, accessKeySecretContext } from '../access-keys/access-key.model.js';
import { touchAccessKey } from '../access-keys/access-key.service.js';
import { Account } from '../accounts/account.model.js';
import type { AdminPrincipal, SubAccountPrincipal } from '../principal.js';
import { buildRoleNrn } from '../nrn.js';
import { Role } from '../roles/role.model.js';
import { findSession, touchSession, type ConsoleSessionRecord } from '../sessions/session.service.js';
import { STS_KEY_PREFIX, StsCredential, stsSecretContext } from '../sts/sts-credential.model.js';
import { SubAccount } from '../sub-accounts/sub-account.model.js';
import { tagRecord } from '../../shared/tags.js';
import { SIGNATURE_HEADERS, timestampIsFresh, verifySignature } from './signature.js';
import { checkSsoRoleCredentialSource, checkSsoRoleSession } from '../../portal/sso-role-session.js';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by authenticate(): who is calling the admin API. */
    principal?: AdminPrincipal;
    /** The console session behind the principal, when it came from the cookie. */
    consoleSession?: ConsoleSessionRecord;
  }
}

export interface AuthnDeps {
  keyring: Keyring;
  /** Cookie name of console sessions (`__Host-` prefixed on HTTPS). */
  sessionCookie: string;
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

const unauthenticated = (detail: string): AppError => new AppError('UNAUTHENTICATED', detail);

async function loadActiveSubAccount(accountId: number, subAccountId: string): Promise<NonNullable<Awaited<ReturnType<typeof findSub>>>> {
  const sub = await findSub(accountId, subAccountId);
  if (!sub) throw unauthenticated('the credentials belong to a sub account that no longer exists');
  if (sub.status !== 'active') throw new AppError('FORBIDDEN', 'the sub account is suspended');
  return sub;
}

function findSub(accountId: number, subAccountId: string) {
  return SubAccount.findOne({ accountId, subAccountId })
    .select('subAccountId loginId name status canConsoleAccess canAPIGatewayAccess consolePermitIps useApiAllowSource apiAllowSources tags credentialGeneration')
    .lean();
}

function subPrincipal(sub: NonNullable<Awaited<ReturnType<typeof findSub>>>, accountId: number, via: AdminPrincipal['via'], mfa: boolean, credentialId: string): SubAccountPrincipal {
  return { kind: 'SubAccount', accountId, subAccountId: sub.subAccountId, loginId: sub.loginId, name: sub.name, tags: tagRecord(sub.tags), via, mfa, credentialId };
}

async function fromSignature(req: Request, deps: AuthnDeps, accessKey: string): Promise<AdminPrincipal> {
  const timestamp = header(req, SIGNATURE_HEADERS.timestamp);
  const signature = header(req, SIGNATURE_HEADERS.signature);
  if (!timestamp || !signature) throw unauthenticated(`signed requests need ${SIGNATURE_HEADERS.timestamp} and ${SIGNATURE_HEADERS.signature}`);
  if (!timestampIsFresh(timestamp)) throw unauthenticated(`${SIGNATURE_HEADERS.timestamp} is not within 5 minutes of the server time`);
  if (!/^[A-Za-z0-9]{16,64}$/.test(accessKey)) throw unauthenticated('unknown access key');
  const ip = clientIp(req);

  if (accessKey.startsWith(STS_KEY_PREFIX)) {
    // Unscoped: the key id is what identifies the account.
    const cred = await StsCredential.findOne({ accessKey }).select('+secretEncrypted').setOptions({ unscoped: true }).lean();
    if (!cred) throw unauthenticated('unknown or expired temporary credentials');
    const secret = deps.keyring.decrypt(cred.secretEncrypted, stsSecretContext(accessKey));
    if (!verifySignature(secret, req.method, req.originalUrl, timestamp, accessKey, signature)) throw unauthenticated('the signature does not match');
    if (cred.roleId) {
      const role = await Role.findOne({ accountId: cred.accountId, roleId: cred.roleId }).select('roleId roleName status credentialGeneration').lean();
      if (!role || role.status !== 'active' || role.credentialGeneration !== cred.roleGeneration) throw unauthenticated('the temporary credentials were revoked');
      if (cred.subAccountId) {
        const sub = await loadActiveSubAccount(cred.accountId, cred.subAccountId);
        if (sub.credentialGeneration !== cred.subAccountGeneration) throw unauthenticated('the temporary credentials were revoked');
      }
      if (cred.sourceIdentityType === 'SsoUser') {
        const source = await checkSsoRoleCredentialSource(cred, ip);
        if (source === 'ipRefused') throw new AppError('FORBIDDEN', 'the request comes from a source outside the assignment’s API IP ACLs');
        if (source !== 'ok') throw unauthenticated('the temporary credentials were revoked');
      }
      return {
        kind: 'Role',
        accountId: cred.accountId,
        roleId: role.roleId,
        roleName: role.roleName,
        roleNrn: buildRoleNrn(cred.accountId, role.roleId),
        sourceIdentityId: cred.sourceIdentityId ?? cred.subAccountId ?? '',
        sourceIdentityType: cred.sourceIdentityType === 'SsoUser' ? 'SsoUser' : 'SubAccount',
        via: 'sts',
        mfa: cred.useMfa,
        credentialId: accessKey,
      };
    }
    if (!cred.subAccountId) throw unauthenticated('unknown or expired temporary credentials');
    const sub = await loadActiveSubAccount(cred.accountId, cred.subAccountId);
    if (sub.credentialGeneration !== cred.subAccountGeneration) throw unauthenticated('the temporary credentials were revoked');
    enforceApiAccess(sub, ip);
    return subPrincipal(sub, cred.accountId, 'sts', cred.useMfa, accessKey);
  }

  const key = await AccessKey.findOne({ accessKey }).select('+secretEncrypted').setOptions({ unscoped: true }).lean();
  if (!key) throw unauthenticated('unknown access key');
  const secret = deps.keyring.decrypt(key.secretEncrypted, accessKeySecretContext(accessKey));
  if (!verifySignature(secret, req.method, req.originalUrl, timestamp, accessKey, signature)) throw unauthenticated('the signature does not match');
  if (key.status !== 'active') throw unauthenticated('the access key is inactive');
  // "Last used" for the key list; written at most once a minute per key, and never fails the call.
  await touchAccessKey(key.accountId, accessKey, key.lastUsedAt).catch((err: unknown) => req.log.warn({ err, accessKey }, 'could not record the access key use'));
  if (key.owner?.type === 'root') {
    const acc = await Account.findOne({ memberNo: key.accountId }).select('rootLoginId').lean();
    if (!acc) throw unauthenticated('unknown access key');
    return { kind: 'Root', accountId: key.accountId, loginId: acc.rootLoginId, via: 'accessKey', mfa: false, credentialId: accessKey };
  }
  const sub = await loadActiveSubAccount(key.accountId, key.owner?.id ?? '');
  enforceApiAccess(sub, ip);
  return subPrincipal(sub, key.accountId, 'accessKey', false, accessKey);
}

function enforceApiAccess(sub: { canAPIGatewayAccess: boolean; useApiAllowSource: boolean; apiAllowSources: string[] }, ip: string): void {
  if (!sub.canAPIGatewayAccess) throw new AppError('FORBIDDEN', 'API access is not enabled for this sub account');
  if (sub.useApiAllowSource && !new IpAllowList(sub.apiAllowSources).allows(ip)) {
    throw new AppError('FORBIDDEN', 'the request comes from a source outside apiAllowSources');
  }
}

async function fromSession(req: Request, session: ConsoleSessionRecord): Promise<AdminPrincipal> {
  const ip = clientIp(req);
  const credentialId = session.tokenHash;
  if (session.kind === 'SsoRole') return fromSsoRoleSession(session, ip);
  if (session.kind === 'Root') {
    const acc = await Account.findOne({ memberNo: session.accountId }).select('rootLoginId rootCredentialGeneration').lean();
    if (!acc || acc.rootCredentialGeneration !== session.credentialGeneration) throw unauthenticated('the session has ended; sign in again');
    return { kind: 'Root', accountId: session.accountId, loginId: acc.rootLoginId, via: 'console', mfa: session.mfa, credentialId };
  }
  const sub = await loadActiveSubAccount(session.accountId, session.subAccountId ?? '');
  if (sub.credentialGeneration !== session.credentialGeneration) throw unauthenticated('the session has ended; sign in again');
  if (!sub.canConsoleAccess) throw new AppError('FORBIDDEN', 'console access is not enabled for this sub account');
  const acc = await Account.findOne({ memberNo: session.accountId }).select('settings.consoleAccessIps').lean();
  const permit = [...(sub.consolePermitIps ?? [])];
  const accountWide = acc?.settings?.consoleAccessIps ?? [];
  if (permit.length && !new IpAllowList(permit).allows(ip)) throw new AppError('FORBIDDEN', 'the console is not allowed from this address (consolePermitIps)');
  if (accountWide.length && !new IpAllowList(accountWide).allows(ip)) throw new AppError('FORBIDDEN', 'the console is not allowed from this address (account console access IPs)');
  if (session.switchedRoleId) {
    const expired = session.switchedRoleExpiresAt != null && session.switchedRoleExpiresAt.getTime() <= Date.now();
    // The role's session time is up: the user is back in their own sub account, as after
    // "return to sub account" (suspension and revocation, below, end the whole session instead).
    if (expired) return subPrincipal(sub, session.accountId, 'console', session.mfa, credentialId);
    // Unscoped: account roles are switched into from sessions of other accounts; role ids are unique.
    const role = await Role.findOne({ roleId: session.switchedRoleId }).setOptions({ unscoped: true }).select('accountId roleId roleName status credentialGeneration').lean();
    if (!role || role.status !== 'active' || role.credentialGeneration !== session.switchedRoleGeneration) {
      throw unauthenticated('the role session has ended; sign in again');
    }
    return {
      kind: 'Role',
      accountId: role.accountId,
      roleId: role.roleId,
      roleName: role.roleName,
      roleNrn: buildRoleNrn(role.accountId, role.roleId),
      sourceIdentityId: sub.subAccountId,
      sourceIdentityType: 'SubAccount',
      via: 'console',
      mfa: session.mfa,
      credentialId,
    };
  }
  return subPrincipal(sub, session.accountId, 'console', session.mfa, credentialId);
}

/**
 * A console session an SSO user opened from the user portal by switching into an SSO role: the
 * role acts (`ncp:principalType = IamRole`, `ncp:sourceIdentityId` = the SSO user) while the role,
 * its assignment and the originating SSO session live (src/portal/sso-role-session.ts).
 */
async function fromSsoRoleSession(session: ConsoleSessionRecord, ip: string): Promise<AdminPrincipal> {
  const live = await checkSsoRoleSession(session, ip);
  if (!live.ok) {
    if (live.reason === 'ipRefused') throw new AppError('FORBIDDEN', 'the console is not allowed from this address (the assignment’s console IP ACLs)');
    throw unauthenticated('the role session has ended; switch role again from the user portal');
  }
  return {
    kind: 'Role',
    accountId: live.role.accountId,
    roleId: live.role.roleId,
    roleName: live.role.roleName,
    roleNrn: buildRoleNrn(live.role.accountId, live.role.roleId),
    sourceIdentityId: live.user.userId,
    sourceIdentityType: 'SsoUser',
    via: 'console',
    mfa: live.mfa,
    credentialId: session.tokenHash,
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Authenticates admin API requests; 401 without valid credentials. */
export function authenticate(deps: AuthnDeps): RequestHandler {
  return (req, _res, next) => {
    (async () => {
      const accessKey = header(req, SIGNATURE_HEADERS.accessKey);
      if (accessKey !== undefined) {
        req.principal = await fromSignature(req, deps, accessKey);
        return;
      }
      const token = (req.cookies as Record<string, string> | undefined)?.[deps.sessionCookie];
      if (!token) throw unauthenticated('sign in to the console, or sign the request with an access key');
      const session = await findSession(token);
      if (!session) throw unauthenticated('the session has ended; sign in again');
      // Cookie-authenticated writes need the session's synchronizer token (CSRF, security-bar §4).
      if (!SAFE_METHODS.has(req.method) && header(req, 'x-csrf-token') !== session.csrfToken) {
        throw new AppError('FORBIDDEN', 'missing or wrong X-CSRF-Token for a cookie-authenticated request');
      }
      // An expired or reset password is changed on the console's password page before anything else.
      if (session.mustChangePassword) throw new AppError('FORBIDDEN', 'the password must be changed first (console: /console/password)');
      req.principal = await fromSession(req, session);
      req.consoleSession = session;
      await touchSession(session);
    })().then(() => next(), next);
  };
}
