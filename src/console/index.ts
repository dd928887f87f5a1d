/**
 * The admin console's pages (`/console/...`, ARCHITECTURE.md "Endpoint map"): sign-in for the
 * main account's root (`/console/login`) and for sub accounts by login alias
 * (`/console/login/{alias}`), the TOTP step (`/console/login/mfa`), the signed-in landing page,
 * password change and sign-out. Plain server-rendered pages for now (the full console is a later
 * issue); the sign-in logic lives in src/iam/auth, this file only maps it to pages and cookies.
 *
 * Every state-changing request passes the origin and CSRF checks of csrf.ts first; every answer
 * is `Cache-Control: no-store` (pages carry CSRF tokens, and the enrollment page a TOTP secret).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Router, type ErrorRequestHandler, type Request, type Response } from 'express';
import QRCode from 'qrcode';
import type { AdminDeps } from '../http/admin-route.js';
import { clientIp } from '../http/client-ip.js';
import { toAppError } from '../http/errors.js';
import { LoginAlias } from '../iam/accounts/account.model.js';
import {
  dropPendingSignIn,
  dummyPasswordHash,
  passwordStep,
  pendingSignIn,
  secondFactorStep,
  signOut,
  type SignInTarget,
} from '../iam/auth/console-login.service.js';
import { resolveConsoleSession, type ConsoleIdentity } from '../iam/auth/console-session.js';
import { changeOwnPassword } from '../iam/auth/password-change.service.js';
import { findSession } from '../iam/sessions/session.service.js';
import { passwordSchema } from '../iam/sub-accounts/sub-account.schemas.js';
import { CSRF_FIELD, consoleCsrf } from './csrf.js';
import { consoleCookies } from './cookies.js';
import { applicationConsolePages } from './applications.js';
import { externalIdpConsolePages } from './external-idp.js';
import { VIEWS_DIR, renderPage } from './views.js';

/** Login aliases (reference/ncloud-model.md §3): 3-20 lowercase letters and digits. */
const ALIAS_PATTERN = /^[a-z0-9]{3,20}$/;

/** The one message for every refused sign-in (console-login.service.ts). */
const SIGN_IN_FAILED = 'Sign-in failed. Check your login ID and password and try again; after repeated failures, wait 15 minutes.';
const TOO_MANY_ATTEMPTS = 'Too many failed sign-in attempts came from your network. Try again later.';

function field(req: Request, name: string): string {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
}

