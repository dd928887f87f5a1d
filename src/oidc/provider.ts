/**
 * One oidc-provider `Provider` per tenant (issue 8 "One Provider per tenant"), built on first use
 * and cached; the cache entry is dropped when the tenant's change stamp moves (applications, keys,
 * tenant settings: src/iam/change-stamps.ts), so every process rebuilds within one poll.
 *
 * Issuer `{baseUrl}/tenants/{tenantId}`; endpoints under `/tenants/{tenantId}/oauth2/...`. The
 * configuration pins security-bar §3:
 * - `code` is the only response type (no implicit/hybrid, RFC 9700 §2.1.2); PKCE S256 required for
 *   every client (RFC 9700 §2.1.1: required for public clients; Gatehouse requires it of
 *   confidential ones too, as OAuth 2.1 does);
 * - refresh tokens rotate on every use, and a rotated token used again revokes the grant
 *   (oidc-provider's consumed check, made race-free by the adapter's atomic `consume`);
 * - `iss` in authorization responses (RFC 9207); exact redirect URI matching (oidc-provider);
 * - client authentication with asymmetric JWTs only (no HS*, no `none` algorithm); `jti` replay
 *   detection through the adapter; ID token hints and request objects verified with the tenant's
 *   keys only;
 * - cookies signed with the tenant's own secret (encrypted at rest with the signing keys), cookie
 *   names carry the tenant id so tenants never share a cookie.
 */
import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors, interactionPolicy, type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Config } from '../config.js';
import type { Keyring } from '../db/encryption.js';
import type { ChangeStamps } from '../iam/change-stamps.js';
import type { Logger } from '../shared/logger.js';
import { currentSsoSession } from '../auth/login.js';
import { endSsoSession, ssoSessionCookieName, ssoSessionCookieOptions, type SsoSessionRecord } from '../auth/sso-session.js';
import { tenantScope } from '../sso/tenant/tenant-context.js';
import { findAccountIn, SCOPE_CLAIMS, userOfRequest } from './account.js';
import { mongoAdapterFor } from './adapter.js';
import { OidcArtifact } from './artifact.model.js';
import { clientOf, loadOidcApplication, type ClientApplication, type LoadedClient } from './clients.js';
import { loadTenantKeys } from './keys/signing-keys.js';
import { AUTHORIZATION_CODE_TTL_SEC, DEFAULT_ACCESS_TOKEN_TTL_SEC, DEFAULT_REFRESH_TOKEN_TTL_SEC, ID_TOKEN_TTL_SEC, INTERACTION_TTL_SEC, PROVIDER_SESSION_TTL_SEC } from './lifetimes.js';
import { loadedUserMayUseApplication } from './access.js';
import { formPostCsp, renderFormPost, renderOidcPage } from './views.js';

export interface OidcDeps {
  config: Config;
  logger: Logger;
  keyring: Keyring;
  stamps: ChangeStamps;
}

export interface TenantProvider {
  tenantId: string;
  accountId: number;
  provider: Provider;
  /** The Koa request handler, for express. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** The stamp this provider was built under. */
  stamp: number;
  /** Applications by client id, as loaded (null: no such client), valid while the stamp holds. */
  clients: Map<string, LoadedClient | null>;
  /** Loads a client's application (cached). */
  application(clientId: string): Promise<ClientApplication | undefined>;
  /** A per-interaction anti-forgery token for Gatehouse's own interaction forms. */
  csrfFor(uid: string): string;
}

/** Providers kept in memory at most; the least recently built is dropped first. */
const MAX_CACHED_PROVIDERS = 200;
const cache = new Map<string, Promise<TenantProvider>>();

export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'groups', 'roles'];
/** Gatehouse's `acr` values: one factor, or two (`acr_values=mfa` asks for the latter). */
export const ACR_VALUES = ['pwd', 'mfa'];

/** Per-request state Gatehouse keeps on the Koa context. */
interface GatehouseState {
  ssoSession?: SsoSessionRecord | null;
}

function stateOf(ctx: KoaContextWithOIDC): GatehouseState {
  return ctx.state as GatehouseState;
}

async function ssoSessionOf(ctx: KoaContextWithOIDC, tenantId: string, config: Config): Promise<SsoSessionRecord | null> {
  const state = stateOf(ctx);
  if (state.ssoSession === undefined) {
    state.ssoSession = await currentSsoSession(ctx.req as unknown as Parameters<typeof currentSsoSession>[0], tenantId, config);
  }
  return state.ssoSession;
}

