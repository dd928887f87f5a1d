/**
 * Who may use the console at all, checked at sign-in and on every console page (the admin API
 * checks the same in authn/authenticate.ts): a sub account must be active, have
 * `canConsoleAccess`, and come from inside its own `consolePermitIps` and the account's
 * `settings.consoleAccessIps` when those are set (reference/ncloud-model.md §3 "Sub account" and
 * "Account-wide settings"). The client address is the one seen through trusted proxies only
 * (http/client-ip.ts): an X-Forwarded-For header from an untrusted hop changes nothing.
 */
import { IpAllowList } from '../../shared/ip.js';

export interface SubAccountConsoleFacts {
  status: string;
  canConsoleAccess: boolean;
  consolePermitIps: readonly string[];
}

export type ConsoleRefusal = 'suspended' | 'consoleAccessDisabled' | 'consolePermitIps' | 'accountConsoleAccessIps';

/** Why the sub account may not use the console from `ip`, or undefined when it may. */
export function subAccountConsoleRefusal(
  sub: SubAccountConsoleFacts,
  accountConsoleAccessIps: readonly string[],
  ip: string,
): ConsoleRefusal | undefined {
  if (sub.status !== 'active') return 'suspended';
  if (!sub.canConsoleAccess) return 'consoleAccessDisabled';
  if (sub.consolePermitIps.length > 0 && !new IpAllowList(sub.consolePermitIps).allows(ip)) return 'consolePermitIps';
  if (accountConsoleAccessIps.length > 0 && !new IpAllowList(accountConsoleAccessIps).allows(ip)) return 'accountConsoleAccessIps';
  return undefined;
}

/** Password expiry (Account.settings.passwordExpiryDays; null: never). */
export function passwordExpired(changedAt: Date | null | undefined, expiryDays: number | null | undefined, now = Date.now()): boolean {
  if (!expiryDays) return false;
  const since = changedAt ? changedAt.getTime() : 0;
  return since + expiryDays * 86_400_000 <= now;
}
