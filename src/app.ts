/**
 * createApp(deps) composes the express application and never listens: main.ts binds it to a
 * port, tests drive it with supertest. Everything the app needs arrives in `deps`; nothing here
 * reads the environment or opens connections.
 */
import cookieParser from 'cookie-parser';
import express, { type Express } from 'express';
import type { Config } from './config.js';
import type { Keyring } from './db/encryption.js';
import { adminRouter, type AdminDeps } from './http/admin-route.js';
import { errorHandler, notFoundHandler } from './http/errors.js';
import { buildOpenApi, type ApiGroup } from './http/openapi.js';
import { healthRoutes, type ReadinessProbe } from './http/health.js';
import { createMetrics, type Metrics } from './http/metrics.js';
import { requestContext } from './http/request-context.js';
import { securityHeaders } from './http/security-headers.js';
import { authenticate } from './iam/authn/authenticate.js';
import { Authorizer } from './iam/authz/authorizer.js';
import { ChangeStamps } from './iam/change-stamps.js';
import { STS_API_PREFIX, SUBACCOUNT_API_PREFIX, stsRoutes, subAccountApiRoutes } from './iam/routes.js';
import { roleSessionRouter } from './iam/roles/role.routes.js';
import { consoleRouter } from './console/index.js';
import { OutboxNotifier, type Notifier } from './notifications/notifier.js';
import { tenantRoutes } from './http/tenant-routes.js';
import { SSO_API_PREFIX, ssoApiRoutes } from './sso/routes.js';
import { installSchemaValidator } from './saml/xml/harden.js';
import type { Logger } from './shared/logger.js';

/** Version of the admin API document (the package version). */
export const API_VERSION = '0.1.0';

export interface AppDeps {
  config: Config;
  logger: Logger;
  /** The database's readiness probe; undefined means "not ready". */
  db: ReadinessProbe | undefined;
  keyring: Keyring;
  /** Injected so tests can read them; created here when absent. */
  metrics?: Metrics;
  /** Cross-process change stamps (main.ts starts their poller). */
  stamps?: ChangeStamps;
  authorizer?: Authorizer;
  /** Defaults to the outbox (messages stored in MongoDB). */
  notifier?: Notifier;
}

/** The console session cookie: `__Host-` prefixed (Secure, Path=/, no Domain) when served over HTTPS. */
export function sessionCookieName(config: Pick<Config, 'baseUrl'>): string {
  return config.baseUrl.startsWith('https:') ? '__Host-gh_console' : 'gh_console';
}

export interface GatehouseApp extends Express {
  locals: Express['locals'] & { metrics: Metrics };
}

export function createApp(deps: AppDeps): GatehouseApp {
  const { config, logger } = deps;
  const metrics = deps.metrics ?? createMetrics();
  // samlify validates every SAML message with the real XML Schema validator (security-bar §1: never a stub).
  installSchemaValidator();
  const app = express() as GatehouseApp;
  app.locals.metrics = metrics;

  app.disable('x-powered-by');
  // Client IP only through the proxies the operator trusts (security-bar §4): never `true`.
  app.set('trust proxy', config.trustProxy);
  // `?a[b]=c` must not become an object (NoSQL-injection vector, security-bar §4).
  app.set('query parser', 'simple');

  app.use(requestContext(logger));
  if (config.metricsEnabled) app.use(metrics.middleware);
  app.use(securityHeaders());

  app.use(healthRoutes(deps.db));
  if (config.metricsEnabled) app.get('/metrics', metrics.handler);

  // The admin REST API takes JSON bodies only, bounded in size.
  app.use('/api', express.json({ limit: '1mb', strict: true, type: ['application/json', 'application/*+json'] }));
  app.use(['/api', '/console'], cookieParser());

  const stamps = deps.stamps ?? new ChangeStamps();
  const adminDeps: AdminDeps = { config, logger, keyring: deps.keyring, stamps, authorizer: deps.authorizer ?? new Authorizer(stamps), notifier: deps.notifier ?? new OutboxNotifier() };
  const authn = authenticate({ keyring: deps.keyring, sessionCookie: sessionCookieName(config) });
  const apiGroups: ApiGroup[] = [
    { prefix: SUBACCOUNT_API_PREFIX, tag: 'Sub Account', routes: subAccountApiRoutes },
    { prefix: STS_API_PREFIX, tag: 'STS', routes: stsRoutes },
    { prefix: SSO_API_PREFIX, tag: 'Single Sign-On', routes: ssoApiRoutes },
  ];
  const openApi = buildOpenApi(apiGroups, config.baseUrl, API_VERSION);
  app.get('/api/v1/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  // `POST /roles/return` ("return to sub account") is authenticated but gated by no action (role.routes.ts).
  app.use(SUBACCOUNT_API_PREFIX, authn, roleSessionRouter(adminDeps), adminRouter(subAccountApiRoutes, adminDeps));
  app.use(STS_API_PREFIX, authn, adminRouter(stsRoutes, adminDeps));
  app.use(SSO_API_PREFIX, authn, adminRouter(ssoApiRoutes, adminDeps));
  app.use('/console', express.urlencoded({ extended: false, limit: '64kb' }), consoleRouter(adminDeps));
  app.use(tenantRoutes(adminDeps));

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