/** `acr_values` asking for two factors. */
export function wantsMfa(acrValues: unknown): boolean {
  return typeof acrValues === 'string' && acrValues.split(' ').includes('mfa');
}

/**
 * The form_post response mode (OAuth 2.0 Form Post Response Mode) rendered by Gatehouse: its
 * page's CSP allows its one script by hash and `form-action` only to the redirect URI's origin
 * (security-bar §4). oidc-provider registers its own at construction; this subclass substitutes it.
 */
class GatehouseProvider extends Provider {
  override registerResponseMode(name: string, handler: Parameters<Provider['registerResponseMode']>[1]): void {
    if (name !== 'form_post') {
      super.registerResponseMode(name, handler);
      return;
    }
    super.registerResponseMode(name, (ctx, action, inputs) => {
      ctx.type = 'html';
      if (![200, 400, 500].includes(ctx.status)) ctx.status = 'error' in inputs ? 400 : 200;
      ctx.set('content-security-policy', formPostCsp(ctx.response.get('content-security-policy') || undefined, new URL(action).origin));
      ctx.body = renderFormPost(action, inputs);
    });
  }
}

function buildConfiguration(tenantId: string, deps: OidcDeps, tp: Pick<TenantProvider, 'clients' | 'application'>, keys: Awaited<ReturnType<typeof loadTenantKeys>>): Configuration {
  const { config } = deps;
  const secure = config.baseUrl.startsWith('https:');

  const policy = interactionPolicy.base();
  const login = policy.get('login');
  if (!login) throw new Error('oidc-provider has no login prompt');
  // Tie oidc-provider's session to the Gatehouse session: no live Gatehouse session in this
  // browser, or one of another user, or one factor where `acr_values=mfa` asks for two → log in.
  login.checks.unshift(
    new interactionPolicy.Check('gatehouse_session', 'End-User authentication is required', 'login_required', async (ctx) => {
      const sso = await ssoSessionOf(ctx, tenantId, config);
      if (!sso) return interactionPolicy.Check.REQUEST_PROMPT;
      if (ctx.oidc.session?.accountId !== sso.userId) return interactionPolicy.Check.REQUEST_PROMPT;
      if (wantsMfa(ctx.oidc.params?.acr_values) && sso.acr !== 'mfa') return interactionPolicy.Check.REQUEST_PROMPT;
      return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );
  // Who may sign in is checked on every authorization, not only at login: an assignment removed
  // after the session began must stop the next authorization (the interaction answers access_denied).
  login.checks.push(
    new interactionPolicy.Check('gatehouse_access', 'the user may not use this application', 'access_denied', async (ctx) => {
      const accountId = ctx.oidc.session?.accountId;
      const clientId = ctx.oidc.client?.clientId;
      if (!accountId || !clientId) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      const app = await tp.application(clientId);
      return app && (await loadedUserMayUseApplication(tenantId, app, await userOfRequest(ctx, tenantId, accountId))) ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }),
  );

  const appOf = (clientId: string | undefined): ClientApplication | undefined => (clientId ? (tp.clients.get(clientId)?.app ?? undefined) : undefined);

  return {
    adapter: mongoAdapterFor(tenantId, async (clientId) => {
      await tp.application(clientId);
      return tp.clients.get(clientId)?.metadata;
    }),
    clients: [],
    jwks: keys.providerJwks as Configuration['jwks'],
    findAccount: findAccountIn(tenantId),
    // Standalone claims (null) besides the scopes: how and when the user authenticated, the session id (back-channel logout).
    claims: { acr: null, amr: null, auth_time: null, sid: null, ...Object.fromEntries(Object.entries(SCOPE_CLAIMS).map(([k, v]) => [k, [...v]])) },
    scopes: OIDC_SCOPES,
    acrValues: ACR_VALUES,
    responseTypes: ['code'],
    pkce: { required: () => true },
    allowOmittingSingleRegisteredRedirectUri: false,
    rotateRefreshToken: true,
    conformIdTokenClaims: true,
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      // RFC 8725 §3.1: asymmetric algorithms only, so an HS256 token keyed with a public key or an
      // `alg: none` token never verifies (security-bar §6 #30, #31).
      clientAuthSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      idTokenSigningAlgValues: ['RS256', 'ES256'],
      requestObjectSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
      userinfoSigningAlgValues: ['RS256', 'ES256'],
      introspectionSigningAlgValues: ['RS256', 'ES256'],
      authorizationSigningAlgValues: ['RS256', 'ES256'],
    },
    cookies: {
      keys: keys.cookieKeys,
      names: { session: `gh_op_${tenantId}`, interaction: `gh_opi_${tenantId}`, resume: `gh_opr_${tenantId}` },
      long: { httpOnly: true, sameSite: 'lax', secure, signed: true },
      short: { httpOnly: true, sameSite: 'lax', secure, signed: true },
    },
    routes: {
      authorization: '/oauth2/authorize',
      token: '/oauth2/token',
      revocation: '/oauth2/revoke',
      introspection: '/oauth2/introspect',
      userinfo: '/oauth2/userinfo',
      jwks: '/oauth2/jwks',
      end_session: '/oauth2/logout',
      pushed_authorization_request: '/oauth2/par',
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // Resource servers are confidential clients of the tenant (Keycloak: any confidential
        // client of the realm may introspect); a public client can introspect nothing.
        allowedPolicy: async (_ctx, client) => client.clientAuthMethod !== 'none',
      },
      revocation: {
        enabled: true,
        // A client revokes only its own tokens (RFC 7009 §2.1).
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.type = 'html';
          ctx.body = renderOidcPage('logout', 'Sign out', { form, host: new URL(config.baseUrl).host, clientName: ctx.oidc.client?.clientName ?? null });
        },
        postLogoutSuccessSource: async (ctx) => {
          ctx.type = 'html';
          ctx.body = renderOidcPage('logged-out', 'Signed out', { clientName: ctx.oidc.client?.clientName ?? null });
        },
      },
      backchannelLogout: { enabled: true },
      resourceIndicators: { enabled: false },
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      claimsParameter: { enabled: false },
      requestObjects: { enabled: false },
      registration: { enabled: false },
    },
    interactions: {
      policy,
      url: async (_ctx, interaction) => `/tenants/${tenantId}/interaction/${interaction.uid}`,
    },
    ttl: {
      AccessToken: (_ctx, _token, client) => appOf(client.clientId)?.accessTokenTtlSec ?? DEFAULT_ACCESS_TOKEN_TTL_SEC,
      ClientCredentials: (_ctx, _token, client) => appOf(client.clientId)?.accessTokenTtlSec ?? DEFAULT_ACCESS_TOKEN_TTL_SEC,
      AuthorizationCode: AUTHORIZATION_CODE_TTL_SEC,
      IdToken: ID_TOKEN_TTL_SEC,
      RefreshToken: (ctx, token, client) => {
        const full = appOf(client.clientId)?.refreshTokenTtlSec ?? DEFAULT_REFRESH_TOKEN_TTL_SEC;
        // A rotated token never outlives the one it replaced: the refresh lifetime counts from
        // the original authorization, as Keycloak's "SSO Session Max" does for offline sessions.
        const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
        return rotated ? Math.max(1, Math.min(full, rotated.remainingTTL)) : full;
      },
      Interaction: INTERACTION_TTL_SEC,
      Session: PROVIDER_SESSION_TTL_SEC,
      Grant: (_ctx, grant) => Math.max(PROVIDER_SESSION_TTL_SEC, appOf(grant.clientId)?.refreshTokenTtlSec ?? DEFAULT_REFRESH_TOKEN_TTL_SEC),
    },
    clientBasedCORS: (_ctx, origin, client) => client.redirectUris?.some((u) => URL.parse(u)?.origin === origin) ?? false,
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = renderOidcPage('error', 'Sign-in error', { heading: 'Sign-in error', error: out.error, description: out.error_description ?? '' });
    },
  };
}

