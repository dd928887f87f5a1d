/**
 * SSO users (seed S4 "User" actions; reference/ncloud-model.md §1 "SSO User"). Services take the
 * caller's tenant (always resolved from the caller's account, never from the request) and
 * validated input; they never see HTTP. Every query names the tenant, so another account's ids
 * are simply not found (404).
 *
 * Scale (ARCHITECTURE.md "Storage", issue 6): a tenant may hold a million users. The user limit
 * (`Tenant.userLimit`) is taken with an atomic quota counter before the insert, never by counting;
 * every operation on one user reads or writes that user's document only.
 */
import { randomUUID } from 'node:crypto';
import type { Keyring } from '../../db/encryption.js';
import { matchTotpStep } from '../../iam/mfa/totp.js';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { pageOf, type Page, type PageQuery } from '../../shared/pagination.js';
import { checkPasswordPolicy, describePasswordPolicyFailure, hashUserPassword } from '../../auth/password-policy.js';
import { getLoginSettings } from '../tenant/tenant.service.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { mergeTags, SSO_TAG_LIMIT } from '../shared/schemas.js';
import { ssoNrn, type TenantRecord } from '../tenant/tenant-context.js';
import { SsoUserSession, type SsoUserSessionDoc } from './user-session.model.js';
import { endSsoSession, endUserSsoSessions } from '../../auth/sso-session.js';
import { SsoUser, ssoUserMfaContext, ssoUserQuotaKey, type SsoUserDoc, type SsoUserStatus } from './user.model.js';
import type { AccessRulesInput, AllowSourcesInput, CreateUserInput, ListUsersQuery, UpdateUserInput, UserProfileInput } from './user.schemas.js';
import { escapeRegex } from '../../shared/query.js';
import { removeDeletedPrincipalTargets } from '../assignments/assignment.service.js';
import { removeDeletedApplicationPrincipal } from '../applications/application-access.js';

/** The tenant fields a user service needs. */
export type UserTenant = Pick<TenantRecord, 'tenantId' | 'accountId' | 'userLimit'>;

export interface UserView {
  userId: string;
  nrn: string;
  loginId: string;
  description: string;
  userProfile: {
    firstName: string;
    lastName: string;
    email: string;
    emailVerified: boolean;
    empNo: string;
    phoneCountryCode: string;
    phoneNo: string;
    phoneNoVerified: boolean;
    deptName: string;
  };
  accessRules: { consoleAccessAllowed: boolean; apiAccessAllowed: boolean };
  status: SsoUserStatus;
  groupIds: string[];
  tags: Tag[];
  consolePermitIps: string[];
  useApiAllowSource: boolean;
  apiAllowSources: string[];
  mfaEnabled: boolean;
  mfaRegisteredAt: string | null;
  passwordSet: boolean;
  needPasswordReset: boolean;
  lastLoginAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export type StoredUser = SsoUserDoc & { createdAt?: Date; updatedAt?: Date };

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export function toUserView(d: StoredUser): UserView {
  const p: Partial<NonNullable<StoredUser['userProfile']>> = d.userProfile ?? {};
  return {
    userId: d.userId,
    nrn: ssoNrn(d.accountId, 'User', d.userId),
    loginId: d.loginId,
    description: d.description ?? '',
    userProfile: {
      firstName: p.firstName ?? '',
      lastName: p.lastName ?? '',
      email: p.email ?? '',
      emailVerified: p.emailVerified ?? false,
      empNo: p.empNo ?? '',
      phoneCountryCode: p.phoneCountryCode ?? '',
      phoneNo: p.phoneNo ?? '',
      phoneNoVerified: p.phoneNoVerified ?? false,
      deptName: p.deptName ?? '',
    },
    accessRules: {
      consoleAccessAllowed: d.accessRules?.consoleAccessAllowed ?? true,
      apiAccessAllowed: d.accessRules?.apiAccessAllowed ?? false,
    },
    status: d.status,
    groupIds: [...d.groupIds],
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    consolePermitIps: [...d.consolePermitIps],
    useApiAllowSource: d.useApiAllowSource,
    apiAllowSources: [...d.apiAllowSources],
    mfaEnabled: d.mfaEnabled,
    mfaRegisteredAt: iso(d.mfaRegisteredAt),
    passwordSet: d.passwordChangedAt != null,
    needPasswordReset: d.needPasswordReset,
    lastLoginAt: iso(d.lastLoginAt),
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}


const notFound = (userId: string) => new AppError('NOT_FOUND', `user ${userId} does not exist`);

export async function findUser(tenantId: string, userId: string): Promise<StoredUser | null> {
  return SsoUser.findOne({ tenantId, userId }).lean<StoredUser>();
}

export async function mustFindUser(tenantId: string, userId: string): Promise<StoredUser> {
  const d = await findUser(tenantId, userId);
  if (!d) throw notFound(userId);
  return d;
}

export async function listUsers(tenant: UserTenant, q: ListUsersQuery): Promise<Page<UserView>> {
  const filter: Record<string, unknown> = { tenantId: tenant.tenantId };
  if (q.loginId) filter.loginIdKey = { $regex: `^${escapeRegex(q.loginId.toLowerCase())}` };
  if (q.status) filter.status = q.status;
  if (q.groupId) filter.groupIds = q.groupId;
  return pageOf(SsoUser.find(filter).sort({ loginIdKey: 1 }).lean<StoredUser[]>(), SsoUser.countDocuments(filter), q, toUserView);
}

export async function getUser(tenant: UserTenant, userId: string): Promise<UserView> {
  return toUserView(await mustFindUser(tenant.tenantId, userId));
}

/** Dotted `$set` paths for the profile and access-rule fields a request gives (the others are kept). */
function nestedSet(prefix: string, input: UserProfileInput | AccessRulesInput | undefined): Record<string, unknown> {
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input ?? {})) if (v !== undefined) set[`${prefix}.${k}`] = v;
  return set;
}

