/**
 * The portal's profile (issue 7 "User portal": change password, MFA device with re-authentication,
 * active sessions, consents):
 *   GET  /portal/profile
 *   POST /portal/profile/password                 changeOwnPassword of the sign-in module
 *   GET/POST /portal/profile/mfa/add              TOTP enrollment, active only after a first valid code
 *   GET/POST /portal/profile/mfa/remove
 *   POST /portal/profile/sessions/{sessionId}/end endSsoSession(..., 'userEnded')
 *
 * Adding or removing the MFA device needs a fresh authentication (security-bar §4 "MFA
 * enrollment": recent primary auth, re-auth to disable; §6 item 42 → 403 without it): the
 * session's last authentication within REAUTH_WINDOW_SEC, with two factors when the user has a
 * device. The GET pages start that re-authentication (beginLogin with `forceAuthn`, and
 * `requireMfa` when a device exists) and come back; the POSTs only check it, so a forged or
 * replayed form without it gets 403.
 */
import { Router, type Request, type Response } from 'express';
import QRCode from 'qrcode';
import { beginLogin } from '../auth/login.js';
import { changeOwnPassword } from '../auth/password-change.service.js';
import { describePasswordPolicyFailure } from '../auth/password-policy.js';
import { endSsoSession, ssoSessionCookieName, ssoSessionCookieOptions } from '../auth/sso-session.js';
import { clientIp } from '../http/client-ip.js';
import { tenantOf, type TenantDeps } from '../http/tenant-routes.js';
import { matchTotpStep, newTotpSecret, totpUri } from '../iam/mfa/totp.js';
import { AppError } from '../shared/errors.js';
import { SsoUser, ssoUserMfaContext } from '../sso/users/user.model.js';
import { SsoUserSession } from '../sso/users/user-session.model.js';
import { listPortalConsents, withdrawPortalConsent } from './consents.js';
import type { PortalContext, PortalHelpers } from './routes.js';

/** "Within the last 5 minutes" (brief; GitHub's sudo mode and Keycloak's re-auth default are of this order). */
export const REAUTH_WINDOW_SEC = 300;
/** At most this many sessions are listed (newest first); single-session tenants have one. */
const SESSION_LIST_LIMIT = 50;
/** Session and consent ids are UUIDs. */
const SESSION_ID = /^[0-9a-f-]{36}$/;
const DONE_MESSAGES = ['mfaAdded', 'mfaRemoved', 'sessionEnded', 'passwordChanged', 'consentWithdrawn'] as const;
type DoneMessage = (typeof DONE_MESSAGES)[number];
const isDoneMessage = (v: unknown): v is DoneMessage => typeof v === 'string' && (DONE_MESSAGES as readonly string[]).includes(v);

/** Whether the session's last authentication is fresh enough for a change of the MFA device. */
export function isFreshlyAuthenticated(session: { authTime: Date; acr: string }, user: { mfaEnabled: boolean }, now = Date.now()): boolean {
  if (now - session.authTime.getTime() > REAUTH_WINDOW_SEC * 1000) return false;
  return !user.mfaEnabled || session.acr === 'mfa';
}

function pendingSecretContext(tenantId: string, sessionId: string): string {
  return `PortalMfaEnrollment:${tenantId}:${sessionId}`;
}