function cookie(req: Request, name: string): string | undefined {
  const v = (req.cookies as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function whoIs(identity: ConsoleIdentity): string {
  if (identity.kind === 'SsoRole') return `${identity.loginId} (SSO user, as role ${identity.roleName})`;
  return identity.kind === 'Root' ? `${identity.loginId} (main account)` : `${identity.loginId} (sub account ${identity.name})`;
}

export function consoleRouter(deps: AdminDeps): Router {
  const router = Router();
  const cookies = consoleCookies(deps.config);
  const csrf = consoleCsrf(deps.config, deps.keyring, cookies);
  const authDeps = { keyring: deps.keyring, logger: deps.logger };
  const stylesheet = readFileSync(path.join(VIEWS_DIR, 'console', 'console.css'));
  // Computed now so that the first unknown login id costs what every other one does.
  void dummyPasswordHash();

  const page = (req: Request, res: Response, template: string, data: Record<string, unknown>, status = 200): void =>
    renderPage(res, template, { ...data, csrfField: CSRF_FIELD, csrfToken: csrf.token(req, res) }, status);
  const errorPage = (res: Response, status: number, heading: string, message: string, link?: { href: string; text: string }): void =>
    renderPage(res, 'console/error', { title: heading, heading, message, link }, status);

  router.get('/assets/console.css', (_req, res) => {
    res.type('css').set('Cache-Control', 'public, max-age=3600').send(stylesheet);
  });

  router.use((req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  router.use(csrf.ready);
  router.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') {
      next();
      return;
    }
    const verdict = csrf.verify(req);
    if (verdict === 'ok') {
      next();
      return;
    }
    req.log.warn({ verdict }, 'console form refused (CSRF)');
    errorPage(res, 403, 'Request refused', 'This form has expired or was not sent from the console. Reload the page and try again.', {
      href: '/console',
      text: 'Back to the console',
    });
  });

  // ---- sign-in ----------------------------------------------------------------------------

  const setSession = (req: Request, res: Response, token: string): void => {
    res.cookie(cookies.session, token, cookies.options);
    res.clearCookie(cookies.pending, { path: '/', secure: cookies.options.secure, httpOnly: true });
  };

  /** Any session the browser held before this sign-in ends: a pre-login cookie is never reused. */
  const endPreviousSession = async (req: Request): Promise<void> => {
    const old = cookie(req, cookies.session);
    if (!old) return;
    const s = await findSession(old);
    if (s) await signOut(s);
  };

  async function handlePasswordStep(
    req: Request,
    res: Response,
    target: SignInTarget,
    loginPath: string,
    view: Record<string, unknown>,
  ): Promise<void> {
    const outcome = await passwordStep(
      {
        target,
        loginId: field(req, 'loginId').trim(),
        password: field(req, 'password'),
        ip: clientIp(req),
        userAgent: req.get('user-agent'),
        loginPath,
      },
      authDeps,
    );
    switch (outcome.outcome) {
      case 'throttled':
        page(req, res, 'console/login', { ...view, message: TOO_MANY_ATTEMPTS }, 429);
        return;
      case 'failed':
        page(req, res, 'console/login', { ...view, message: SIGN_IN_FAILED }, 401);
        return;
      case 'secondFactor': {
        const previous = cookie(req, cookies.pending);
        if (previous) await dropPendingSignIn(previous);
        res.cookie(cookies.pending, outcome.challengeToken, cookies.pendingOptions);
        res.redirect(303, '/console/login/mfa');
        return;
      }
      case 'signedIn':
        await endPreviousSession(req);
        setSession(req, res, outcome.token);
        res.redirect(303, outcome.session.mustChangePassword ? '/console/password' : '/console');
        return;
    }
  }

  const rootLoginView = { title: 'Sign in', heading: 'Sign in to the main account', action: '/console/login', rootPage: true };

  router.get('/login', (req, res) => {
    page(req, res, 'console/login', rootLoginView);
  });
  router.post('/login', async (req, res) => {
    await handlePasswordStep(req, res, { kind: 'Root' }, '/console/login', rootLoginView);
  });

  // Before `/login/:alias`: "mfa" is reserved and can never be an alias (settings.schemas.ts).
  router.get('/login/mfa', async (req, res) => {
    const token = cookie(req, cookies.pending);
    const pending = token ? await pendingSignIn(token, authDeps) : undefined;
    if (!pending) {
      errorPage(res, 401, 'Sign-in expired', 'This sign-in has expired or was already used. Start again.', {
        href: '/console/login',
        text: 'Sign in',
      });
      return;
    }
    await mfaPage(req, res, pending, undefined, 200);
  });

  async function mfaPage(
    req: Request,
    res: Response,
    pending: NonNullable<Awaited<ReturnType<typeof pendingSignIn>>>,
    message: string | undefined,
    status: number,
  ): Promise<void> {
    const qrDataUrl = pending.enrollment
      ? await QRCode.toDataURL(pending.enrollment.otpauthUri, { errorCorrectionLevel: 'M', margin: 2, width: 220 })
      : undefined;
    page(
      req,
      res,
      'console/mfa',
      {
        title: 'Verification code',
        mode: pending.mode,
        qrDataUrl,
        secret: pending.enrollment?.secret,
        attemptsLeft: pending.attemptsLeft,
        message,
        loginPath: pending.loginPath,
      },
      status,
    );
  }

  router.post('/login/mfa', async (req, res) => {
    const token = cookie(req, cookies.pending);
    if (!token) {
      errorPage(res, 401, 'Sign-in expired', 'This sign-in has expired or was already used. Start again.', {
        href: '/console/login',
        text: 'Sign in',
      });
      return;
    }
    const outcome = await secondFactorStep(
      { challengeToken: token, code: field(req, 'code'), ip: clientIp(req), userAgent: req.get('user-agent') },
      authDeps,
    );
    switch (outcome.outcome) {
      case 'signedIn':
        await endPreviousSession(req);
        setSession(req, res, outcome.token);
        res.redirect(303, outcome.session.mustChangePassword ? '/console/password' : '/console');
        return;
      case 'wrongCode': {
        const pending = await pendingSignIn(token, authDeps);
        if (pending) {
          await mfaPage(req, res, pending, `The code is not valid (or was already used). ${outcome.attemptsLeft} attempt(s) left.`, 401);
          return;
        }
        break;
      }
      case 'restart':
        res.clearCookie(cookies.pending, { path: '/', secure: cookies.options.secure, httpOnly: true });
        errorPage(res, 401, 'Sign-in failed', 'The sign-in could not be completed. Start again.', {
          href: outcome.loginPath,
          text: 'Sign in',
        });
        return;
    }
    errorPage(res, 401, 'Sign-in expired', 'This sign-in has expired. Start again.', { href: '/console/login', text: 'Sign in' });
  });

  /** The account behind a login alias (`LoginAlias._id`), or undefined (404 page). */
  async function aliasAccount(raw: string | string[] | undefined): Promise<{ alias: string; accountId: number } | undefined> {
    const alias = typeof raw === 'string' ? raw.toLowerCase() : '';
    if (!ALIAS_PATTERN.test(alias)) return undefined;
    const doc = await LoginAlias.findById(alias).lean();
    return doc ? { alias, accountId: doc.accountId } : undefined;
  }

  const aliasView = (alias: string) => ({
    title: 'Sign in',
    heading: 'Sign in with your sub account',
    action: `/console/login/${alias}`,
    alias,
  });
  const noSuchAlias = (res: Response): void =>
    errorPage(
      res,
      404,
      'Sign-in page not found',
      'There is no sign-in page at this address. Ask your administrator for your account’s sign-in address.',
    );

  router.get('/login/:alias', async (req, res) => {
    const found = await aliasAccount(req.params.alias);
    if (!found) {
      noSuchAlias(res);
      return;
    }
    page(req, res, 'console/login', aliasView(found.alias));
  });
  router.post('/login/:alias', async (req, res) => {
    const found = await aliasAccount(req.params.alias);
    if (!found) {
      noSuchAlias(res);
      return;
    }
    await handlePasswordStep(
      req,
      res,
      { kind: 'SubAccount', accountId: found.accountId },
      `/console/login/${found.alias}`,
      aliasView(found.alias),
    );
  });

  // ---- signed in --------------------------------------------------------------------------

  /** The signed-in identity, or an answer already sent (sign-in redirect or refusal page). */
  async function signedIn(req: Request, res: Response) {
    const state = await resolveConsoleSession(cookie(req, cookies.session), clientIp(req));
    if (state.state === 'signedOut') {
      if (cookie(req, cookies.session)) res.clearCookie(cookies.session, { path: '/', secure: cookies.options.secure, httpOnly: true });
      res.redirect(303, '/console/login');
      return undefined;
    }
    if (state.state === 'refused') {
      errorPage(
        res,
        403,
        'Console not available',
        'Your sub account may not use the console from this network address, or console access is turned off for it.',
      );
      return undefined;
    }
    return state;
  }

  router.get('/', async (req, res) => {
    const s = await signedIn(req, res);
    if (!s) return;
    if (s.session.mustChangePassword) {
      res.redirect(303, '/console/password');
      return;
    }
    page(req, res, 'console/home', {
      title: 'Console',
      who: whoIs(s.identity),
      identity: s.identity,
      apiCsrfToken: s.session.csrfToken,
      mfa: s.session.mfa,
      idleMinutes: Math.round(s.session.idleTimeoutSec / 60),
      switchedRoleId: s.session.switchedRoleId ?? undefined,
    });
  });

  const passwordView = (required: boolean) => ({
    title: 'Change password',
    required,
    minLength: 12,
    maxLength: 128,
  });

  router.get('/password', async (req, res) => {
    const s = await signedIn(req, res);
    if (!s) return;
    page(req, res, 'console/password', { ...passwordView(s.session.mustChangePassword), who: whoIs(s.identity) });
  });

  router.post('/password', async (req, res) => {
    const s = await signedIn(req, res);
    if (!s) return;
    const view = { ...passwordView(s.session.mustChangePassword), who: whoIs(s.identity) };
    const currentPassword = field(req, 'currentPassword');
    const newPassword = field(req, 'newPassword');
    const parsed = passwordSchema.safeParse(newPassword);
    if (!parsed.success) {
      page(
        req,
        res,
        'console/password',
        { ...view, message: `The new password ${parsed.error.issues[0]?.message ?? 'is not valid'}.` },
        400,
      );
      return;
    }
    if (newPassword !== field(req, 'confirmPassword')) {
      page(req, res, 'console/password', { ...view, message: 'The new password and its confirmation differ.' }, 400);
      return;
    }
    const outcome = await changeOwnPassword(s.session, {
      currentPassword,
      newPassword,
      ip: clientIp(req),
      userAgent: req.get('user-agent'),
    });
    switch (outcome.outcome) {
      case 'wrongPassword':
        page(req, res, 'console/password', { ...view, message: 'The current password is not correct.' }, 400);
        return;
      case 'samePassword':
        page(req, res, 'console/password', { ...view, message: 'Choose a password different from the current one.' }, 400);
        return;
      case 'sessionEnded':
        res.clearCookie(cookies.session, { path: '/', secure: cookies.options.secure, httpOnly: true });
        res.redirect(303, '/console/login');
        return;
      case 'changed':
        req.log.info({ accountId: s.identity.accountId, kind: s.identity.kind }, 'console password changed; other sessions ended');
        setSession(req, res, outcome.token);
        res.redirect(303, '/console');
        return;
    }
  });

  router.post('/logout', async (req, res) => {
    const token = cookie(req, cookies.session);
    const session = token ? await findSession(token) : null;
    let next = '/console/login';
    if (session) {
      await signOut(session);
      if (session.kind === 'SubAccount') {
        const alias = await LoginAlias.findOne({ accountId: session.accountId }).lean();
        if (alias) next = `/console/login/${alias._id}`;
      }
      // An SSO user's role session goes back to the user portal it came from (src/portal).
      if (session.kind === 'SsoRole' && session.ssoTenantId) next = `/tenants/${session.ssoTenantId}/portal`;
    }
    res.clearCookie(cookies.session, { path: '/', secure: cookies.options.secure, httpOnly: true });
    res.redirect(303, next);
  });

  router.use(applicationConsolePages(deps));
  router.use(externalIdpConsolePages(deps));

  // ---- fallbacks ---------------------------------------------------------------------------

  router.use((_req, res) => {
    errorPage(res, 404, 'Page not found', 'There is no console page at this address.', { href: '/console', text: 'Go to the console' });
  });

  const consoleErrors: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    const known = toAppError(err);
    const status = known && known.status < 500 ? known.status : 500;
    if (status >= 500) req.log.error({ err }, 'console page failed');
    // Clear text only: no stack, no internal detail (the request id finds the log line).
    errorPage(
      res,
      status,
      status >= 500 ? 'Something went wrong' : 'Request not accepted',
      status >= 500 ? `An internal error occurred (request id ${String(req.id)}).` : (known?.message ?? 'The request is not valid.'),
    );
  };
  router.use(consoleErrors);

  return router;
}