/**
 * The document of a new user, its password already hashed (bulk create hashes rows in parallel
 * and inserts them in order).
 */
export function newUserDocument(tenant: UserTenant, input: CreateUserInput, passwordHash: string | null) {
  return {
    accountId: tenant.accountId,
    tenantId: tenant.tenantId,
    userId: randomUUID(),
    loginId: input.loginId,
    loginIdKey: input.loginId.toLowerCase(),
    description: input.description,
    userProfile: { ...input.userProfile },
    accessRules: { ...input.accessRules },
    tags: input.tags,
    passwordHash,
    passwordChangedAt: passwordHash ? new Date() : null,
    // With a password the user changes it at first sign-in unless told otherwise.
    needPasswordReset: passwordHash ? (input.needPasswordReset ?? true) : false,
  };
}

/** Inserts a prepared user under the tenant's user limit; a duplicate login id is a 409. */
export async function insertUser(tenant: UserTenant, doc: ReturnType<typeof newUserDocument>): Promise<UserView> {
  await acquireQuota(ssoUserQuotaKey(tenant.tenantId), tenant.userLimit, 'users per tenant');
  try {
    const created = await SsoUser.create(doc);
    return toUserView(created.toObject() as StoredUser);
  } catch (err) {
    await releaseQuota(ssoUserQuotaKey(tenant.tenantId));
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `a user with login id "${doc.loginId}" already exists`);
    throw err;
  }
}

/**
 * An admin-set password (create, bulk create) against the tenant's password policy
 * (src/auth/password-policy.ts: its `passwordMinLength`, blocklist, the user's login id, e-mail
 * and names), then hashed over its NFKC form. A refused one is a 400 naming `field`, before
 * anything is written. Never logged, never echoed.
 */
export async function hashAdminSetPassword(tenantId: string, input: CreateUserInput, field = 'body.password'): Promise<string | null> {
  if (input.password === undefined) return null;
  const minLength = (await getLoginSettings(tenantId))?.passwordMinLength ?? 12;
  const p = input.userProfile;
  const policy = checkPasswordPolicy(input.password, { minLength, context: [input.loginId, p.email, p.firstName, p.lastName] });
  if (!policy.ok) {
    throw new AppError('VALIDATION_FAILED', 'the password does not meet the password policy', {
      fieldErrors: [{ field, message: describePasswordPolicyFailure(policy.reasons, minLength) }],
    });
  }
  return hashUserPassword(input.password);
}

export async function createUser(tenant: UserTenant, input: CreateUserInput): Promise<UserView> {
  const passwordHash = await hashAdminSetPassword(tenant.tenantId, input);
  return insertUser(tenant, newUserDocument(tenant, input, passwordHash));
}

export async function updateUser(tenant: UserTenant, userId: string, input: UpdateUserInput): Promise<UserView> {
  const set: Record<string, unknown> = { ...nestedSet('userProfile', input.userProfile), ...nestedSet('accessRules', input.accessRules) };
  if (input.description !== undefined) set.description = input.description;
  const d = await SsoUser.findOneAndUpdate({ tenantId: tenant.tenantId, userId }, { $set: set }, { returnDocument: 'after' }).lean<StoredUser>();
  if (!d) throw notFound(userId);
  return toUserView(d);
}

