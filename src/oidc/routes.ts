/**
 * End-user routes of the OpenID Provider under /tenants/{t} (src/http/tenant-routes.ts):
 *   /.well-known/openid-configuration, /oauth2/*   → the tenant's oidc-provider (its own body parsing)
 *   GET  /interaction/{uid}                         → login through the shared pipeline, access check, consent page
 *   POST /interaction/{uid}/consent                 → the consent decision
 *
 * `{t}` may be the alias: the provider always sees the tenant-id URL (`originalUrl` rewritten),
 * so discovery, endpoints and cookies are the same whichever name the client used.
 */
import express, { Router, type Request, type Response } from 'express';
import type { InteractionResults } from 'oidc-provider';
import { beginLogin, currentSsoSession, sessionSatisfies, takeLoginResult, type LoginRequirements } from '../auth/login.js';
import { onSsoSessionEnd } from '../auth/sso-session.js';
import { rememberLanguage } from '../http/i18n.js';
import { tenantOf, type TenantDeps } from '../http/tenant-routes.js';
import { userMayUseApplication } from './access.js';
import { consentTextFor, pickConsentLanguage, scopeLabel } from './consent-text.js';
import { findConsent, consentItemsFor, onConsentWithdrawn, recordConsent } from '../sso/consents/consent.service.js';
import { propagateSsoLogout, revokeOnConsentWithdrawn } from './logout.js';
import { providerFor, wantsMfa, type TenantProvider } from './provider.js';
import { renderOidcPage } from './views.js';

