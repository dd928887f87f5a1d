/**
 * The user portal under /tenants/{t} (issue 7 "User portal"; ARCHITECTURE.md "Endpoint map"):
 *   GET  /portal                              applications, accounts and roles
 *   POST /portal/roles/{assignmentId}/console switch role → console session → 303 /console
 *   POST /portal/roles/{assignmentId}/api     switch role → STS credentials, shown once
 *   GET  /portal/profile (+ profile.routes.ts) password, MFA device, sessions, consents
 *
 * Without a live SSO session a page starts the sign-in (beginLogin, client `portal`) and comes
 * back; a POST without one goes back to the portal. Every POST passes the origin and session-bound
 * token checks of csrf.ts first (403 page otherwise). Every answer is `Cache-Control: no-store`
 * (pages carry CSRF tokens, credentials, TOTP keys). Errors are pages, never JSON, never the
 * detail of an internal error.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type ErrorRequestHandler, type NextFunction, type Request, type Response } from 'express';
import { consoleCookies } from '../console/cookies.js';
import { VIEWS_DIR, renderPage } from '../console/views.js';
import { beginLogin, currentSsoSession, takeLoginResult, type LoginRequirements } from '../auth/login.js';
import type { SsoSessionRecord } from '../auth/sso-session.js';
import { clientIp } from '../http/client-ip.js';
import { toAppError } from '../http/errors.js';
import { tenantOf, type TenantDeps } from '../http/tenant-routes.js';
import { AppError } from '../shared/errors.js';
import { resolveUserAccess } from '../sso/access/resolve-access.js';
import { SsoUser } from '../sso/users/user.model.js';
import { listPortalApplications } from './applications.js';
import { samlLaunchToken } from '../saml/idp/portal.js';
import { PORTAL_CSRF_FIELD, portalCsrfToken, verifyPortalCsrf } from './csrf.js';
import { profileRoutes } from './profile.routes.js';
import { SwitchRefusedError, refusalOf, switchToApi, switchToConsole, type SwitchRefusal } from './role-switch.service.js';
import { registerSsoRoleSessionCleanup } from './sso-role-session.js';
import { portalStrings, type PortalStrings } from './strings.js';
import { LANGUAGES, LANGUAGE_NAMES, pickLanguage, rememberLanguage } from '../http/i18n.js';

const ASSIGNMENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const LOGIN_ID = /^[A-Za-z0-9_-]{22}$/;

/** What every portal page handler gets. */
export interface PortalContext {
  tenant: { tenantId: string; accountId: number };
  session: SsoSessionRecord;
  /** `/tenants/{tenantId}/portal` */
  base: string;
  s: PortalStrings;
  /** Renders a portal page with the layout's shared data (navigation, sign-out form, CSRF token). */
  page(template: string, data: Record<string, unknown>, status?: number): Promise<void>;
}

export interface PortalHelpers {
  /** The live session, or undefined after answering (303 to sign-in for pages, back to the portal for POSTs). */
  signedIn(req: Request, res: Response, requirements?: LoginRequirements): Promise<PortalContext | undefined>;
  /** signedIn + the CSRF checks of a POST; undefined after answering. */
  signedInPost(req: Request, res: Response): Promise<PortalContext | undefined>;
  errorPage(req: Request, res: Response, status: number, heading: string, message: string): void;
}