/** Deletes the user, its sessions and its assignment targets. Group memberships lived on the user, so they go with it. */
export async function deleteUser(tenant: UserTenant, userId: string): Promise<StoredUser> {
  const d = await SsoUser.findOneAndDelete({ tenantId: tenant.tenantId, userId }).lean<StoredUser>();
  if (!d) throw notFound(userId);
  await releaseQuota(ssoUserQuotaKey(tenant.tenantId));
  await endUserSsoSessions(tenant.tenantId, userId, 'deleted');
  // A deleted user is no longer a target of any assignment (target lists stay truthful).
  await removeDeletedPrincipalTargets(tenant.tenantId, userId);
  await removeDeletedApplicationPrincipal(tenant.tenantId, userId);
  return d;
}

/**
 * `changeUserStatus`: suspension ends the user's sessions at once and moves its credential
 * generation, so anything issued from an earlier sign-in stops working.
 */
export async function setUserStatus(tenant: UserTenant, userId: string, status: SsoUserStatus): Promise<UserView> {
  const update = status === 'SUSPENDED' ? { $set: { status }, $inc: { credentialGeneration: 1 } } : { $set: { status } };
  const d = await SsoUser.findOneAndUpdate({ tenantId: tenant.tenantId, userId }, update, { returnDocument: 'after' }).lean<StoredUser>();
  if (!d) throw notFound(userId);
  if (status === 'SUSPENDED') await endUserSsoSessions(tenant.tenantId, userId, 'suspended');
  return toUserView(d);
}

export async function setAllowSources(tenant: UserTenant, userId: string, input: AllowSourcesInput): Promise<UserView> {
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) set[k] = v;
  const d = await SsoUser.findOneAndUpdate({ tenantId: tenant.tenantId, userId }, { $set: set }, { returnDocument: 'after' }).lean<StoredUser>();
  if (!d) throw notFound(userId);
  return toUserView(d);
}

const MERGE_ATTEMPTS = 5;

/**
 * Rewrites the user's tags from what was read, under the revision read (compare-and-set), and
 * retries when another write came first: each stored list is one that was checked as a whole.
 */
async function rewriteTags(tenant: UserTenant, userId: string, change: (current: Tag[]) => Tag[]): Promise<UserView> {
  for (let attempt = 0; attempt < MERGE_ATTEMPTS; attempt++) {
    const cur = await mustFindUser(tenant.tenantId, userId);
    const tags = change(cur.tags.map((t) => ({ key: t.key, value: t.value })));
    const d = await SsoUser.findOneAndUpdate(
      { tenantId: tenant.tenantId, userId, revision: cur.revision },
      { $set: { tags }, $inc: { revision: 1 } },
      { returnDocument: 'after' },
    ).lean<StoredUser>();
    if (d) return toUserView(d);
  }
  throw new AppError('CONFLICT', `the tags of user ${userId} changed concurrently; try again`);
}

/** `tagUser`: sets the given keys (a key already present takes the new value); at most 20 tags. */
export async function tagUser(tenant: UserTenant, userId: string, tags: Tag[]): Promise<UserView> {
  return rewriteTags(tenant, userId, (current) => {
    const merged = mergeTags(current, tags);
    if (merged.length > SSO_TAG_LIMIT) {
      throw new AppError('VALIDATION_FAILED', `a user has at most ${SSO_TAG_LIMIT} tags`, {
        fieldErrors: [{ field: 'body.tags', message: `the user would have ${merged.length} tags; at most ${SSO_TAG_LIMIT} are allowed` }],
      });
    }
    return merged;
  });
}

/** `untagUser`: removes one key; 404 when the user has no such tag. */
export async function untagUser(tenant: UserTenant, userId: string, tagKey: string): Promise<UserView> {
  return rewriteTags(tenant, userId, (current) => {
    if (!current.some((t) => t.key === tagKey)) throw new AppError('NOT_FOUND', `user ${userId} has no tag "${tagKey}"`);
    return current.filter((t) => t.key !== tagKey);
  });
}

/**
 * `addMFADevice` by an admin (reference §1 "MFA device": one TOTP device, `encodedKey` + `otpNo`).
 * The code must match the key now (±1 step) before anything is stored (security-bar §4 "MFA
 * enrollment": confirm the first code before activation); the step it matched is recorded as used,
 * so the same code cannot sign in afterwards. The key is stored envelope-encrypted, bound to the
 * user. A user already holding a device gets 409: delete it first (AWS IAM answers the same).
 */
