/**
 * Fixtures of the OpenID Provider tests: the app listening on an ephemeral port (openid-client
 * talks HTTP to it, and the issuer must be the URL it listens on), a tenant, users, OAUTH2
 * applications inserted through the model (the applications API is another issue's), a Gatehouse
 * session, and a small cookie-keeping browser that follows or stops at redirects.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../../src/app.js';
import { createSsoSession } from '../../../src/auth/sso-session.js';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { Application, applicationSecretContext, oidcProtocolKey } from '../../../src/sso/applications/application.model.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { tenantScope } from '../../../src/sso/tenant/tenant-context.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { silentLogger, testConfig, testKeyring } from '../../helpers/app.js';

export interface RunningApp {
  baseUrl: string;
  server: Server;
  stamps: ChangeStamps;
  config: ReturnType<typeof testConfig>;
  close(): Promise<void>;
}

export async function startApp(): Promise<RunningApp> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://127.0.0.1:${port}`;
  const config = testConfig({ GATEHOUSE_BASE_URL: baseUrl });
  const stamps = new ChangeStamps();
  const app = createApp({ config, logger: silentLogger, db: { ping: async () => true }, keyring: testKeyring(), stamps });
  server.on('request', app);
  return {
    baseUrl,
    server,
    stamps,
    config,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let accountSeq = 3_100_000 + Math.floor(Math.random() * 10_000) * 10;

export async function seedTenant(): Promise<{ tenantId: string; accountId: number; alias: string }> {
  const accountId = accountSeq++;
  const tenantId = randomUUID();
  const alias = `oidc${accountId}`;
  await Tenant.create({ accountId, tenantId, tenantAlias: alias, aliasKey: alias, termsAcceptedAt: new Date() });
  return { tenantId, accountId, alias };
}

export async function seedUser(
  tenant: { tenantId: string; accountId: number },
  loginId: string,
  profile: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Promise<string> {
  const userId = randomUUID();
  await SsoUser.create({
    accountId: tenant.accountId,
    tenantId: tenant.tenantId,
    userId,
    loginId,
    loginIdKey: loginId.toLowerCase(),
    userProfile: { firstName: 'Ada', lastName: 'Lovelace', email: `${loginId.toLowerCase()}@example.com`, emailVerified: true, ...profile },
    ...extra,
  });
  return userId;
}

export interface SeededClient {
  applicationId: string;
  clientId: string;
  clientSecret?: string;
}

export interface ClientOptions {
  accessType?: 'confidential' | 'public';
  clientAuthMethod?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  grantTypes?: string[];
  scopes?: string[];
  accessTokenValiditySec?: number;
  refreshTokenValiditySec?: number;
  jwks?: string | null;
  backchannelLogoutUri?: string | null;
  initiateLoginUri?: string | null;
  consent?: boolean;
  accessScope?: 'ALL_USERS' | 'ASSIGNED';
  name?: string;
}

/** An OAUTH2 application inserted through the model, with the tenant's stamp bumped as the applications API does. */
export async function seedClient(tenant: { tenantId: string; accountId: number }, stamps: ChangeStamps, o: ClientOptions = {}): Promise<SeededClient> {
  const applicationId = randomUUID();
  const clientId = `c-${randomBytes(8).toString('hex')}`;
  const accessType = o.accessType ?? 'confidential';
  const clientAuthMethod = o.clientAuthMethod ?? (accessType === 'public' ? 'none' : 'client_secret_basic');
  const clientSecret = clientAuthMethod.startsWith('client_secret') ? randomBytes(24).toString('base64url') : undefined;
  await Application.create({
    accountId: tenant.accountId,
    tenantId: tenant.tenantId,
    applicationId,
    name: o.name ?? `App${randomBytes(3).toString('hex')}`,
    protocol: 'OAUTH2',
    protocolKey: oidcProtocolKey(clientId),
    clientSecretEncrypted: clientSecret ? testKeyring().encrypt(clientSecret, applicationSecretContext(tenant.tenantId, applicationId)) : null,
    accessScope: o.accessScope ?? 'ALL_USERS',
    consentPage: { enabled: o.consent ?? false, useLanguages: ['en', 'ko', 'ja'], defaultLanguage: 'en', applicationName: { en: 'Wiki', ko: '위키', ja: 'ウィキ' }, usePurposeDesc: true, purposeDesc: { en: 'To show your name', ko: '이름 표시', ja: '名前の表示' } },
    oidc: {
      clientId,
      redirectUris: o.redirectUris ?? ['https://rp.example.com/cb'],
      postLogoutRedirectUris: o.postLogoutRedirectUris ?? [],
      clientAuthMethod,
      accessType,
      grantTypes: o.grantTypes ?? ['authorization_code', 'refresh_token'],
      scopes: o.scopes ?? ['openid', 'profile', 'email', 'groups', 'roles', 'offline_access'],
      accessTokenValiditySec: o.accessTokenValiditySec ?? 600,
      refreshTokenValiditySec: o.refreshTokenValiditySec ?? 86400,
      jwks: o.jwks ?? null,
      backchannelLogoutUri: o.backchannelLogoutUri ?? null,
      initiateLoginUri: o.initiateLoginUri ?? null,
    },
  });
  await stamps.bump(tenantScope(tenant.tenantId));
  return { applicationId, clientId, ...(clientSecret ? { clientSecret } : {}) };
}

