/**
 * The environment, parsed once at boot. This is the only module that reads `process.env`
 * (main.ts passes it in; tests pass their own objects). A bad value fails start-up with one
 * readable line naming the variable and what is allowed. Every variable is documented in
 * README.md, "Configuration reference".
 */
import { isIP } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** `TRUST_PROXY`: false, a hop count, or a list of proxy addresses/CIDRs. Never `true`. */
export type TrustProxy = false | number | string[];

const PROXY_NAMES = new Set(['loopback', 'linklocal', 'uniquelocal']);

function isIpOrCidr(value: string): boolean {
  const [addr, bits, ...rest] = value.split('/');
  if (rest.length > 0 || addr === undefined) return false;
  const family = isIP(addr);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

const trustProxySchema = z
  .string()
  .trim()
  .transform((raw, ctx): TrustProxy => {
    const value = raw.toLowerCase();
    if (value === '' || value === 'false' || value === '0') return false;
    if (value === 'true') {
      ctx.addIssue({
        code: 'custom',
        message:
          'must not be "true" (clients could forge X-Forwarded-For); use a hop count such as 1, or the proxies\' addresses/CIDRs such as 10.0.0.0/8,loopback',
      });
      return z.NEVER;
    }
    if (/^\d+$/.test(value)) {
      const hops = Number(value);
      if (hops > 10) {
        ctx.addIssue({ code: 'custom', message: 'hop count must be between 0 and 10' });
        return z.NEVER;
      }
      return hops;
    }
    const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
    const bad = entries.filter((e) => !PROXY_NAMES.has(e) && !isIpOrCidr(e));
    if (bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be false, a hop count, or a comma-separated list of IPs/CIDRs (or loopback, linklocal, uniquelocal); not valid: ${bad.join(', ')}`,
      });
      return z.NEVER;
    }
    return entries;
  });

const booleanString = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

/** A 256-bit key as 64 hex digits or base64 (standard or url-safe). */
const masterKeySchema = z
  .string()
  .trim()
  .transform((raw, ctx) => {
    const key = decodeKey(raw);
    if (!key) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be 32 random bytes as 64 hex digits or base64 (generate one with: openssl rand -base64 32)',
      });
      return z.NEVER;
    }
    return key;
  });

export function decodeKey(raw: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return Buffer.from(raw, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) {
    const buf = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (buf.length === 32) return buf;
  }
  return undefined;
}

const envSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: z.coerce
      .number({ message: 'must be an integer between 1 and 65535' })
      .int('must be an integer between 1 and 65535')
      .min(1, 'must be an integer between 1 and 65535')
      .max(65535, 'must be an integer between 1 and 65535')
      .default(3000),
    HOST: z
      .string()
      .trim()
      .refine((v) => v === 'localhost' || isIP(v) !== 0, 'must be an IP address to listen on, or localhost')
      .default('0.0.0.0'),
    GATEHOUSE_BASE_URL: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || isBaseUrl(v), 'must be an absolute http(s) URL without query or fragment, e.g. https://sso.example.com'),
    MONGODB_URI: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || v === '' || /^mongodb(\+srv)?:\/\/.+/.test(v), 'must start with mongodb:// or mongodb+srv://'),
    GATEHOUSE_DATA_DIR: z.string().trim().min(1, 'must be a directory path').default('./data'),
    GATEHOUSE_MASTER_KEY: masterKeySchema.optional(),
    GATEHOUSE_MASTER_KEY_PREVIOUS: z
      .string()
      .trim()
      .optional()
      .transform((raw, ctx) => {
        if (!raw) return [] as Buffer[];
        const keys = raw.split(',').map((s) => decodeKey(s.trim()));
        if (keys.some((k) => k === undefined)) {
          ctx.addIssue({ code: 'custom', message: 'must be a comma-separated list of 32-byte keys (64 hex digits or base64)' });
          return z.NEVER;
        }
        return keys as Buffer[];
      }),
    TRUST_PROXY: trustProxySchema.default(false),
    LOG_LEVEL: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(', ')}` }).default('info'),
    LOG_PRETTY: booleanString.optional(),
    GATEHOUSE_ROOT_LOGIN_ID: z
      .string()
      .trim()
      .regex(/^[A-Za-z0-9._@-]{3,60}$/, 'must be 3-60 letters, digits or . _ @ -')
      .default('admin'),
    GATEHOUSE_ROOT_PASSWORD: z
      .string()
      .optional()
      .refine((v) => v === undefined || (v.length >= 12 && v.length <= 256), 'must be 12 to 256 characters'),
    GATEHOUSE_ROOT_ACCESS_KEY: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || /^[A-Za-z0-9]{16,64}$/.test(v), 'must be 16-64 letters and digits'),
    GATEHOUSE_ROOT_SECRET_KEY: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || /^[A-Za-z0-9+/=_-]{32,128}$/.test(v), 'must be 32-128 characters of letters, digits or + / = _ -'),
    GATEHOUSE_ACCOUNT_NAME: z.string().trim().min(1).max(60, 'must be 1-60 characters').default('Gatehouse'),
    SHUTDOWN_TIMEOUT_MS: z.coerce
      .number({ message: 'must be a number of milliseconds' })
      .int()
      .min(0)
      .max(600_000, 'must be at most 600000')
      .default(10_000),
    EXPIRY_SWEEP_INTERVAL_SEC: z.coerce
      .number({ message: 'must be a number of seconds' })
      .int()
      .min(1, 'must be between 1 and 86400')
      .max(86_400, 'must be between 1 and 86400')
      .default(60),
    METRICS_ENABLED: booleanString.default(true),
    GATEHOUSE_DEMO: booleanString.optional(),
    GATEHOUSE_SMTP_URL: z
      .string()
      .trim()
      .optional()
      .refine((v) => v === undefined || isSmtpUrl(v), 'must be an smtp:// or smtps:// URL such as smtp://user:pass@mail.example.com:587'),
    GATEHOUSE_MAIL_FROM: z.string().trim().max(320, 'must be at most 320 characters').optional(),
  })
  .superRefine((env, ctx) => {
    if ((env.GATEHOUSE_ROOT_ACCESS_KEY === undefined) !== (env.GATEHOUSE_ROOT_SECRET_KEY === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.GATEHOUSE_ROOT_ACCESS_KEY === undefined ? 'GATEHOUSE_ROOT_ACCESS_KEY' : 'GATEHOUSE_ROOT_SECRET_KEY'],
        message: 'must be set together with the other of GATEHOUSE_ROOT_ACCESS_KEY / GATEHOUSE_ROOT_SECRET_KEY',
      });
    }
    // With an external MongoDB the key cannot live beside the data: it must come from the
    // environment (or a secret store feeding it). The bundled engine generates one into the data dir.
    if (env.MONGODB_URI && !env.GATEHOUSE_MASTER_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['GATEHOUSE_MASTER_KEY'],
        message: 'is required when MONGODB_URI is set (generate one with: openssl rand -base64 32)',
      });
    }
  });

function isSmtpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'smtp:' || url.protocol === 'smtps:') && url.hostname !== '' && !url.hash;
  } catch {
    return false;
  }
}

function isBaseUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash && !url.username;
  } catch {
    return false;
  }
}

export interface Config {
  env: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** Public URL without a trailing slash; issuers and entity IDs are built from it. */
  baseUrl: string;
  /** Undefined: use the bundled engine. */
  mongodbUri: string | undefined;
  dataDir: string;
  /** Undefined only for the bundled engine, which keeps a generated key in the data dir. */
  masterKey: Buffer | undefined;
  previousMasterKeys: Buffer[];
  trustProxy: TrustProxy;
  logLevel: (typeof LOG_LEVELS)[number];
  logPretty: boolean;
  root: {
    loginId: string;
    password: string | undefined;
    accessKey: string | undefined;
    secretKey: string | undefined;
    accountName: string;
  };
  shutdownTimeoutMs: number;
  expirySweepIntervalSec: number;
  metricsEnabled: boolean;
  /** Seed the demo SSO tenant at start (src/sso/demo.ts): GATEHOUSE_DEMO, by default only on the bundled engine. */
  demo: boolean;
  /**
   * SMTP for one-time codes and password links (src/notifications/smtp.ts): GATEHOUSE_SMTP_URL
   * (credentials inside; never logged) and GATEHOUSE_MAIL_FROM (default no-reply@ the public
   * host). Undefined: messages go to the MongoDB outbox.
   */
  smtp: { url: string; from: string } | undefined;
}

/** Parses the environment; throws ConfigError with one readable line on the first bad variable. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // An empty variable counts as unset: `FOO= npm start` should mean "default".
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = issue ? String(issue.path[0] ?? 'environment') : 'environment';
    const raw = cleaned[name];
    const shown = raw === undefined || /KEY|PASSWORD|SECRET|SMTP_URL/.test(name) ? '' : ` (got "${raw}")`;
    throw new ConfigError(`Invalid configuration: ${name} ${issue?.message ?? 'is not valid'}${shown}`);
  }
  const e = parsed.data;
  const baseUrl = (e.GATEHOUSE_BASE_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, '');
  return {
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    baseUrl,
    mongodbUri: e.MONGODB_URI || undefined,
    dataDir: path.resolve(e.GATEHOUSE_DATA_DIR),
    masterKey: e.GATEHOUSE_MASTER_KEY,
    previousMasterKeys: e.GATEHOUSE_MASTER_KEY_PREVIOUS,
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    logPretty: e.LOG_PRETTY ?? false,
    root: {
      loginId: e.GATEHOUSE_ROOT_LOGIN_ID,
      password: e.GATEHOUSE_ROOT_PASSWORD,
      accessKey: e.GATEHOUSE_ROOT_ACCESS_KEY,
      secretKey: e.GATEHOUSE_ROOT_SECRET_KEY,
      accountName: e.GATEHOUSE_ACCOUNT_NAME,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    expirySweepIntervalSec: e.EXPIRY_SWEEP_INTERVAL_SEC,
    metricsEnabled: e.METRICS_ENABLED,
    demo: e.GATEHOUSE_DEMO ?? !e.MONGODB_URI,
    smtp: e.GATEHOUSE_SMTP_URL ? { url: e.GATEHOUSE_SMTP_URL, from: e.GATEHOUSE_MAIL_FROM ?? `Gatehouse <no-reply@${new URL(baseUrl).hostname}>` } : undefined,
  };
}
