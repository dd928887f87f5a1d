/**
 * Login settings of a tenant (`PUT /tenant/login-settings`, `change/updateLoginSetting`;
 * reference/ncloud-model.md §1 "Login settings"), stored on the tenant and enforced by the
 * sign-in pipeline, which reads them through `getLoginSettings(tenantId)`.
 *
 * Ncloud's fields: idle session expiry (600 | 1800 | 3600 | 10800 s), whether several sessions
 * may exist at once, possession authentication (SMS | Email) and multi-factor authentication,
 * which needs possession authentication on. Gatehouse's additions (issue 6), where Ncloud is
 * silent [NF] and Gatehouse signs users in itself:
 *   - which sign-in methods are on: local password and/or the external IdP; at least one must
 *     stay on, or no one could sign in (Keycloak refuses to disable the last flow the same way);
 *   - passwordMinLength 8-128, default 12: NIST SP 800-63B §3.1.1.2 asks for at least 8 and at
 *     least 15 when the password is the only factor; 12 is the same default the Sub Account
 *     module uses (sub-account.schemas.ts);
 *   - lockoutThreshold 3-100 failures (ASVS V2.2.1 caps at 100 per hour) and
 *     lockoutDurationSeconds 60-86400 (a soft lockout, security-bar §4).
 */
import { z } from 'zod';
import { AppError, type FieldError } from '../../shared/errors.js';
import { IDLE_SESSION_SECONDS } from './tenant.model.js';

export const POSSESSION_TYPES = ['SMS', 'Email'] as const;
export type PossessionType = (typeof POSSESSION_TYPES)[number];

export interface LoginSettings {
  idleSessionExpirationSeconds: (typeof IDLE_SESSION_SECONDS)[number];
  multipleLoginAllowed: boolean;
  possessionAuthenticationEnabled: boolean;
  possessionAuthenticationTypes: PossessionType[];
  multiFactorAuthenticationEnabled: boolean;
  localPasswordEnabled: boolean;
  externalIdpEnabled: boolean;
  passwordMinLength: number;
  lockoutThreshold: number;
  lockoutDurationSeconds: number;
}

export const DEFAULT_LOGIN_SETTINGS: Readonly<LoginSettings> = Object.freeze({
  idleSessionExpirationSeconds: 3600,
  multipleLoginAllowed: true,
  possessionAuthenticationEnabled: false,
  possessionAuthenticationTypes: [],
  multiFactorAuthenticationEnabled: false,
  localPasswordEnabled: true,
  externalIdpEnabled: false,
  passwordMinLength: 12,
  lockoutThreshold: 5,
  lockoutDurationSeconds: 900,
});

// A literal union, so the OpenAPI document lists the four allowed values.
const idleSeconds = z.literal(IDLE_SESSION_SECONDS, { message: `must be one of ${IDLE_SESSION_SECONDS.join(', ')}` });

/**
 * PUT body: the fields to change (others keep their stored values). The whole result is checked
 * against the rules that tie fields together before anything is written.
 */
export const updateLoginSettingsBody = z
  .object({
    idleSessionExpirationSeconds: idleSeconds.optional(),
    multipleLoginAllowed: z.boolean().optional(),
    possessionAuthenticationEnabled: z.boolean().optional(),
    possessionAuthenticationTypes: z
      .array(z.enum(POSSESSION_TYPES, { message: 'must be SMS or Email' }))
      .max(POSSESSION_TYPES.length)
      .refine((a) => new Set(a).size === a.length, 'must not repeat a type')
      .optional(),
    multiFactorAuthenticationEnabled: z.boolean().optional(),
    localPasswordEnabled: z.boolean().optional(),
    externalIdpEnabled: z.boolean().optional(),
    passwordMinLength: z.number().int('must be an integer').min(8, 'must be at least 8').max(128, 'must be at most 128').optional(),
    lockoutThreshold: z.number().int('must be an integer').min(3, 'must be at least 3').max(100, 'must be at most 100').optional(),
    lockoutDurationSeconds: z.number().int('must be an integer').min(60, 'must be at least 60').max(86_400, 'must be at most 86400').optional(),
  })
  .strict();
export type UpdateLoginSettingsInput = z.infer<typeof updateLoginSettingsBody>;

/** Stored settings over the defaults (a tenant written before a field existed reads its default). */
export function readLoginSettings(stored: Partial<Record<keyof LoginSettings, unknown>> | null | undefined): LoginSettings {
  const s = stored ?? {};
  const pick = <K extends keyof LoginSettings>(k: K, ok: (v: unknown) => boolean): LoginSettings[K] => (ok(s[k]) ? (s[k] as LoginSettings[K]) : DEFAULT_LOGIN_SETTINGS[k]);
  const isBool = (v: unknown) => typeof v === 'boolean';
  const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  return {
    idleSessionExpirationSeconds: pick('idleSessionExpirationSeconds', (v) => (IDLE_SESSION_SECONDS as readonly unknown[]).includes(v)),
    multipleLoginAllowed: pick('multipleLoginAllowed', isBool),
    possessionAuthenticationEnabled: pick('possessionAuthenticationEnabled', isBool),
    possessionAuthenticationTypes: Array.isArray(s.possessionAuthenticationTypes)
      ? (s.possessionAuthenticationTypes as unknown[]).filter((t): t is PossessionType => (POSSESSION_TYPES as readonly unknown[]).includes(t))
      : [],
    multiFactorAuthenticationEnabled: pick('multiFactorAuthenticationEnabled', isBool),
    localPasswordEnabled: pick('localPasswordEnabled', isBool),
    externalIdpEnabled: pick('externalIdpEnabled', isBool),
    passwordMinLength: pick('passwordMinLength', isNum),
    lockoutThreshold: pick('lockoutThreshold', isNum),
    lockoutDurationSeconds: pick('lockoutDurationSeconds', isNum),
  };
}

/** The settings after applying a change, or VALIDATION_FAILED naming the fields at fault. */
export function applyLoginSettings(current: LoginSettings, change: UpdateLoginSettingsInput): LoginSettings {
  const next: LoginSettings = { ...current, possessionAuthenticationTypes: [...current.possessionAuthenticationTypes] };
  for (const [k, v] of Object.entries(change) as [keyof LoginSettings, unknown][]) {
    if (v !== undefined) (next as unknown as Record<string, unknown>)[k] = v;
  }
  const errors: FieldError[] = [];
  // Blame the field the request touched, so the message points at what the caller can change.
  const blame = (a: keyof LoginSettings, b: keyof LoginSettings): string => `body.${change[a] !== undefined || change[b] === undefined ? a : b}`;
  if (next.possessionAuthenticationEnabled && next.possessionAuthenticationTypes.length === 0) {
    errors.push({ field: blame('possessionAuthenticationTypes', 'possessionAuthenticationEnabled'), message: 'possession authentication needs at least one type (SMS or Email)' });
  }
  // Reference §1: "If MFA is on, possession authentication must also be on."
  if (next.multiFactorAuthenticationEnabled && !next.possessionAuthenticationEnabled) {
    errors.push({ field: blame('multiFactorAuthenticationEnabled', 'possessionAuthenticationEnabled'), message: 'multi-factor authentication needs possession authentication on' });
  }
  if (!next.localPasswordEnabled && !next.externalIdpEnabled) {
    errors.push({ field: blame('localPasswordEnabled', 'externalIdpEnabled'), message: 'at least one sign-in method (local password or external IdP) must stay on' });
  }
  if (errors.length > 0) throw new AppError('VALIDATION_FAILED', 'the login settings would not be consistent', { fieldErrors: errors });
  return next;
}
