/**
 * Input of the account-wide settings API (reference/ncloud-model.md §3 "Account-wide settings";
 * Ncloud's `/login-alias` and `/tenant-settings/sub-account-{password,session}-policy`).
 */
import { z } from 'zod';
import { ipListSchema } from '../sub-accounts/sub-account.schemas.js';

/**
 * Path words under `/console/login/` that are console pages, so never aliases: `mfa` is the
 * sign-in's second step. The others are kept free for the console of a later issue.
 */
export const RESERVED_LOGIN_ALIASES: readonly string[] = [
  'mfa',
  'login',
  'logout',
  'password',
  'assets',
  'console',
  'admin',
  'root',
  'api',
];

export const loginAliasSchema = z
  .string()
  .regex(/^[a-z0-9]{3,20}$/, 'must be 3-20 lowercase letters and digits')
  .refine((a) => !RESERVED_LOGIN_ALIASES.includes(a), 'is reserved for a console page');

/** `null` removes the alias (sub accounts then have no sign-in page until a new one is set). */
export const loginAliasBody = z.object({ loginAlias: loginAliasSchema.nullable() }).strict();

/** Console access IP ranges of the account's sub accounts (empty: anywhere). */
export const consoleAccessIpsBody = z.object({ consoleAccessIps: ipListSchema(50) }).strict();

export const PASSWORD_EXPIRY_DAYS = [60, 90, 120, 180] as const;
export const passwordSettingBody = z
  .object({
    passwordExpiryDays: z
      .number()
      .nullable()
      .refine(
        (d) => d === null || (PASSWORD_EXPIRY_DAYS as readonly number[]).includes(d),
        `must be null (never) or one of ${PASSWORD_EXPIRY_DAYS.join(', ')}`,
      ),
  })
  .strict();

export const SESSION_IDLE_SECONDS = [600, 1800, 3600, 10800] as const;
export const sessionSettingBody = z
  .object({
    sessionIdleSec: z
      .number()
      .refine((s) => (SESSION_IDLE_SECONDS as readonly number[]).includes(s), `must be one of ${SESSION_IDLE_SECONDS.join(', ')}`),
  })
  .strict();
