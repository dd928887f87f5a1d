/**
 * Fixtures of the sign-in tests: a tenant per scenario (each in its own account, so login
 * settings changed by one scenario never leak into another), users with real argon2id passwords
 * created through the admin API, and readers of what the pipeline stored.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import { pino, type Logger } from 'pino';
import { beginLogin, takeLoginResult } from '../../../src/auth/login.js';
import type { Config } from '../../../src/config.js';
import { newTotpSecret } from '../../../src/iam/mfa/totp.js';
import { findTenantByRef } from '../../../src/sso/tenant/tenant.service.js';
import { expect } from 'chai';
import supertest from 'supertest';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { SsoUser, ssoUserMfaContext } from '../../../src/sso/users/user.model.js';
import { rootSigner, type Signer } from '../../helpers/admin.js';
import { testKeyring } from '../../helpers/app.js';
import { SSO_ORIGIN, formFields, postForm, type SsoBrowser } from '../../helpers/sso-login.js';

export const PASSWORD = 'plum orchard lantern 42';

export interface TestTenant {
  accountId: number;
  tenantId: string;
  alias: string;
  root: Signer;
}

let nextAccount = 7_100_000 + Math.floor(Math.random() * 800_000);

/** A tenant in a fresh account; `settings` go through `PUT /tenant/login-settings`. */
export async function makeTenant(app: Express, settings: Record<string, unknown> = {}): Promise<TestTenant> {
  const accountId = nextAccount++;
  const root = await rootSigner(app, accountId);
  const tenantId = randomUUID();
  const alias = `s${randomBytes(5).toString('hex')}`;
  await Tenant.create({ accountId, tenantId, tenantAlias: alias, aliasKey: alias, termsAcceptedAt: new Date() });
  if (Object.keys(settings).length > 0) await root.call('put', '/api/v1/sso/tenant/login-settings', settings).expect(200);
  return { accountId, tenantId, alias, root };
}

export async function setLoginSettings(t: TestTenant, settings: Record<string, unknown>): Promise<void> {
  await t.root.call('put', '/api/v1/sso/tenant/login-settings', settings).expect(200);
}

/** A user with a local password (through the admin API: argon2id at the current parameters). */
export async function makeUser(t: TestTenant, extra: Record<string, unknown> = {}): Promise<{ userId: string; loginId: string }> {
  const loginId = `u${randomBytes(4).toString('hex')}@example.com`;
  const res = await t.root
    .call('post', '/api/v1/sso/users', { loginId, password: PASSWORD, needPasswordReset: false, ...extra })
    .expect(201);
  return { userId: (res.body as { userId: string }).userId, loginId };
}

export function storedUser(t: TestTenant, userId: string) {
  return SsoUser.findOne({ tenantId: t.tenantId, userId }).select('+passwordHash +mfaSecretEncrypted').orFail().lean();
}

export function agentOf(app: Express): SsoBrowser {
  return supertest.agent(app);
}

/** Starts a portal sign-in and returns the login page's form fields and URL. */
export async function openLogin(
  agent: SsoBrowser,
  t: TestTenant,
  headers: Record<string, string> = {},
): Promise<{ url: string; interaction: string; csrf: string; html: string }> {
  const start = await agent.get(`/tenants/${t.alias}/login`).set(headers);
  expect(start.status, start.text).to.equal(303);
  const url = String(start.headers.location);
  expect(url).to.match(new RegExp(`^/tenants/${t.tenantId}/login\\?interaction=[A-Za-z0-9_-]{22}$`));
  const page = await agent.get(url).set(headers).expect(200);
  return { url, ...formFields(page.text), html: page.text };
}

/** Posts login id + password on an open login page; returns the 303. */
export async function postPassword(
  agent: SsoBrowser,
  t: TestTenant,
  form: { interaction: string; csrf: string },
  loginId: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<supertest.Response> {
  return postForm(agent, `/tenants/${t.tenantId}/login`, { interaction: form.interaction, _csrf: form.csrf, loginId, password }, headers);
}

/** The page a 303 leads to, with the per-interaction values blanked (for identical-response checks). */
export async function followBlanked(
  agent: SsoBrowser,
  res: supertest.Response,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const page = await agent.get(String(res.headers.location)).set(headers);
  return {
    status: page.status,
    body: page.text
      .replace(/name="interaction" value="[^"]+"/g, 'name="interaction" value="-"')
      .replace(/name="_csrf" value="[^"]+"/g, 'name="_csrf" value="-"')
      .replace(/interaction=[A-Za-z0-9_-]{22}/g, 'interaction=-'),
  };
}

export { SSO_ORIGIN };

/**
 * A stand-in protocol in front of the app (what the OIDC and SAML endpoints do): `GET
 * /probe/{tenantId}/start` calls beginLogin with the query's requirements and 303s to the login
 * page; `GET /probe/{tenantId}/result/{id}` returns takeLoginResult as JSON.
 */
export function withProtocolProbe(inner: Express, config: Config): Express {
  const outer = express();
  outer.use(cookieParser());
  outer.get('/probe/:tenantId/start', async (req, res) => {
    const tenant = await findTenantByRef(String(req.params.tenantId));
    if (!tenant) {
      res.status(404).end();
      return;
    }
    const q = (k: string) => (typeof req.query[k] === 'string' ? req.query[k] : undefined);
    try {
      const next = await beginLogin(
        req,
        res,
        {
          tenant,
          returnTo: q('returnTo') ?? `/tenants/${tenant.tenantId}/probe-return`,
          client: 'oidc',
          clientName: 'Probe App',
          requirements: { forceAuthn: q('force') === '1', requireMfa: q('mfa') === '1' },
        },
        { config },
      );
      res.redirect(303, next);
    } catch (err) {
      res.status(400).json({ error: err instanceof Error ? err.message : String(err) });
    }
  });
  outer.get('/probe/:tenantId/result/:id', async (req, res) => {
    const r = await takeLoginResult(req, res, String(req.params.tenantId), String(req.params.id), { config });
    res.json(r ? { sessionId: r.session.sessionId, userId: r.session.userId, amr: r.amr, acr: r.acr, authTime: r.authTime } : null);
  });
  outer.use(inner);
  return outer;
}

/** Gives a user a TOTP device directly (the admin API would consume a code doing it). */
export async function giveTotpDevice(t: TestTenant, userId: string): Promise<string> {
  const secret = newTotpSecret();
  await SsoUser.updateOne(
    { tenantId: t.tenantId, userId },
    { $set: { mfaSecretEncrypted: testKeyring().encrypt(secret, ssoUserMfaContext(userId)), mfaEnabled: true, mfaLastStep: 0 } },
  );
  return secret;
}

/** A pino logger whose lines the test can read. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}