async function build(tenant: { tenantId: string; accountId: number }, stamp: number, deps: OidcDeps): Promise<TenantProvider> {
  const { tenantId } = tenant;
  const keys = await loadTenantKeys(tenant, deps.keyring);
  const clients = new Map<string, LoadedClient | null>();
  const tp: Pick<TenantProvider, 'clients' | 'application'> = {
    clients,
    async application(clientId: string) {
      if (!clients.has(clientId)) {
        const app = await loadOidcApplication(tenantId, clientId);
        clients.set(clientId, (app && clientOf(app, deps.keyring)) ?? null);
      }
      return clients.get(clientId)?.app ?? undefined;
    },
  };
  const issuer = `${deps.config.baseUrl}/tenants/${tenantId}`;
  const provider = new GatehouseProvider(issuer, buildConfiguration(tenantId, deps, tp, keys));
  // URLs come from the configured public base URL (see handle()), never from a client's Host.
  provider.proxy = true;

  provider.use(async (koaCtx, next) => {
    await next();
    const ctx = koaCtx as unknown as KoaContextWithOIDC;
    const route = ctx.oidc?.route;
    if (route === 'authorization' || route === 'resume') await linkSsoSession(ctx, tenantId, deps.config);
    else if (route === 'end_session_confirm' && ctx.oidc?.params?.logout && ctx.status >= 300 && ctx.status < 400) {
      // RP-initiated logout ends the Gatehouse session too: logging out anywhere ends it everywhere.
      const sso = await currentSsoSession(ctx.req as unknown as Parameters<typeof currentSsoSession>[0], tenantId, deps.config);
      if (sso) await endSsoSession(tenantId, sso.sessionId, 'logout');
      const { httpOnly, secure: cookieSecure, path, sameSite } = ssoSessionCookieOptions(deps.config);
      ctx.cookies.set(ssoSessionCookieName(deps.config, tenantId), null, { httpOnly, secure: cookieSecure, path, sameSite: sameSite as 'lax' });
    }
  });
  provider.on('server_error', (_ctx, err) => deps.logger.error({ err, tenantId }, 'oidc-provider server error'));
  provider.on('backchannel.error', (_ctx, err, client) => deps.logger.warn({ err, tenantId, clientId: client.clientId }, 'back-channel logout delivery failed'));

  const callback = provider.callback();
  const base = new URL(deps.config.baseUrl);
  const cookieKey = keys.cookieKeys[0] ?? '';
  return {
    tenantId,
    accountId: tenant.accountId,
    provider,
    stamp,
    clients,
    application: tp.application,
    csrfFor: (uid) => createHmac('sha256', cookieKey).update(`interaction-form:${uid}`).digest('base64url'),
    handle: (req, res) => {
      // oidc-provider derives its endpoint URLs from the request: pin them to the public base URL
      // (RFC 9700 §4.13: behind a TLS-terminating proxy the Host and scheme are the proxy's).
      req.headers['x-forwarded-proto'] = base.protocol.slice(0, -1);
      req.headers['x-forwarded-host'] = base.host;
      void callback(req, res);
    },
  };
}