/** A live Gatehouse session for a user (what the login pipeline makes), as a cookie. */
export async function seedSsoSession(
  tenant: { tenantId: string; accountId: number },
  userId: string,
  auth: { amr?: string[]; acr?: 'pwd' | 'mfa'; idleTimeoutSec?: number } = {},
): Promise<{ cookie: string; sessionId: string }> {
  const { token, session } = await createSsoSession({
    accountId: tenant.accountId,
    tenantId: tenant.tenantId,
    userId,
    credentialGeneration: 0,
    amr: auth.amr ?? ['pwd'],
    acr: auth.acr ?? 'pwd',
    idleTimeoutSec: auth.idleTimeoutSec ?? 3600,
    clientIp: '127.0.0.1',
    userAgent: 'oidc-test',
  });
  return { cookie: `gh_sso_${tenant.tenantId}=${token}`, sessionId: session.sessionId };
}

export interface BrowserResponse {
  status: number;
  url: string;
  location: string | undefined;
  headers: Headers;
  body: string;
}

/** A browser that keeps cookies (by name; the tests use one host) and stops at every redirect. */
export class Browser {
  readonly cookies = new Map<string, { value: string; path: string }>();

  setCookie(pair: string, path = '/'): void {
    const i = pair.indexOf('=');
    this.cookies.set(pair.slice(0, i), { value: pair.slice(i + 1), path });
  }

  private cookieHeader(url: URL): string {
    return [...this.cookies]
      .filter(([, c]) => url.pathname.startsWith(c.path))
      .map(([k, c]) => `${k}=${c.value}`)
      .join('; ');
  }

  private store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      if (!pair) continue;
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expired = attrs.some((a) => /^expires=thu, 01 jan 1970/i.test(a)) || attrs.some((a) => /^max-age=0$/i.test(a)) || value === '';
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
  }

  async request(method: 'GET' | 'POST', url: string | URL, form?: Record<string, string>): Promise<BrowserResponse> {
    const u = new URL(url);
    const headers: Record<string, string> = { cookie: this.cookieHeader(u) };
    let body: string | undefined;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(form).toString();
    }
    const res = await fetch(u, { method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
    this.store(res);
    const location = res.headers.get('location') ?? undefined;
    return { status: res.status, url: u.href, location: location ? new URL(location, u).href : undefined, headers: res.headers, body: await res.text() };
  }

  get(url: string | URL): Promise<BrowserResponse> {
    return this.request('GET', url);
  }

  post(url: string | URL, form: Record<string, string>): Promise<BrowserResponse> {
    return this.request('POST', url, form);
  }

  /** Follows redirects from `url` until a response that is not one, or one to a URL starting with one of `stopAt`. */
  async follow(url: string | URL, ...stopAt: string[]): Promise<BrowserResponse> {
    let res = await this.get(url);
    for (let hops = 0; hops < 20 && res.location && res.status >= 300 && res.status < 400; hops++) {
      if (stopAt.some((s) => res.location!.startsWith(s))) return res;
      res = await this.get(res.location);
    }
    return res;
  }
}

/** The consent form's action and csrf token, from a consent page. */
export function consentForm(html: string): { action: string; csrf: string } {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !csrf) throw new Error(`no consent form in: ${html.slice(0, 500)}`);
  return { action, csrf };
}
