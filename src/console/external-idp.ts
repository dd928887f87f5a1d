/**
 * Console page of the tenant's external IdP (reference §2 "A. Console federation"): its settings,
 * its signing certificates (subject, fingerprint, validity) and the SP data to register at the
 * IdP. Read-only, modelled on the application pages (src/console/applications.ts): changes go
 * through the admin API (`/api/v1/sso/tenant/saml-idp…`, with the console session's
 * X-CSRF-Token), so the page needs no forms and no CSRF handling of its own.
 *
 * Authorized exactly as its API twin `GET /api/v1/sso/tenant/saml-idp` (`SSO:view/getTenantDetail`
 * on the tenant's NRN and tags; a denial is audited and answered 403). The SP data section is shown
 * only when `view/getServiceProviderDataDetail` is also allowed (checked without auditing: the page
 * just leaves the section out, it refuses nothing).
 */
import { Router, type Request, type Response } from 'express';
import { requestContext, type AdminDeps } from '../http/admin-route.js';
import { clientIp } from '../http/client-ip.js';
import { toAppError } from '../http/errors.js';
import { authenticate } from '../iam/authn/authenticate.js';
import { actorOf, type AdminPrincipal } from '../iam/principal.js';
import { recordHistory } from '../resources/history/history.service.js';
import { resourceTagContext } from '../shared/tags.js';
import { federationSpUrls } from '../federation/external-idp.model.js';
import { findExternalIdp, toExternalIdpView } from '../federation/external-idp.service.js';
import { tenantResourceOf } from '../sso/tenant/tenant.service.js';
import { consoleCookies } from './cookies.js';
import { renderPage } from './views.js';

export function externalIdpConsolePages(deps: AdminDeps): Router {
  const router = Router();
  const authn = authenticate({ keyring: deps.keyring, sessionCookie: consoleCookies(deps.config).session });
  const errorPage = (res: Response, status: number, heading: string, message: string) =>
    renderPage(res, 'console/error', { title: heading, heading, message, link: { href: '/console', text: 'Console home' } }, status);

  /** The signed-in principal, or undefined after answering (sign-in redirect, password change). */
  async function principalOf(req: Request, res: Response): Promise<AdminPrincipal | undefined> {
    try {
      await new Promise<void>((resolve, reject) => authn(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    } catch (err) {
      const code = toAppError(err)?.code;
      if (code === 'UNAUTHENTICATED') res.redirect(303, '/console/login');
      else if (code === 'FORBIDDEN') res.redirect(303, '/console/password');
      else throw err;
      return undefined;
    }
    return req.principal;
  }

  router.get('/external-idp', async (req, res) => {
    const principal = await principalOf(req, res);
    if (!principal) return;
    const sourceIp = clientIp(req);
    const tenant = await tenantResourceOf(principal.accountId);
    const context = { ...requestContext(principal, sourceIp), ...resourceTagContext(tenant.tags) };
    const action = 'SSO:view/getTenantDetail';
    const d = await deps.authorizer.decide(principal, { action, resource: tenant.nrn, context });
    if (d.decision !== 'Allow') {
      await recordHistory(
        { accountId: principal.accountId, action, nrn: tenant.nrn, result: 'denied', errorCode: 'FORBIDDEN', actor: actorOf(principal), sourceIp, requestId: String(req.id), decisive: [...d.decisive] },
        deps.logger,
      );
      errorPage(res, 403, 'Not allowed', `Your policies do not allow ${action}.`);
      return;
    }
    if (!tenant.entity) {
      errorPage(res, 404, 'No tenant', 'This account has no Single Sign-On tenant yet.');
      return;
    }
    const spAllowed = (await deps.authorizer.decide(principal, { action: 'SSO:view/getServiceProviderDataDetail', resource: tenant.nrn, context })).decision === 'Allow';
    const record = await findExternalIdp(tenant.entity.tenantId);
    renderPage(res, 'console/external-idp', {
      title: 'External IdP',
      idp: record ? toExternalIdpView(record) : null,
      sp: spAllowed ? federationSpUrls(deps.config.baseUrl, tenant.entity.tenantId) : null,
    });
  });

  return router;
}
