/**
 * Account-wide Sub Account settings and the dashboard's resource counts (seed S1 "Dashboard"
 * actions; reference/ncloud-model.md §3 "Account-wide settings"). The settings live on the
 * Account document; login aliases live in their own collection (`LoginAlias`, `_id` = alias),
 * whose unique `_id` is what keeps an alias to one account on every engine.
 */
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { managedPolicies } from '../../policy/index.js';
import { Account, LoginAlias } from '../accounts/account.model.js';
import { AdminGroup } from '../groups/admin-group.model.js';
import { Policy } from '../policies/policy.model.js';
import { Role } from '../roles/role.model.js';
import { ConsoleSession } from '../sessions/console-session.model.js';
import { SubAccount } from '../sub-accounts/sub-account.model.js';

export interface AccountSettingsView {
  /** The login alias, or null when sub accounts have no sign-in page yet. */
  loginAlias: string | null;
  /** `{base}/console/login/{alias}`: where the account's sub accounts sign in. */
  consoleLoginUrl: string | null;
  /** Days until a sub account password expires; null: never. */
  passwordExpiryDays: number | null;
  /** Console idle session expiry in seconds. */
  sessionIdleSec: number;
  /** Addresses/ranges the account's sub accounts may use the console from (empty: anywhere). */
  consoleAccessIps: string[];
}

export interface ResourceCountView {
  subAccountCount: number;
  groupCount: number;
  /** User-created policies of the account. */
  policyCount: number;
  /** System-managed policies (the same for every account). */
  systemManagedPolicyCount: number;
  roleCount: number;
}

const DEFAULT_IDLE_SEC = 3600;

async function view(accountId: number, baseUrl: string): Promise<AccountSettingsView> {
  const [acc, alias] = await Promise.all([
    Account.findOne({ memberNo: accountId }).select('settings').lean(),
    LoginAlias.findOne({ accountId }).lean(),
  ]);
  if (!acc) throw new AppError('NOT_FOUND', `account ${accountId} does not exist`);
  // The alias collection is authoritative (it is what sign-in reads); the copy on the account
  // document is kept in step for readers of the account alone.
  const loginAlias = alias?._id ?? null;
  return {
    loginAlias,
    consoleLoginUrl: loginAlias ? `${baseUrl}/console/login/${loginAlias}` : null,
    passwordExpiryDays: acc.settings?.passwordExpiryDays ?? null,
    sessionIdleSec: acc.settings?.sessionIdleSec ?? DEFAULT_IDLE_SEC,
    consoleAccessIps: [...(acc.settings?.consoleAccessIps ?? [])],
  };
}

export function getAccountSettings(accountId: number, baseUrl: string): Promise<AccountSettingsView> {
  return view(accountId, baseUrl);
}

/**
 * Sets (or with null removes) the login alias. An account holds at most one alias (unique
 * `accountId` in login_aliases), so the old alias document is removed before the new one is
 * inserted; the insert against the unique `_id` decides who owns an alias. If another account
 * takes the alias between the two steps, the old alias is put back and the answer is 409.
 */
export async function setLoginAlias(accountId: number, loginAlias: string | null, baseUrl: string): Promise<AccountSettingsView> {
  const current = await LoginAlias.findOne({ accountId }).lean();
  if ((current?._id ?? null) !== loginAlias) {
    if (loginAlias !== null) {
      // Refuses the common case without giving up the current alias first; uniqueness itself
      // comes from the insert below, not from this read.
      const owner = await LoginAlias.findById(loginAlias).lean();
      if (owner && owner.accountId !== accountId) throw conflict(loginAlias);
    }
    if (current) await LoginAlias.deleteOne({ _id: current._id, accountId });
    if (loginAlias !== null) {
      try {
        await LoginAlias.create({ _id: loginAlias, accountId });
      } catch (err) {
        if (!isDuplicateKeyError(err)) throw err;
        if (current) await LoginAlias.create({ _id: current._id, accountId }).catch(() => undefined);
        throw conflict(loginAlias);
      }
    }
  }
  const res = await Account.updateOne({ memberNo: accountId }, { $set: { 'settings.loginAlias': loginAlias } });
  if (res.matchedCount === 0) throw new AppError('NOT_FOUND', `account ${accountId} does not exist`);
  return view(accountId, baseUrl);
}

function conflict(alias: string): AppError {
  return new AppError('CONFLICT', `the login alias "${alias}" is already in use`, {
    fieldErrors: [{ field: 'body.loginAlias', message: 'is already in use' }],
  });
}

async function setSetting(accountId: number, set: Record<string, unknown>, baseUrl: string): Promise<AccountSettingsView> {
  const res = await Account.updateOne({ memberNo: accountId }, { $set: set });
  if (res.matchedCount === 0) throw new AppError('NOT_FOUND', `account ${accountId} does not exist`);
  return view(accountId, baseUrl);
}

export function setConsoleAccessIps(accountId: number, consoleAccessIps: string[], baseUrl: string): Promise<AccountSettingsView> {
  // Enforced on every console page and cookie-authenticated API call (authn/authenticate.ts),
  // so sessions already open from elsewhere stop working at their next request.
  return setSetting(accountId, { 'settings.consoleAccessIps': consoleAccessIps }, baseUrl);
}

export function setPasswordExpiry(accountId: number, passwordExpiryDays: number | null, baseUrl: string): Promise<AccountSettingsView> {
  // Read at sign-in: a sub account whose password is now older than this must change it first.
  return setSetting(accountId, { 'settings.passwordExpiryDays': passwordExpiryDays }, baseUrl);
}

export async function setSessionIdle(accountId: number, sessionIdleSec: number, baseUrl: string): Promise<AccountSettingsView> {
  const settings = await setSetting(accountId, { 'settings.sessionIdleSec': sessionIdleSec }, baseUrl);
  // Open sessions adopt the new timeout at their next use (touchSession computes the deadline
  // from the session's idleTimeoutSec), so shortening it does not wait for everyone to sign in again.
  await ConsoleSession.updateMany({ accountId }, { $set: { idleTimeoutSec: sessionIdleSec } });
  return settings;
}

export async function getResourceCount(accountId: number): Promise<ResourceCountView> {
  const [subAccountCount, groupCount, policyCount, roleCount] = await Promise.all([
    SubAccount.countDocuments({ accountId }),
    AdminGroup.countDocuments({ accountId }),
    Policy.countDocuments({ accountId }),
    Role.countDocuments({ accountId }),
  ]);
  return { subAccountCount, groupCount, policyCount, systemManagedPolicyCount: managedPolicies.length, roleCount };
}
