/**
 * End-user sign-in pages under /tenants/{t} (ARCHITECTURE.md "Endpoint map"; issue 7 "Pages"):
 *   GET  /login            continue an interaction (`?interaction=`), or start one for the portal
 *   POST /login            login id + password (one form, like Keycloak's default)
 *   GET/POST /login/mfa    TOTP code, e-mail/SMS one-time code, or TOTP enrollment
 *   GET/POST /login/password  forced password change (`needPasswordReset`)
 *   GET  /logout           confirmation page; POST /logout ends the session everywhere
 *
 * The logic lives in login-flow.service.ts and login.ts; this file maps outcomes to pages.
 * - Post/redirect/get: every credential POST answers 303 (never 307, RFC 9700 §4.12), and what the
 *   next page must say is kept on the interaction (`notice`), so refusals look the same whatever
 *   their reason (security-bar §6 #38).
 * - CSRF: each form carries the interaction's token (compared in constant time), and a POST whose
 *   `Origin` or `Sec-Fetch-Site` says another site is refused. The interaction is also bound to
 *   the browser by a cookie (login.ts), so an interaction id alone finishes nothing (login CSRF).
 * - Pages: eta with auto-escaping, no inline script or style (security-headers.ts), labels and
 *   `aria-describedby` error text, no JavaScript needed, ko/en/ja (src/http/i18n.ts), no-store.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type Request, type Response } from 'express';
import QRCode from 'qrcode';
import { VIEWS_DIR, renderPage } from '../console/views.js';
import { clientIp } from '../http/client-ip.js';
import { LANGUAGES, LANGUAGE_NAMES, pickLanguage, rememberLanguage, translator, type Language, type MessageKey } from '../http/i18n.js';
import type { TenantDeps } from '../http/tenant-routes.js';
import { tenantOf } from '../http/tenant-routes.js';
import { AppError } from '../shared/errors.js';
import { sameSecret } from '../shared/tokens.js';
import { readLoginSettings, type LoginSettings } from '../sso/tenant/login-settings.js';
import type { TenantRecord } from '../sso/tenant/tenant-context.js';
import { SsoUser } from '../sso/users/user.model.js';
import { beginLogin, currentSsoSession, findBoundInteraction, finishLogin, loginBindingCookieName } from './login.js';
import {
  availableMethods,
  codeStep,
  enrollmentOf,
  maskDestination,
  passwordStep,
  recordSignIn,
  restart,
  sendOneTimeCode,
  stepUpLoginId,
  useTotp,
  type LoginFlowDeps,
  type LoginInteractionRecord,
  type StepOutcome,
} from './login-flow.service.js';
import { LoginInteraction } from './login-interaction.model.js';
import { changePasswordStep } from './forced-password-change.js';
import { endSsoSession, ssoSessionCookieName, ssoSessionCookieOptions, ssoSessionCsrfToken } from './sso-session.js';

const CSRF_FIELD = '_csrf';

/** Notices kept on the interaction between a POST and the page it redirects to. */
const NOTICES: Record<string, MessageKey> = {
  failed: 'login.failed',
  throttled: 'login.throttled',
  disabled: 'login.disabled',
  restart: 'login.restart',
  wrongCode: 'mfa.wrongCode',
  sendLimit: 'mfa.sendLimit',
  mismatch: 'password.mismatch',
  weak: 'password.weak',
};

function field(req: Request, name: string): string {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
}

function queryString(req: Request, name: string): string {
  const v = req.query[name];
  return typeof v === 'string' ? v : '';
}

/** False when the browser says the POST comes from another site (checked only when it says so). */
function fromOwnOrigin(req: Request, baseOrigin: string): boolean {
  const origin = req.get('origin');
  // `Origin: null` is what browsers send under `Referrer-Policy: no-referrer`; the token decides then.
  if (origin && origin !== 'null' && origin !== baseOrigin) return false;
  const site = req.get('sec-fetch-site');
  if (site && site !== 'same-origin') return false;
  return true;
}