const PROVIDER_PATH = /^\/(?:oauth2\/|\.well-known\/openid-configuration$)/;
const UID = /^[A-Za-z0-9_-]{10,64}$/;
/** Endpoints where clients authenticate (and may send a JWT client assertion). */
const CLIENT_AUTH_PATHS = /^\/oauth2\/(?:token|introspect|revoke)$/;
/** Reads a form body as text (oidc-provider then uses it as already read: `req.body`). */
const readFormText = (req: Request, res: Response) =>
  new Promise<void>((resolve, reject) => {
    express.text({ type: 'application/x-www-form-urlencoded', limit: '64kb' })(req, res, (err?: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
  });

/**
 * draft-ietf-oauth-rfc7523bis §4 (security-bar #31): a client assertion's `aud` must be exactly
 * the issuer identifier, one string. oidc-provider also accepts the token endpoint URL or a list
 * that contains an accepted value, which is what the audience-injection attack relies on. The
 * assertion is only decoded here; oidc-provider verifies its signature, expiry and `jti`.
 */
export function assertionAudienceProblem(form: string, issuer: string): string | undefined {
  const assertion = new URLSearchParams(form).get('client_assertion');
  if (!assertion) return undefined;
  const payloadPart = assertion.split('.')[1];
  let aud: unknown;
  try {
    aud = (JSON.parse(Buffer.from(payloadPart ?? '', 'base64url').toString('utf8')) as { aud?: unknown }).aud;
  } catch {
    return 'the client assertion is not a JWT';
  }
  return aud === issuer ? undefined : 'the client assertion audience (aud) must be exactly the issuer identifier';
}

let logoutListenerDeps: TenantDeps | undefined;

type Details = Awaited<ReturnType<TenantProvider['provider']['interactionDetails']>>;

function errorPage(res: Response, status: number, error: string, description: string): void {
  res.status(status).type('html').send(renderOidcPage('error', 'Sign-in error', { heading: 'Sign-in error', error, description }));
}

function scopesOf(details: Details): string[] {
  return [...new Set(String(details.params.scope ?? 'openid').split(' ').filter((s) => s))];
}

function requirementsOf(details: Details): LoginRequirements {
  const params = details.params as Record<string, unknown>;
  const prompts = typeof params.prompt === 'string' ? params.prompt.split(' ') : [];
  const maxAge = typeof params.max_age === 'string' || typeof params.max_age === 'number' ? Number(params.max_age) : undefined;
  return {
    forceAuthn: prompts.includes('login'),
    ...(maxAge !== undefined && Number.isFinite(maxAge) && maxAge >= 0 ? { maxAgeSec: maxAge } : {}),
    requireMfa: wantsMfa(params.acr_values),
  };
}

async function finish(tp: TenantProvider, req: Request, res: Response, result: InteractionResults, merge: boolean): Promise<void> {
  await tp.provider.interactionFinished(req, res, result, { mergeWithLastSubmission: merge });
}

const accessDenied = { error: 'access_denied', error_description: 'the user may not sign in to this application' };

export function oidcRouter(deps: TenantDeps): Router {
  const router = Router({ mergeParams: true });

  // Logout anywhere ends the OpenID sessions everywhere (back-channel logout to the clients that
  // took part). Registered once per process; the latest app's deps serve it.
  if (!logoutListenerDeps) {
    onSsoSessionEnd((ended) => propagateSsoLogout(ended, logoutListenerDeps!), deps.logger);
    // A withdrawn consent revokes the application's grants for that user (issue 8 "Interactions").
    onConsentWithdrawn((event) => revokeOnConsentWithdrawn(event, logoutListenerDeps!));
  }
  logoutListenerDeps = deps;

  router.use(async (req, res, next) => {
    if (!PROVIDER_PATH.test(req.path)) {
      next();
      return;
    }
    const tenant = tenantOf(res);
    const tp = await providerFor(tenant, deps);
    req.originalUrl = `/tenants/${tenant.tenantId}${req.url}`;
    if (req.path === '/oauth2/logout') await requireHintForLogoutRedirect(req, res);
    // Only a body without HTTP Basic credentials can carry a client assertion (oidc-provider refuses
    // two authentication methods in one request), so the common Basic case is not read twice.
    if (req.method === 'POST' && CLIENT_AUTH_PATHS.test(req.path) && !req.get('authorization') && req.is('application/x-www-form-urlencoded')) {
      await readFormText(req, res);
      const problem = assertionAudienceProblem(typeof req.body === 'string' ? req.body : '', `${deps.config.baseUrl}/tenants/${tenant.tenantId}`);
      if (problem) {
        res.status(401).set('cache-control', 'no-store').json({ error: 'invalid_client', error_description: problem });
        return;
      }
    }
    tp.handle(req, res);
  });

  router.get('/interaction/:uid', async (req, res) => {
    const tenant = tenantOf(res);
    const uid = String(req.params.uid);
    const tp = await providerFor(tenant, deps);
    const details = await interactionOf(tp, req, res, uid);
    if (!details) return;
    const clientId = String(details.params.client_id ?? '');
    const app = await tp.application(clientId);
    if (!app) return errorPage(res, 400, 'invalid_client', 'the application is no longer registered');

    if (details.prompt.name === 'login') {
      const loginRef = typeof req.query.login === 'string' ? req.query.login : undefined;
      let who: { userId: string; amr: string[]; acr: string; authTime: Date } | undefined;
      if (loginRef) {
        const result = await takeLoginResult(req, res, tenant.tenantId, loginRef, deps);
        if (result) who = { userId: result.session.userId, amr: result.amr, acr: result.acr, authTime: result.authTime };
      } else {
        const sso = await currentSsoSession(req, tenant.tenantId, deps.config);
        if (sso && sessionSatisfies(sso, requirementsOf(details))) who = { userId: sso.userId, amr: sso.amr, acr: sso.acr, authTime: sso.authTime };
      }
      if (!who) {
        const to = await beginLogin(
          req,
          res,
          { tenant, returnTo: `/tenants/${tenant.tenantId}/interaction/${uid}`, client: 'oidc', clientName: app.name, requirements: requirementsOf(details) },
          deps,
        );
        res.redirect(303, to);
        return;
      }
      if (!(await userMayUseApplication(tenant.tenantId, app, who.userId))) return finish(tp, req, res, accessDenied, false);
      return finish(tp, req, res, { login: { accountId: who.userId, amr: who.amr, acr: who.acr, ts: Math.floor(who.authTime.getTime() / 1000), remember: true } }, false);
    }

    if (details.prompt.name === 'consent') {
      const accountId = details.session?.accountId;
      if (!accountId) return errorPage(res, 400, 'invalid_request', 'this sign-in has no signed-in user');
      const requested = scopesOf(details);
      if (!app.consentPage?.enabled) return grantConsent(tp, req, res, details);
      // Consented before to at least these scopes, and not withdrawn: no page again (Keycloak's "remember consent").
      const earlier = await findConsent(tenant.tenantId, app.applicationId, accountId);
      if (earlier && earlier.status === 'CONSENTED' && requested.every((s) => earlier.scopes.includes(s))) return grantConsent(tp, req, res, details);
      const lang = pickConsentLanguage(app.consentPage, req);
      rememberLanguage(req, res, deps.config.baseUrl.startsWith('https:'));
      const t = consentTextFor(lang);
      const scopes = requested.map((s) => ({ name: s, label: scopeLabel(lang, s) }));
      const cp = app.consentPage;
      const html = renderOidcPage(
        'consent',
        t.title,
        {
          t,
          applicationName: cp.applicationName?.[lang] || app.name,
          scopes,
          purpose: cp.usePurposeDesc ? cp.purposeDesc?.[lang] || '' : '',
          period: cp.usePeriodDesc ? cp.periodDesc?.[lang] || '' : '',
          transfer: cp.dataTransferAbroad ? { country: cp.dataTransferCountry, recipients: cp.dataRecipients, contact: cp.dataRecipientsContact } : null,
          action: `/tenants/${tenant.tenantId}/interaction/${uid}/consent?lang=${lang}`,
          csrf: tp.csrfFor(uid),
          languages: cp.useLanguages ?? [],
        },
        lang,
      );
      res.status(200).type('html').send(html);
      return;
    }
    errorPage(res, 400, 'invalid_request', `unsupported interaction ${details.prompt.name}`);
  });

  router.post('/interaction/:uid/consent', express.urlencoded({ extended: false, limit: '8kb' }), async (req, res) => {
    const tenant = tenantOf(res);
    const uid = String(req.params.uid);
    const tp = await providerFor(tenant, deps);
    const details = await interactionOf(tp, req, res, uid);
    if (!details) return;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.csrf !== 'string' || body.csrf !== tp.csrfFor(uid)) return errorPage(res, 403, 'invalid_request', 'the consent form is not valid for this sign-in');
    if (details.prompt.name !== 'consent' || !details.session?.accountId) return errorPage(res, 400, 'invalid_request', 'this sign-in is not waiting for consent');
    const app = await tp.application(String(details.params.client_id ?? ''));
    if (!app) return errorPage(res, 400, 'invalid_client', 'the application is no longer registered');
    if (body.decision !== 'allow') return finish(tp, req, res, { error: 'access_denied', error_description: 'the user did not consent' }, false);
    const lang = pickConsentLanguage(app.consentPage, req);
    const scopes = scopesOf(details);
    const shown = consentItemsFor({ name: app.name, consentPage: app.consentPage }, lang, scopes);
    await recordConsent({ tenantId: tenant.tenantId, accountId: tenant.accountId, applicationId: app.applicationId, userId: details.session.accountId, scopes, items: shown.items, language: shown.language });
    return grantConsent(tp, req, res, details);
  });

  return router;
}

/**
 * RP-initiated logout redirects only with a valid `id_token_hint` (security-bar §3 "Logout open
 * redirect", OIDF consensus): oidc-provider also honours a registered `post_logout_redirect_uri`
 * named with `client_id` alone, so without a hint the redirect URI (and its `state`) is dropped
 * and the user ends on Gatehouse's own signed-out page. oidc-provider then verifies the hint.
 */
async function requireHintForLogoutRedirect(req: Request, res: Response): Promise<void> {
  const strip = (params: URLSearchParams): boolean => {
    if (!params.has('post_logout_redirect_uri') || params.get('id_token_hint')) return false;
    params.delete('post_logout_redirect_uri');
    params.delete('state');
    return true;
  };
  if (req.method === 'GET') {
    const q = req.url.indexOf('?');
    if (q < 0) return;
    const params = new URLSearchParams(req.url.slice(q + 1));
    if (strip(params)) {
      req.url = `${req.url.slice(0, q)}?${params.toString()}`;
      req.originalUrl = `${req.originalUrl.slice(0, req.originalUrl.indexOf('?'))}?${params.toString()}`;
    }
  } else if (req.method === 'POST' && req.is('application/x-www-form-urlencoded')) {
    await readFormText(req, res);
    const params = new URLSearchParams(typeof req.body === 'string' ? req.body : '');
    if (strip(params)) req.body = params.toString();
  }
}

/** The pending interaction of this browser (its oidc-provider cookie), or an error page. */
async function interactionOf(tp: TenantProvider, req: Request, res: Response, uid: string): Promise<Details | undefined> {
  if (!UID.test(uid)) {
    errorPage(res, 400, 'invalid_request', 'unknown sign-in request');
    return undefined;
  }
  let details: Details;
  try {
    details = await tp.provider.interactionDetails(req, res);
  } catch {
    errorPage(res, 400, 'invalid_request', 'this sign-in request has expired or belongs to another browser; start again from the application');
    return undefined;
  }
  if (details.uid !== uid) {
    errorPage(res, 400, 'invalid_request', 'this sign-in request belongs to another browser');
    return undefined;
  }
  return details;
}

/** Grants what the prompt found missing and finishes the interaction (303 back to the authorization). */
async function grantConsent(tp: TenantProvider, req: Request, res: Response, details: Details): Promise<void> {
  const { provider } = tp;
  const accountId = details.session!.accountId;
  const clientId = String(details.params.client_id);
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await finish(tp, req, res, { consent: existing ? {} : { grantId } }, true);
}