export function portalRouter(deps: TenantDeps): Router {
  registerSsoRoleSessionCleanup(deps.logger);
  const router = Router({ mergeParams: true });
  const consoleCookie = consoleCookies(deps.config);
  const secureCookies = deps.config.baseUrl.startsWith('https:');

  const stylesheet = readFileSync(path.join(VIEWS_DIR, 'portal', 'portal.css'));
  router.get('/portal/assets/portal.css', (_req, res) => {
    res.type('css').set('Cache-Control', 'public, max-age=3600').send(stylesheet);
  });

  router.use('/portal', express.urlencoded({ extended: false, limit: '16kb' }), (_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  const baseOf = (tenantId: string) => `/tenants/${tenantId}/portal`;

  function errorPage(req: Request, res: Response, status: number, heading: string, message: string): void {
    const tenant = tenantOf(res);
    renderPage(res, 'portal/error', { title: heading, heading, message, ...languageData(req, res), base: baseOf(tenant.tenantId) }, status);
  }

  /** The request's language (the sign-in pages' choice), its words, and the language switcher's links. */
  function languageData(req: Request, res: Response) {
    rememberLanguage(req, res, secureCookies);
    const lang = pickLanguage(req);
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query)) if (k !== 'lang' && k !== 'login' && typeof v === 'string') params.set(k, v);
    const languages = LANGUAGES.map((l) => {
      const q = new URLSearchParams(params);
      q.set('lang', l);
      // A POST's answer (an error, the credentials page) links the switcher to the portal's home.
      const path = req.method === 'GET' ? `${req.baseUrl}${req.path}` : baseOf(tenantOf(res).tenantId);
      return { lang: l, name: LANGUAGE_NAMES[l], href: `${path}?${q.toString()}`, current: l === lang };
    });
    return { lang, languages, s: portalStrings(lang), cssHref: `${baseOf(tenantOf(res).tenantId)}/assets/portal.css` };
  }

  async function contextOf(req: Request, res: Response, session: SsoSessionRecord): Promise<PortalContext> {
    const tenant = tenantOf(res);
    const base = baseOf(tenant.tenantId);
    const csrfToken = portalCsrfToken(session);
    const lang = languageData(req, res);
    return {
      tenant: { tenantId: tenant.tenantId, accountId: tenant.accountId },
      session,
      base,
      s: lang.s,
      page: async (template, data, status = 200) => {
        renderPage(
          res,
          template,
          { ...data, ...lang, base, nav: data.nav ?? 'home', csrfField: PORTAL_CSRF_FIELD, csrfToken, logoutAction: `/tenants/${tenant.tenantId}/logout` },
          status,
        );
      },
    };
  }

  /**
   * The live session for a page. Back from a sign-in (`?login=`), the result is taken (once, in
   * this browser) and the browser sent to the clean URL, so the id never stays in the address bar.
   */
  async function signedIn(req: Request, res: Response, requirements?: LoginRequirements): Promise<PortalContext | undefined> {
    const tenant = tenantOf(res);
    const login = typeof req.query.login === 'string' ? req.query.login : undefined;
    const path = `/tenants/${tenant.tenantId}${req.path}`;
    if (login !== undefined) {
      if (LOGIN_ID.test(login)) await takeLoginResult(req, res, tenant.tenantId, login, deps);
      res.redirect(303, path);
      return undefined;
    }
    const session = await currentSsoSession(req, tenant.tenantId, deps.config);
    if (!session) {
      res.redirect(303, await beginLogin(req, res, { tenant: { tenantId: tenant.tenantId, accountId: tenant.accountId }, returnTo: path, client: 'portal', requirements }, deps));
      return undefined;
    }
    return contextOf(req, res, session);
  }

  async function signedInPost(req: Request, res: Response): Promise<PortalContext | undefined> {
    const tenant = tenantOf(res);
    const session = await currentSsoSession(req, tenant.tenantId, deps.config);
    if (!session) {
      res.redirect(303, baseOf(tenant.tenantId));
      return undefined;
    }
    const verdict = verifyPortalCsrf(req, session, deps.config);
    if (verdict !== 'ok') {
      req.log.warn({ verdict, tenantId: tenant.tenantId }, 'portal form refused (CSRF)');
      const { s } = languageData(req, res);
      errorPage(req, res, 403, s.refused, s.csrfRefused);
      return undefined;
    }
    return contextOf(req, res, session);
  }

  const helpers: PortalHelpers = { signedIn, signedInPost, errorPage };

  // ---- applications, accounts and roles ------------------------------------------------------

  router.get('/portal', async (req, res) => {
    const ctx = await signedIn(req, res);
    if (!ctx) return;
    const { tenantId } = ctx.tenant;
    const userId = ctx.session.userId;
    const [user, access, applications] = await Promise.all([
      SsoUser.findOne({ tenantId, userId }).select('loginId userProfile accessRules consolePermitIps useApiAllowSource apiAllowSources').lean(),
      resolveUserAccess(tenantId, userId),
      listPortalApplications(tenantId, userId, { baseUrl: deps.config.baseUrl }),
    ]);
    // The SAML launch forms carry the SAML module's own session-bound token (src/saml/idp/portal.ts).
    const samlCsrf = applications.some((a) => a.launch.method === 'POST') ? await samlLaunchToken(tenantId, ctx.session, deps.keyring) : undefined;
    if (!user) throw new AppError('UNAUTHENTICATED', 'your session has ended; sign in again');
    const ip = clientIp(req);
    const say = (reason: SwitchRefusal | undefined) => (reason ? ctx.s.refusal[reason].replace('{ip}', ip) : undefined);
    const roles = (access?.assignments ?? []).map((a) => ({
      assignmentId: a.assignmentId,
      accountMemberNo: a.accountMemberNo,
      permissionSetName: a.permissionSet.permissionSetName ?? a.permissionSet.permissionSetId,
      roleNrn: a.role.roleNrn,
      // A button only where the assignment allows the access type; a note where this network may not use it.
      console: { shown: a.console.allowed, refusal: a.console.allowed ? say(refusalOf('console', a, user, ip)) : undefined },
      api: { shown: a.api.allowed, refusal: a.api.allowed ? say(refusalOf('api', a, user, ip)) : undefined },
    }));
    const name = [user.userProfile?.firstName, user.userProfile?.lastName].filter((p) => p).join(' ');
    await ctx.page('portal/home', { title: ctx.s.portalName, nav: 'home', userName: name || user.loginId, loginId: user.loginId, applications, samlCsrf, roles });
  });

  // ---- switch role --------------------------------------------------------------------------

  const assignmentIdOf = (req: Request): string => {
    const id = String(req.params.assignmentId ?? '');
    if (!ASSIGNMENT_ID.test(id)) throw new AppError('NOT_FOUND', 'you hold no assignment with this id');
    return id;
  };

  router.post('/portal/roles/:assignmentId/console', async (req, res) => {
    const ctx = await signedInPost(req, res);
    if (!ctx) return;
    const switched = await switchToConsole(
      { tenantId: ctx.tenant.tenantId, ssoSession: ctx.session, assignmentId: assignmentIdOf(req), sourceIp: clientIp(req), userAgent: req.get('user-agent'), requestId: String(req.id) },
      deps,
    );
    req.log.info({ event: 'portal.switchRole', via: 'console', tenantId: ctx.tenant.tenantId, userId: ctx.session.userId, roleNrn: switched.roleNrn }, 'SSO user switched into a role (console)');
    // The console's own session cookie: this browser now uses the console as the role.
    res.cookie(consoleCookie.session, switched.token, consoleCookie.options);
    res.redirect(303, '/console');
  });

  router.post('/portal/roles/:assignmentId/api', async (req, res) => {
    const ctx = await signedInPost(req, res);
    if (!ctx) return;
    const cred = await switchToApi(
      { tenantId: ctx.tenant.tenantId, ssoSession: ctx.session, assignmentId: assignmentIdOf(req), sourceIp: clientIp(req), userAgent: req.get('user-agent'), requestId: String(req.id) },
      deps,
    );
    req.log.info({ event: 'portal.switchRole', via: 'api', tenantId: ctx.tenant.tenantId, userId: ctx.session.userId, roleNrn: cred.roleNrn, accessKey: cred.accessKey }, 'SSO user switched into a role (API credentials)');
    await ctx.page('portal/credentials', { title: ctx.s.credentialsHeading, nav: 'home', cred });
  });

  // ---- profile --------------------------------------------------------------------------------

  router.use(profileRoutes(deps, helpers));

  // ---- errors ---------------------------------------------------------------------------------

  const portalErrors: ErrorRequestHandler = (err: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const known = toAppError(err);
    const status = known && known.status < 500 ? known.status : 500;
    if (status >= 500) req.log.error({ err }, 'portal page failed');
    const { s } = languageData(req, res);
    const heading = status === 404 ? s.notFound : status === 403 ? s.notAllowed : status >= 500 ? s.error : s.refused;
    // A refused switch in the page's language; otherwise clear text only: no stack, no internal
    // detail (the request id finds the log line).
    const message =
      err instanceof SwitchRefusedError
        ? `${err.kind === 'console' ? s.console : s.api}: ${s.refusal[err.reason].replace('{ip}', err.sourceIp)}`
        : status >= 500
          ? `An internal error occurred (request id ${String(req.id)}).`
          : (known?.detail ?? known?.message ?? 'The request is not valid.');
    if (err instanceof SwitchRefusedError) req.log.info({ event: 'portal.switchRefused', reason: err.reason, kind: err.kind, sourceIp: err.sourceIp }, 'role switch refused');
    errorPage(req, res, status, heading, message);
  };
  router.use('/portal', portalErrors);

  return router;
}