export function authRouter(deps: TenantDeps): Router {
  const router = Router({ mergeParams: true });
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const baseOrigin = new URL(deps.config.baseUrl).origin;
  const secureCookies = deps.config.baseUrl.startsWith('https:');
  const flowDeps: LoginFlowDeps = { config: deps.config, keyring: deps.keyring, logger: deps.logger, notifier: deps.notifier };
  const stylesheet = readFileSync(path.join(VIEWS_DIR, 'auth', 'auth.css'));

  router.get('/login/assets/auth.css', (_req, res) => {
    res.type('css').set('Cache-Control', 'public, max-age=3600').send(stylesheet);
  });
  router.use(['/login', '/logout'], (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });

  const base = (tenant: TenantRecord): string => `/tenants/${tenant.tenantId}`;

  /** Renders a page of views/auth in the request's language, with the language switcher. */
  const page = (req: Request, res: Response, template: string, data: Record<string, unknown>, status = 200): void => {
    rememberLanguage(req, res, secureCookies);
    const lang: Language = pickLanguage(req);
    const tenant = tenantOf(res);
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query)) if (k !== 'lang' && typeof v === 'string') params.set(k, v);
    const languages = LANGUAGES.map((l) => {
      const p = new URLSearchParams(params);
      p.set('lang', l);
      return { lang: l, name: LANGUAGE_NAMES[l], href: `${req.baseUrl}${req.path}?${p.toString()}`, current: l === lang };
    });
    const t = translator(lang);
    renderPage(
      res,
      `auth/${template}`,
      {
        ...data,
        t,
        lang,
        languages,
        tenantName: tenant.tenantAlias,
        cssHref: `${base(tenant)}/login/assets/auth.css`,
        csrfField: CSRF_FIELD,
        title: t(data.titleKey as MessageKey),
      },
      status,
    );
  };

  const messagePage = (
    req: Request,
    res: Response,
    status: number,
    titleKey: MessageKey,
    messageKey: MessageKey,
    link?: { href: string; textKey: MessageKey },
  ): void => page(req, res, 'message', { titleKey, messageKey, link }, status);

  const expired = (req: Request, res: Response): void =>
    messagePage(req, res, 400, 'login.expiredTitle', 'login.expired', {
      href: `${base(tenantOf(res))}/login`,
      textKey: 'login.startAgain',
    });
  const refused = (req: Request, res: Response): void =>
    messagePage(req, res, 403, 'login.refusedTitle', 'login.refused', {
      href: `${base(tenantOf(res))}/login`,
      textKey: 'login.startAgain',
    });

  const interactionUrl = (it: Pick<LoginInteractionRecord, 'tenantId' | 'interactionId'>, sub = ''): string =>
    `/tenants/${it.tenantId}/login${sub}?interaction=${it.interactionId}`;

  /** Where a GET of an interaction in this state belongs. */
  const pageOfState = (it: LoginInteractionRecord): string => {
    switch (it.state) {
      case 'mfa':
      case 'otp':
      case 'enroll':
        return interactionUrl(it, '/mfa');
      case 'changePassword':
        return interactionUrl(it, '/password');
      case 'completed':
        return `${it.returnTo}${it.returnTo.includes('?') ? '&' : '?'}login=${it.interactionId}`;
      default:
        return interactionUrl(it);
    }
  };

  const settingsOf = (res: Response): LoginSettings => readLoginSettings(tenantOf(res).loginSettings);

  /** The browser's interaction of a GET, or undefined. */
  const interactionOfGet = async (req: Request, res: Response): Promise<LoginInteractionRecord | undefined> => {
    const id = queryString(req, 'interaction');
    const it = id ? await findBoundInteraction(req, tenantOf(res).tenantId, id, deps.config) : null;
    return (it as LoginInteractionRecord | null) ?? undefined;
  };

  /** The interaction of a POST: bound to this browser, same-origin, with its CSRF token; else undefined. */
  const interactionOfPost = async (req: Request, res: Response): Promise<LoginInteractionRecord | undefined> => {
    if (!fromOwnOrigin(req, baseOrigin)) return undefined;
    const id = field(req, 'interaction');
    const it = id ? ((await findBoundInteraction(req, tenantOf(res).tenantId, id, deps.config)) as LoginInteractionRecord | null) : null;
    if (!it || !sameSecret(field(req, CSRF_FIELD), it.csrfToken)) {
      req.log.warn({ interaction: Boolean(it) }, 'sign-in form refused: foreign origin, no bound interaction, or bad CSRF token');
      return undefined;
    }
    return it;
  };

  const setNotice = (it: LoginInteractionRecord, notice: string): Promise<unknown> =>
    LoginInteraction.updateOne(
      { tenantId: it.tenantId, interactionId: it.interactionId, state: { $ne: 'completed' } },
      { $set: { notice } },
    );

  /** Turns a step's outcome into the 303 that follows it. */
  const answer = async (req: Request, res: Response, it: LoginInteractionRecord, outcome: StepOutcome): Promise<void> => {
    switch (outcome.outcome) {
      case 'complete': {
        const settings = settingsOf(res);
        let location: string;
        try {
          location = await finishLogin(
            req,
            res,
            it,
            outcome.who,
            { idleTimeoutSec: settings.idleSessionExpirationSeconds, multipleLoginAllowed: settings.multipleLoginAllowed },
            deps,
          );
        } catch (err) {
          // Another request completed this interaction first: nothing more to do here.
          if (err instanceof AppError && err.code === 'CONFLICT') {
            res.redirect(303, interactionUrl(it));
            return;
          }
          throw err;
        }
        await recordSignIn(it.tenantId, outcome.who.userId);
        res.redirect(303, location);
        return;
      }
      case 'next':
        res.redirect(303, outcome.state === 'changePassword' ? interactionUrl(it, '/password') : interactionUrl(it, '/mfa'));
        return;
      case 'failed':
      case 'throttled':
      case 'disabled':
        await setNotice(it, outcome.outcome);
        res.redirect(303, interactionUrl(it));
        return;
      case 'wrongCode':
        res.redirect(303, interactionUrl(it, '/mfa'));
        return;
      case 'restart':
      case 'stale':
        res.redirect(303, interactionUrl(it));
        return;
    }
  };

  // ---- identify + password --------------------------------------------------------------

  router.get('/login', async (req, res) => {
    const tenant = tenantOf(res);
    if (!queryString(req, 'interaction')) {
      rememberLanguage(req, res, secureCookies);
      // Already signed in: the portal is where a bare sign-in leads.
      if (await currentSsoSession(req, tenant.tenantId, deps.config)) {
        res.redirect(303, `${base(tenant)}/portal`);
        return;
      }
      const next = await beginLogin(req, res, { tenant, returnTo: `${base(tenant)}/portal`, client: 'portal' }, deps);
      res.redirect(303, next);
      return;
    }
    const it = await interactionOfGet(req, res);
    if (!it) {
      expired(req, res);
      return;
    }
    if (it.state !== 'identify') {
      res.redirect(303, pageOfState(it));
      return;
    }
    const notice = it.notice ? NOTICES[it.notice] : undefined;
    page(req, res, 'login', {
      titleKey: 'login.title',
      action: `${base(tenant)}/login`,
      interaction: it.interactionId,
      csrfToken: it.csrfToken,
      clientName: it.clientName,
      continueAs: await stepUpLoginId(it),
      notice,
      passwordEnabled: settingsOf(res).localPasswordEnabled,
    });
  });

  router.post('/login', form, async (req, res) => {
    const it = await interactionOfPost(req, res);
    if (!it) {
      refused(req, res);
      return;
    }
    const outcome = await passwordStep(
      it,
      { loginId: field(req, 'loginId'), password: field(req, 'password'), ip: clientIp(req) },
      settingsOf(res),
      flowDeps,
    );
    await answer(req, res, it, outcome);
  });

  // ---- second factor ----------------------------------------------------------------------

  router.get('/login/mfa', async (req, res) => {
    const it = await interactionOfGet(req, res);
    if (!it) {
      expired(req, res);
      return;
    }
    if (it.state !== 'mfa' && it.state !== 'otp' && it.state !== 'enroll') {
      res.redirect(303, pageOfState(it));
      return;
    }
    const tenant = tenantOf(res);
    const user = await SsoUser.findOne({ tenantId: it.tenantId, userId: it.userId ?? '' })
      .select('mfaEnabled userProfile.email userProfile.phoneCountryCode userProfile.phoneNo')
      .lean();
    if (!user) {
      // The user was deleted meanwhile: back to the form (not a redirect loop between the two pages).
      await restart(it, 'restart');
      res.redirect(303, interactionUrl(it));
      return;
    }
    const methods = availableMethods(settingsOf(res), user);
    const enrollment = await enrollmentOf(it, `Gatehouse ${tenant.tenantAlias}`, deps);
    const qrDataUrl = enrollment
      ? await QRCode.toDataURL(enrollment.otpauthUri, { errorCorrectionLevel: 'M', margin: 2, width: 220 })
      : undefined;
    const sentTo =
      it.state === 'otp' && (it.otpChannel === 'email' || it.otpChannel === 'sms')
        ? maskDestination(it.otpChannel, (it.otpChannel === 'email' ? user.userProfile?.email : user.userProfile?.phoneNo) ?? '')
        : undefined;
    page(req, res, 'mfa', {
      titleKey: 'mfa.title',
      action: `${base(tenant)}/login/mfa`,
      interaction: it.interactionId,
      csrfToken: it.csrfToken,
      mode: it.state,
      otpChannel: it.otpChannel,
      sentTo,
      qrDataUrl,
      secret: enrollment?.secret,
      otherMethods: methods.filter((m) => !(m === 'totp' && it.state === 'mfa')),
      notice: it.notice ? NOTICES[it.notice] : undefined,
      startOver: `${base(tenant)}/login`,
    });
  });

  router.post('/login/mfa', form, async (req, res) => {
    const it = await interactionOfPost(req, res);
    if (!it) {
      refused(req, res);
      return;
    }
    const send = field(req, 'send');
    if (send === 'email' || send === 'sms') {
      const user = await SsoUser.findOne({ tenantId: it.tenantId, userId: it.userId ?? '' })
        .select('mfaEnabled userProfile.email userProfile.phoneNo')
        .lean();
      const allowed = user ? availableMethods(settingsOf(res), user).includes(send) : false;
      await answer(req, res, it, allowed ? await sendOneTimeCode(it, send, flowDeps) : { outcome: 'stale' });
      return;
    }
    if (field(req, 'use') === 'totp') {
      await answer(req, res, it, await useTotp(it));
      return;
    }
    await answer(req, res, it, await codeStep(it, { code: field(req, 'code'), ip: clientIp(req) }, settingsOf(res), flowDeps));
  });

  // ---- forced password change ---------------------------------------------------------------

  router.get('/login/password', async (req, res) => {
    const it = await interactionOfGet(req, res);
    if (!it) {
      expired(req, res);
      return;
    }
    if (it.state !== 'changePassword') {
      res.redirect(303, pageOfState(it));
      return;
    }
    page(req, res, 'password', {
      titleKey: 'password.title',
      action: `${base(tenantOf(res))}/login/password`,
      interaction: it.interactionId,
      csrfToken: it.csrfToken,
      loginId: it.loginId,
      minLength: settingsOf(res).passwordMinLength,
      notice: it.notice ? NOTICES[it.notice] : undefined,
    });
  });

  router.post('/login/password', form, async (req, res) => {
    const it = await interactionOfPost(req, res);
    if (!it) {
      refused(req, res);
      return;
    }
    const outcome = await changePasswordStep(
      it,
      { password: field(req, 'password'), confirm: field(req, 'confirm') },
      settingsOf(res),
      flowDeps,
    );
    if (outcome.outcome === 'invalid') {
      await setNotice(it, outcome.reason);
      res.redirect(303, interactionUrl(it, '/password'));
      return;
    }
    // The change moved the user's credential generation, so a step-up's old session cannot carry
    // it: the sign-in ends in a new session.
    await answer(req, res, { ...it, stepUpSessionId: null }, outcome);
  });

  // ---- sign-out -----------------------------------------------------------------------------

  router.get('/logout', async (req, res) => {
    const tenant = tenantOf(res);
    const session = await currentSsoSession(req, tenant.tenantId, deps.config);
    if (!session) {
      messagePage(req, res, 200, 'logout.title', 'logout.done', { href: `${base(tenant)}/login`, textKey: 'logout.signInAgain' });
      return;
    }
    page(req, res, 'logout', { titleKey: 'logout.title', action: `${base(tenant)}/logout`, csrfToken: ssoSessionCsrfToken(session) });
  });

  router.post('/logout', form, async (req, res) => {
    const tenant = tenantOf(res);
    const session = await currentSsoSession(req, tenant.tenantId, deps.config);
    if (session) {
      if (!fromOwnOrigin(req, baseOrigin) || !sameSecret(field(req, CSRF_FIELD), ssoSessionCsrfToken(session))) {
        req.log.warn('sign-out refused: foreign origin or bad CSRF token');
        refused(req, res);
        return;
      }
      // Ends it everywhere: the session-end listeners propagate the logout to the protocols.
      await endSsoSession(tenant.tenantId, session.sessionId, 'logout');
      req.log.info(
        { event: 'sso.signOut', tenantId: tenant.tenantId, userId: session.userId, sessionId: session.sessionId },
        'SSO sign-out',
      );
    }
    const cookieOptions = ssoSessionCookieOptions(deps.config);
    res.clearCookie(ssoSessionCookieName(deps.config, tenant.tenantId), cookieOptions);
    res.clearCookie(loginBindingCookieName(deps.config, tenant.tenantId), cookieOptions);
    res.redirect(303, `${base(tenant)}/logout`);
  });

  return router;
}