/**
 * Records which Gatehouse session an oidc-provider session belongs to (for logout propagation):
 * after an authorization or a resumed login, when the browser's live Gatehouse session is of the
 * session's user. A conditional write, so an unchanged link costs no update.
 */
async function linkSsoSession(ctx: KoaContextWithOIDC, tenantId: string, config: Config): Promise<void> {
  const session = ctx.oidc?.session;
  if (!session?.accountId || (session as unknown as { destroyed?: boolean }).destroyed) return;
  const sso = await ssoSessionOf(ctx, tenantId, config);
  if (!sso || sso.userId !== session.accountId) return;
  await OidcArtifact.updateOne({ _id: `Session:${session.jti}`, tenantId, ssoSessionId: { $ne: sso.sessionId } }, { $set: { ssoSessionId: sso.sessionId } });
}

/** The tenant's provider, built on first use, rebuilt when the tenant's change stamp moved. */
export async function providerFor(tenant: { tenantId: string; accountId: number }, deps: OidcDeps): Promise<TenantProvider> {
  const stamp = await deps.stamps.current(tenantScope(tenant.tenantId));
  const cached = cache.get(tenant.tenantId);
  if (cached) {
    const tp = await cached.catch(() => undefined);
    if (tp && tp.stamp === stamp) return tp;
    if (cache.get(tenant.tenantId) !== cached) return providerFor(tenant, deps); // someone else rebuilt it meanwhile
  }
  const building = build(tenant, stamp, deps);
  cache.delete(tenant.tenantId);
  cache.set(tenant.tenantId, building);
  building.catch(() => {
    if (cache.get(tenant.tenantId) === building) cache.delete(tenant.tenantId);
  });
  while (cache.size > MAX_CACHED_PROVIDERS) {
    const oldest = cache.keys().next().value;
    if (oldest === undefined) break;
    cache.delete(oldest);
  }
  return building;
}

/** Drops every cached provider (tests). */
export function clearProviderCache(): void {
  cache.clear();
}

export { errors as oidcErrors };
