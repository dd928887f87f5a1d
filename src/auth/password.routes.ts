/**
 * End-user password pages under `/tenants/{t}` (mounted by src/http/tenant-routes.ts):
 *   GET  /password/reset?token=…   the form of a one-time reset link (src/auth/password-reset.service.ts)
 *   POST /password/reset           new password twice + the token (hidden field)
 *
 * - The token is the only credential: 256 random bits a cross-site attacker cannot know, so it
 *   also serves as the form's CSRF token. It travels in the query only on the first GET (the link
 *   in the e-mail), then in the POST body; the request logger drops queries, the page is
 *   `Cache-Control: no-store`, and `Referrer-Policy: no-referrer` is global (security-headers.ts).
 * - A refused password re-renders the form with every reason, tied to the field; the link stays
 *   usable. An unknown, used or expired link gets one message that says nothing about the user.
 * - Success answers 303 to a confirmation page (no form re-submission on reload; RFC 9700 §4.12:
 *   credential POSTs are answered with 303, never 307).
 */
import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import type { TenantDeps } from '../http/tenant-routes.js';
import { tenantOf } from '../http/tenant-routes.js';
import { renderPage } from '../console/views.js';
import { LANGUAGE_NAMES, LANGUAGES, pickLanguage, rememberLanguage, translator, type Language } from '../http/i18n.js';
import { PASSWORD_MAX_LENGTH } from './password-policy.js';
import { resetPolicyMessages, resetText } from './password-reset.messages.js';
import { completePasswordReset, findPendingPasswordReset } from './password-reset.service.js';

/** Raw input bound (UTF-16 units): 256 code points are at most 512 units; the policy counts code points. */
const RAW_PASSWORD_MAX = 1024;
/** The browser's `maxlength` counts UTF-16 units; the server applies the real rule. */
const FIELD_MAXLENGTH = PASSWORD_MAX_LENGTH * 2;

const resetForm = z.object({
  token: z.string().max(100),
  newPassword: z.string().max(RAW_PASSWORD_MAX),
  confirmPassword: z.string().max(RAW_PASSWORD_MAX),
});

export function passwordRouter(deps: TenantDeps): Router {
  const router = Router({ mergeParams: true });
  const base = (res: Response) => `/tenants/${encodeURIComponent(tenantOf(res).tenantId)}`;
  const tenantName = (res: Response) => tenantOf(res).tenantAlias;

  const noStore = (_req: Request, res: Response, next: () => void) => {
    res.set('Cache-Control', 'no-store');
    next();
  };

  const secureCookies = deps.config.baseUrl.startsWith('https:');

  /**
   * A page of this module in the request's language (Korean, English or Japanese), in the sign-in
   * pages' layout (views/auth/layout.eta: their stylesheet and language switcher). The switcher's
   * links keep the link's token, so changing language does not lose the form.
   */
  const page = (req: Request, res: Response, template: string, status: number, data: Record<string, unknown>, token?: string) => {
    rememberLanguage(req, res, secureCookies);
    const lang: Language = pickLanguage(req);
    const text = (key: Parameters<typeof resetText>[1], vars?: Record<string, string | number>) => resetText(lang, key, vars);
    const languages = LANGUAGES.map((l) => {
      const q = new URLSearchParams(token ? { token, lang: l } : { lang: l });
      return { lang: l, name: LANGUAGE_NAMES[l], href: `${req.baseUrl}${req.path}?${q.toString()}`, current: l === lang };
    });
    renderPage(
      res,
      template,
      { lang, text, t: translator(lang), languages, cssHref: `${base(res)}/login/assets/auth.css`, tenantName: tenantName(res), ...data },
      status,
    );
  };

  const invalidLink = (req: Request, res: Response) =>
    page(req, res, 'auth/password-message', 400, { titleKey: 'invalidTitle', messageKey: 'invalidText', role: 'alert', loginUrl: '' });

  const form = (req: Request, res: Response, status: number, data: { token: string; loginId: string; minLength: number; errors: string[] }) =>
    page(req, res, 'auth/password-reset', status, { action: `${base(res)}/password/reset`, maxLength: FIELD_MAXLENGTH, ...data }, data.token);

  router.get('/password/reset', noStore, async (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : undefined;
    const pending = await findPendingPasswordReset(tenantOf(res).tenantId, token);
    if (!pending || !token) {
      invalidLink(req, res);
      return;
    }
    form(req, res, 200, { token, loginId: pending.loginId, minLength: pending.minLength, errors: [] });
  });

  router.post('/password/reset', noStore, express.urlencoded({ extended: false, limit: '16kb' }), async (req, res) => {
    const parsed = resetForm.safeParse(req.body);
    if (!parsed.success) {
      invalidLink(req, res);
      return;
    }
    const { token, newPassword, confirmPassword } = parsed.data;
    const tenantId = tenantOf(res).tenantId;
    if (newPassword !== confirmPassword) {
      const pending = await findPendingPasswordReset(tenantId, token);
      if (!pending) {
        invalidLink(req, res);
        return;
      }
      form(req, res, 400, { token, loginId: pending.loginId, minLength: pending.minLength, errors: [resetText(pickLanguage(req), 'mismatch')] });
      return;
    }
    const result = await completePasswordReset(tenantId, token, newPassword, deps.logger);
    if (!result.ok) {
      if (result.error === 'invalidLink') {
        invalidLink(req, res);
        return;
      }
      const pending = await findPendingPasswordReset(tenantId, token);
      form(req, res, 400, { token, loginId: pending?.loginId ?? '', minLength: result.minLength, errors: resetPolicyMessages(pickLanguage(req), result.reasons, result.minLength) });
      return;
    }
    res.redirect(303, `${base(res)}/password/reset/done`);
  });

  router.get('/password/reset/done', (req, res) => {
    page(req, res, 'auth/password-message', 200, { titleKey: 'doneTitle', messageKey: 'doneText', role: 'status', loginUrl: `${base(res)}/login` });
  });

  return router;
}
