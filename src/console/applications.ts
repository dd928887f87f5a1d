/**
 * Console pages for the tenant's applications (issue 8/9 "admin console": server-rendered pages):
 * a list with name search and paging, and one application's settings. Read-only: changes go
 * through the admin API (`/api/v1/sso/applications`, with the console session's X-CSRF-Token),
 * so these pages need no forms and no CSRF handling of their own.
 *
 * Each page is authorized exactly as its API twin (same authentication, same catalog action, NRN
 * and resource tags, a denial audited the same way), so the console shows nothing the API would
 * refuse: `view/getApplicationList` for the list, `view/getApplicationDetail` for a detail.
 * Nothing secret is on either page (the view never carries the client secret).
 */
import { Router, type Request, type Response } from 'express';
import { requestContext, type AdminDeps } from '../http/admin-route.js';
import { clientIp } from '../http/client-ip.js';
import { toAppError } from '../http/errors.js';
import { authenticate } from '../iam/authn/authenticate.js';
import { actorOf, type AdminPrincipal } from '../iam/principal.js';
import { recordHistory } from '../resources/history/history.service.js';
import { resourceTagContext, type Tag } from '../shared/tags.js';
import { applicationIdParams, listApplicationsQuery } from '../sso/applications/application.schemas.js';
import { findApplication, getApplication, listApplications } from '../sso/applications/application.service.js';
import { findTenantOfAccount, ssoNrn } from '../sso/tenant/tenant-context.js';
import { consoleCookies } from './cookies.js';
import { renderPage } from './views.js';

export function applicationConsolePages(deps: AdminDeps): Router {
  const router = Router();
  const authn = authenticate({ keyring: deps.keyring, sessionCookie: consoleCookies(deps.config).session });
  const errorPage = (res: Response, status: number, heading: string, message: string) =>
    renderPage(res, 'console/error', { title: heading, heading, message, link: { href: '/console/applications', text: 'Applications' } }, status);

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

  /** Authorizes like the API route; a denial is audited and answered with a 403 page. */
  async function authorized(req: Request, res: Response, principal: AdminPrincipal, action: string, nrn: string, tags: readonly Tag[]): Promise<boolean> {
    const sourceIp = clientIp(req);
    const d = await deps.authorizer.decide(principal, { action, resource: nrn, context: { ...requestContext(principal, sourceIp), ...resourceTagContext(tags) } });
    if (d.decision === 'Allow') return true;
    await recordHistory(
      { accountId: principal.accountId, action, nrn, result: 'denied', errorCode: 'FORBIDDEN', actor: actorOf(principal), sourceIp, requestId: String(req.id), decisive: [...d.decisive] },
      deps.logger,
    );
    errorPage(res, 403, 'Not allowed', `Your policies do not allow ${action}.`);
    return false;
  }

  router.get('/applications', async (req, res) => {
    const principal = await principalOf(req, res);
    if (!principal) return;
    if (!(await authorized(req, res, principal, 'SSO:view/getApplicationList', '*', []))) return;
    const q = listApplicationsQuery.safeParse(req.query);
    if (!q.success) {
      errorPage(res, 400, 'Request not accepted', 'The search or page parameters are not valid.');
      return;
    }
    if (!(await findTenantOfAccount(principal.accountId))) {
      errorPage(res, 404, 'No tenant', 'This account has no Single Sign-On tenant yet.');
      return;
    }
    const page = await listApplications(principal.accountId, q.data);
    const lastPage = Math.max(0, Math.ceil(page.totalElements / page.pageSize) - 1);
    const link = (pageNo: number) => `/console/applications?${new URLSearchParams({ ...(q.data.name ? { name: q.data.name } : {}), pageNo: String(pageNo), pageSize: String(page.pageSize) })}`;
    renderPage(res, 'console/applications', {
      title: 'Applications',
      page,
      name: q.data.name ?? '',
      previous: page.pageNo > 0 ? link(page.pageNo - 1) : null,
      next: page.pageNo < lastPage ? link(page.pageNo + 1) : null,
    });
  });

  router.get('/applications/:applicationId', async (req, res) => {
    const principal = await principalOf(req, res);
    if (!principal) return;
    const params = applicationIdParams.safeParse(req.params);
    const tenant = await findTenantOfAccount(principal.accountId);
    const applicationId = params.success ? params.data.applicationId : 'invalid';
    const entity = tenant && params.success ? await findApplication(tenant.tenantId, applicationId) : null;
    if (!(await authorized(req, res, principal, 'SSO:view/getApplicationDetail', ssoNrn(principal.accountId, 'Application', applicationId), entity?.tags ?? []))) return;
    if (!entity) {
      errorPage(res, 404, 'Application not found', 'There is no such application in this tenant.');
      return;
    }
    renderPage(res, 'console/application-detail', { title: entity.name, app: await getApplication(principal.accountId, applicationId) });
  });

  return router;
}