function field(req: Request, name: string): string {
  const v = (req.body as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : '';
}

export function profileRoutes(deps: TenantDeps, h: PortalHelpers): Router {
  const router = Router({ mergeParams: true });

  const loadUser = async (ctx: PortalContext) => {
    const user = await SsoUser.findOne({ tenantId: ctx.tenant.tenantId, userId: ctx.session.userId })
      .select('userId loginId userProfile mfaEnabled mfaRegisteredAt status')
      .lean();
    if (!user || user.status !== 'ACTIVATED') throw new AppError('UNAUTHENTICATED', 'your session has ended; sign in again');
    return user;
  };

  /** Tells the user by email that the MFA device changed (security-bar §4 "notify"); never fails the change. */
  const notifyMfaChange = async (req: Request, ctx: PortalContext, user: { loginId: string; userProfile?: { email?: string | null } | null }, added: boolean) => {
    const to = user.userProfile?.email || user.loginId;
    const text = added
      ? `An authenticator app was registered for ${user.loginId} from ${clientIp(req)}. If this was not you, contact your administrator.`
      : `The authenticator app of ${user.loginId} was removed from ${clientIp(req)}. If this was not you, contact your administrator.`;
    await deps.notifier
      .send({ to, subject: added ? 'Authenticator app registered' : 'Authenticator app removed', text, kind: 'mfaChanged', tenantId: ctx.tenant.tenantId })
      .catch((err: unknown) => req.log.warn({ err }, 'could not send the MFA change notice'));
  };

  async function profilePage(
    req: Request,
    res: Response,
    ctx: PortalContext,
    message?: string,
    status = 200,
    passwordError?: { field: string; message: string },
  ): Promise<void> {
    const { tenantId } = ctx.tenant;
    const user = await loadUser(ctx);
    const [sessions, consents] = await Promise.all([
      SsoUserSession.find({ tenantId, userId: user.userId })
        .select('sessionId clientIp userAgent createdAt lastSeenAt permissionSetName')
        .sort({ createdAt: -1 })
        .limit(SESSION_LIST_LIMIT)
        .lean(),
      listPortalConsents(tenantId, user.userId),
    ]);
    const done = isDoneMessage(req.query.done) ? req.query.done : undefined;
    await ctx.page(
      'portal/profile',
      {
        title: ctx.s.profile,
        nav: 'profile',
        loginId: user.loginId,
        mfaEnabled: user.mfaEnabled,
        sessions: sessions.map((x) => ({ ...x, current: x.sessionId === ctx.session.sessionId })),
        consents,
        message: message ?? (done ? ctx.s[done] : undefined),
        passwordError,
      },
      status,
    );
  }

  router.get('/portal/profile', async (req, res) => {
    const ctx = await h.signedIn(req, res);
    if (!ctx) return;
    await profilePage(req, res, ctx);
  });

  /**
   * The sign-in module's changeOwnPassword: current password verified and throttled, the tenant's
   * policy, then every other session of the user ends (this one is kept); answered with the
   * profile page (303 on success, the form's error tied to its field otherwise).
   */
  router.post('/portal/profile/password', async (req, res) => {
    const ctx = await h.signedInPost(req, res);
    if (!ctx) return;
    const newPassword = field(req, 'newPassword');
    if (newPassword !== field(req, 'confirmPassword')) {
      await profilePage(req, res, ctx, undefined, 400, { field: 'confirmPassword', message: ctx.s.passwordMismatch });
      return;
    }
    const result = await changeOwnPassword(ctx.tenant.tenantId, ctx.session.userId, field(req, 'currentPassword'), newPassword, { keepSessionId: ctx.session.sessionId });
    if (result.ok) {
      req.log.info({ event: 'portal.passwordChanged', tenantId: ctx.tenant.tenantId, userId: ctx.session.userId, endedSessions: result.endedSessions }, 'SSO user changed its password');
      res.redirect(303, `${ctx.base}/profile?done=passwordChanged`);
      return;
    }
    const error =
      result.field === 'currentPassword'
        ? { field: 'currentPassword', message: result.error === 'throttled' ? ctx.s.passwordThrottled : ctx.s.passwordWrong }
        : { field: 'newPassword', message: describePasswordPolicyFailure(result.reasons, result.minLength) };
    await profilePage(req, res, ctx, undefined, result.error === 'throttled' ? 429 : 400, error);
  });

  // ---- MFA device ---------------------------------------------------------------------------

  /** The fresh session for a GET page, or undefined after sending the browser to re-authenticate. */
  async function freshForPage(req: Request, res: Response) {
    const ctx = await h.signedIn(req, res);
    if (!ctx) return undefined;
    const user = await loadUser(ctx);
    if (isFreshlyAuthenticated(ctx.session, user)) return { ctx, user };
    const tenant = tenantOf(res);
    const to = await beginLogin(
      req,
      res,
      {
        tenant: { tenantId: tenant.tenantId, accountId: tenant.accountId },
        returnTo: `/tenants/${tenant.tenantId}${req.path}`,
        client: 'portal',
        requirements: { forceAuthn: true, requireMfa: user.mfaEnabled },
      },
      deps,
    );
    res.redirect(303, to);
    return undefined;
  }

  /** The fresh session for a POST (CSRF checked), or undefined after answering 403. */
  async function freshForPost(req: Request, res: Response) {
    const ctx = await h.signedInPost(req, res);
    if (!ctx) return undefined;
    const user = await loadUser(ctx);
    if (isFreshlyAuthenticated(ctx.session, user)) return { ctx, user };
    req.log.warn({ tenantId: ctx.tenant.tenantId, userId: user.userId, path: req.path }, 'MFA device change refused: no fresh re-authentication');
    h.errorPage(req, res, 403, ctx.s.notAllowed, ctx.s.reauthRequired);
    return undefined;
  }

  async function enrollPage(ctx: PortalContext, loginId: string, secret: string, message?: string, status = 200): Promise<void> {
    const pending = deps.keyring.encrypt(secret, pendingSecretContext(ctx.tenant.tenantId, ctx.session.sessionId));
    const qrDataUrl = await QRCode.toDataURL(totpUri(secret, 'Gatehouse', loginId), { errorCorrectionLevel: 'M', margin: 2, width: 220 });
    await ctx.page('portal/mfa-add', { title: ctx.s.mfaEnrollHeading, nav: 'profile', secret, pending, qrDataUrl, message }, status);
  }

  router.get('/portal/profile/mfa/add', async (req, res) => {
    const fresh = await freshForPage(req, res);
    if (!fresh) return;
    if (fresh.user.mfaEnabled) {
      await profilePage(req, res, fresh.ctx, fresh.ctx.s.mfaAlready, 409);
      return;
    }
    await enrollPage(fresh.ctx, fresh.user.loginId, newTotpSecret());
  });

  router.post('/portal/profile/mfa/add', async (req, res) => {
    const fresh = await freshForPost(req, res);
    if (!fresh) return;
    const { ctx, user } = fresh;
    if (user.mfaEnabled) {
      await profilePage(req, res, ctx, ctx.s.mfaAlready, 409);
      return;
    }
    let secret: string;
    try {
      // Bound to this session: a pending key from another session or tenant does not decrypt.
      secret = deps.keyring.decrypt(field(req, 'pending'), pendingSecretContext(ctx.tenant.tenantId, ctx.session.sessionId));
    } catch {
      throw new AppError('BAD_REQUEST', 'the enrollment expired; start again');
    }
    const step = await matchTotpStep(secret, field(req, 'code').trim());
    if (step === undefined) {
      await enrollPage(ctx, user.loginId, secret, ctx.s.mfaWrongCode, 400);
      return;
    }
    // Active only now, after a first valid code; that code's step is the last used one (no replay).
    const set = await SsoUser.updateOne(
      { tenantId: ctx.tenant.tenantId, userId: user.userId, mfaEnabled: false },
      { $set: { mfaSecretEncrypted: deps.keyring.encrypt(secret, ssoUserMfaContext(user.userId)), mfaEnabled: true, mfaLastStep: step, mfaRegisteredAt: new Date() } },
    );
    if (set.modifiedCount !== 1) {
      await profilePage(req, res, ctx, ctx.s.mfaAlready, 409);
      return;
    }
    req.log.info({ event: 'portal.mfaAdded', tenantId: ctx.tenant.tenantId, userId: user.userId }, 'SSO user registered a TOTP device');
    await notifyMfaChange(req, ctx, user, true);
    res.redirect(303, `${ctx.base}/profile?done=mfaAdded`);
  });

  router.get('/portal/profile/mfa/remove', async (req, res) => {
    const fresh = await freshForPage(req, res);
    if (!fresh) return;
    if (!fresh.user.mfaEnabled) {
      await profilePage(req, res, fresh.ctx, fresh.ctx.s.mfaNone, 409);
      return;
    }
    await fresh.ctx.page('portal/mfa-remove', { title: fresh.ctx.s.mfaRemoveHeading, nav: 'profile' });
  });

  router.post('/portal/profile/mfa/remove', async (req, res) => {
    const fresh = await freshForPost(req, res);
    if (!fresh) return;
    const { ctx, user } = fresh;
    const set = await SsoUser.updateOne(
      { tenantId: ctx.tenant.tenantId, userId: user.userId, mfaEnabled: true },
      { $set: { mfaEnabled: false, mfaSecretEncrypted: null, mfaRegisteredAt: null } },
    );
    if (set.modifiedCount !== 1) {
      await profilePage(req, res, ctx, ctx.s.mfaNone, 409);
      return;
    }
    req.log.info({ event: 'portal.mfaRemoved', tenantId: ctx.tenant.tenantId, userId: user.userId }, 'SSO user removed its TOTP device');
    await notifyMfaChange(req, ctx, user, false);
    res.redirect(303, `${ctx.base}/profile?done=mfaRemoved`);
  });

  // ---- consents -----------------------------------------------------------------------------

  router.post('/portal/profile/consents/:consentId/withdraw', async (req, res) => {
    const ctx = await h.signedInPost(req, res);
    if (!ctx) return;
    const consentId = String(req.params.consentId ?? '');
    // Only the user's own consents: another user's id is "not found" (consent.service.ts).
    if (!SESSION_ID.test(consentId)) throw new AppError('NOT_FOUND', 'you have no consent with this id');
    await withdrawPortalConsent(ctx.tenant.tenantId, ctx.session.userId, consentId);
    req.log.info({ event: 'portal.consentWithdrawn', tenantId: ctx.tenant.tenantId, userId: ctx.session.userId, consentId }, 'SSO user withdrew a consent');
    res.redirect(303, `${ctx.base}/profile?done=consentWithdrawn`);
  });

  // ---- sessions -----------------------------------------------------------------------------

  router.post('/portal/profile/sessions/:sessionId/end', async (req, res) => {
    const ctx = await h.signedInPost(req, res);
    if (!ctx) return;
    const sessionId = String(req.params.sessionId ?? '');
    const { tenantId } = ctx.tenant;
    // Only the user's own sessions: another user's session id is "not found", as an unknown one.
    const own = SESSION_ID.test(sessionId) ? await SsoUserSession.findOne({ tenantId, userId: ctx.session.userId, sessionId }).select('sessionId').lean() : null;
    if (!own) throw new AppError('NOT_FOUND', 'you have no session with this id');
    await endSsoSession(tenantId, sessionId, 'userEnded');
    if (sessionId === ctx.session.sessionId) {
      res.clearCookie(ssoSessionCookieName(deps.config, tenantId), ssoSessionCookieOptions(deps.config));
      res.redirect(303, ctx.base);
      return;
    }
    res.redirect(303, `${ctx.base}/profile?done=sessionEnded`);
  });

  return router;
}