export async function addMfaDevice(tenant: UserTenant, userId: string, encodedKey: string, otpNo: string, keyring: Keyring): Promise<UserView> {
  const user = await mustFindUser(tenant.tenantId, userId);
  if (user.mfaEnabled) throw new AppError('CONFLICT', `user ${userId} already has an MFA device; delete it first`);
  const step = await matchTotpStep(encodedKey, otpNo);
  if (step === undefined) {
    throw new AppError('VALIDATION_FAILED', 'the one-time code does not match the key', {
      fieldErrors: [{ field: 'body.otpNo', message: 'does not match the key at the current time' }],
    });
  }
  const d = await SsoUser.findOneAndUpdate(
    { tenantId: tenant.tenantId, userId, mfaEnabled: false },
    { $set: { mfaSecretEncrypted: keyring.encrypt(encodedKey, ssoUserMfaContext(userId)), mfaEnabled: true, mfaLastStep: step, mfaRegisteredAt: new Date() } },
    { returnDocument: 'after' },
  ).lean<StoredUser>();
  if (!d) {
    await mustFindUser(tenant.tenantId, userId);
    throw new AppError('CONFLICT', `user ${userId} already has an MFA device; delete it first`);
  }
  return toUserView(d);
}

/** `deleteMFADevice`: 404 when the user has none. */
export async function deleteMfaDevice(tenant: UserTenant, userId: string): Promise<UserView> {
  const d = await SsoUser.findOneAndUpdate(
    { tenantId: tenant.tenantId, userId, mfaEnabled: true },
    { $set: { mfaSecretEncrypted: null, mfaEnabled: false, mfaLastStep: 0, mfaRegisteredAt: null } },
    { returnDocument: 'after' },
  ).lean<StoredUser>();
  if (!d) {
    await mustFindUser(tenant.tenantId, userId);
    throw new AppError('NOT_FOUND', `user ${userId} has no MFA device`);
  }
  return toUserView(d);
}

export interface UserSessionView {
  sessionId: string;
  userId: string;
  clientIp: string | null;
  permissionSetId: string | null;
  permissionSetName: string | null;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

function toSessionView(s: SsoUserSessionDoc): UserSessionView {
  return {
    sessionId: s.sessionId,
    userId: s.userId,
    clientIp: s.clientIp ?? null,
    permissionSetId: s.permissionSetId ?? null,
    permissionSetName: s.permissionSetName ?? null,
    createdAt: s.createdAt.toISOString(),
    lastSeenAt: s.lastSeenAt.toISOString(),
    expiresAt: s.expiresAt.toISOString(),
  };
}

/** The user's unexpired sessions, newest first (the expiry plugin hides the rest). */
export async function listUserSessions(tenant: UserTenant, userId: string, q: PageQuery): Promise<Page<UserSessionView>> {
  await mustFindUser(tenant.tenantId, userId);
  const filter = { tenantId: tenant.tenantId, userId };
  return pageOf(SsoUserSession.find(filter).sort({ createdAt: -1 }).lean<SsoUserSessionDoc[]>(), SsoUserSession.countDocuments(filter), q, toSessionView);
}

/** `expireActiveSession` for every session of the user; the credential generation moves too. */
export async function expireUserSessions(tenant: UserTenant, userId: string): Promise<{ userId: string; expiredSessions: number }> {
  const d = await SsoUser.findOneAndUpdate({ tenantId: tenant.tenantId, userId }, { $inc: { credentialGeneration: 1 } }, { returnDocument: 'after' }).lean();
  if (!d) throw notFound(userId);
  // Expired leftovers are removed too (the sweep would), but are not counted as ended here.
  const expiredSessions = await endUserSsoSessions(tenant.tenantId, userId, 'adminExpired');
  return { userId, expiredSessions };
}

/** `expireActiveSession` for one session; 404 for an unknown or already expired one. */
export async function expireUserSession(tenant: UserTenant, userId: string, sessionId: string): Promise<void> {
  await mustFindUser(tenant.tenantId, userId);
  const live = await SsoUserSession.exists({ tenantId: tenant.tenantId, userId, sessionId });
  if (!live || !(await endSsoSession(tenant.tenantId, sessionId, 'adminExpired'))) throw new AppError('NOT_FOUND', `session ${sessionId} of user ${userId} does not exist or has expired`);
}
