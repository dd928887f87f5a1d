/**
 * The tenant's SAML SP endpoints for federated sign-in (ARCHITECTURE.md "Endpoint map", SAML SP
 * rows; signin.service.ts for the flow):
 *
 *   GET  /saml/login[?interaction=ID]     send the AuthnRequest to the external IdP
 *   POST /saml/acs                        the IdP's Response (urlencoded, size-limited)
 *   GET  /saml/complete?state=…           finish the sign-in in the browser that started it
 *   GET  /saml/sp-metadata                the tenant's SP metadata (public, like the IdP metadata;
 *                                         the admin engineer's `tenantSpMetadata`)
 *   GET  /saml/assets/federation-post.js  the auto-POST page's static script
 *
 * Pages (security-bar §4 "Clickjacking / CSP", cases 13-22): the auto-POST page's CSP allows
 * script only from this origin and `form-action` exactly the IdP's origin; every failure is one
 * generic page (400, or 403 when a verified identity is refused; 404 when federated sign-in is not
 * on), never a redirect to a URL from the message. Each failure is logged with its reason; those
 * about a known user (verified assertion: unknown user aside) and every success are audited on the
 * user's NRN (`SSO/federatedSignIn`). Unverified traffic is only logged, so anonymous posts cannot
 * fill the audit collection (the rule src/saml/idp/rejection.ts follows).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { renderPage, VIEWS_DIR } from '../console/views.js';
import { clientIp } from '../http/client-ip.js';
import { tenantOf, type TenantDeps } from '../http/tenant-routes.js';
import { recordHistory } from '../resources/history/history.service.js';
import { ssoNrn, type TenantRecord } from '../sso/tenant/tenant-context.js';
import { FederationRejection } from './saml-sp.js';
import { SP_METADATA_CONTENT_TYPE, tenantSpMetadata } from './sp-metadata.js';
import { completeFederatedSignIn, consumeAssertion, startFederatedSignIn } from './signin.service.js';

const POST_SCRIPT = readFileSync(path.join(VIEWS_DIR, 'federation', 'post-submit.js'), 'utf8');

/** A 1 MiB Response is about 1.4 MB in base64 (src/saml/xml/harden.ts bounds the decoded XML). */
const formBody = express.urlencoded({ extended: false, limit: '1500kb', parameterLimit: 10 });

function pageCsp(formAction: string): string {
  return ["default-src 'none'", "script-src 'self'", "style-src 'self'", `form-action ${formAction}`, "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"].join('; ');
}

function noStore(res: Response): void {
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
}

function requestRef(req: Request): string {
  const id = (req as Request & { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : '';
}

export function federationRouter(deps: TenantDeps): Router {
  const router = Router({ mergeParams: true });

  router.get('/saml/assets/federation-post.js', (_req, res) => {
    res.type('application/javascript').setHeader('Cache-Control', 'public, max-age=3600');
    res.send(POST_SCRIPT);
  });

  // Public data (entity ID, endpoints, certificates) for the IdP's admin to import, as
  // `/saml/idp/metadata` is for applications; a failure is the generic page, never a stack.
  router.get('/saml/sp-metadata', async (req, res) => {
    const tenant = tenantOf(res);
    try {
      const xml = await tenantSpMetadata(tenant, deps);
      res.status(200).set('Content-Type', SP_METADATA_CONTENT_TYPE).set('Cache-Control', 'public, max-age=300').send(xml);
    } catch (err) {
      await fail(req, res, tenant, 'sp-metadata', err);
    }
  });

  router.get('/saml/login', async (req, res) => {
    const tenant = tenantOf(res);
    try {
      const out = await startFederatedSignIn(req, res, tenant, req.query.interaction, deps);
      noStore(res);
      if (out.kind === 'redirect') {
        res.redirect(303, out.location);
        return;
      }
      // The IdP's sign-in URL was validated as an http(s) URL when the record was written.
      res.setHeader('Content-Security-Policy', pageCsp(new URL(out.action).origin));
      renderPage(res, 'federation/post', {
        scriptSrc: `/tenants/${tenant.tenantId}/saml/assets/federation-post.js`,
        action: out.action,
        samlRequest: out.fields.SAMLRequest,
        relayState: out.fields.RelayState,
      });
    } catch (err) {
      await fail(req, res, tenant, 'login', err);
    }
  });

  router.post('/saml/acs', bodyOrFail, async (req, res) => {
    const tenant = tenantOf(res);
    try {
      const out = await consumeAssertion(tenant, (req.body ?? {}) as Record<string, unknown>, deps);
      deps.logger.info({ event: 'federation.assertionAccepted', tenantId: tenant.tenantId, userId: out.userId, amr: out.amr, synced: out.syncedFields }, 'federated sign-in: assertion accepted');
      noStore(res);
      res.redirect(303, out.location);
    } catch (err) {
      await fail(req, res, tenant, 'acs', err);
    }
  });

  router.get('/saml/complete', async (req, res) => {
    const tenant = tenantOf(res);
    try {
      const out = await completeFederatedSignIn(req, res, tenant, req.query.state, deps);
      await audit(req, tenant, 'complete', { userId: out.userId, loginId: '' }, 'success', null);
      noStore(res);
      res.redirect(303, out.location);
    } catch (err) {
      await fail(req, res, tenant, 'complete', err);
    }
  });

  return router;

  /** The form parser, whose errors (too large, bad encoding) end on the generic page too. */
  function bodyOrFail(req: Request, res: Response, next: NextFunction): void {
    formBody(req, res, (err?: unknown) => {
      if (err) {
        void fail(req, res, tenantOf(res), 'acs', new FederationRejection('malformed', `form body refused (${String((err as { status?: number }).status ?? '')})`));
        return;
      }
      next();
    });
  }

  async function audit(req: Request, tenant: TenantRecord, endpoint: string, user: { userId: string; loginId: string }, result: 'success' | 'denied', errorCode: string | null): Promise<void> {
    await recordHistory(
      {
        accountId: tenant.accountId,
        tenantId: tenant.tenantId,
        action: 'SSO/federatedSignIn',
        nrn: ssoNrn(tenant.accountId, 'User', user.userId),
        result,
        errorCode,
        actor: { kind: 'SsoUser', id: user.userId, name: user.loginId, via: `saml/${endpoint}` },
        sourceIp: clientIp(req),
        requestId: requestRef(req),
      },
      deps.logger,
    );
  }

  async function fail(req: Request, res: Response, tenant: TenantRecord, endpoint: string, err: unknown): Promise<void> {
    noStore(res);
    res.setHeader('Content-Security-Policy', pageCsp("'none'"));
    if (!(err instanceof FederationRejection)) {
      deps.logger.error({ err, event: 'federation.error', endpoint, tenantId: tenant.tenantId }, 'federated sign-in failed');
      renderPage(res, 'federation/error', { reference: requestRef(req) }, 500);
      return;
    }
    deps.logger.warn(
      { event: 'federation.rejected', endpoint, reason: err.reason, detail: err.message, tenantId: tenant.tenantId, userId: err.user?.userId ?? null, ip: clientIp(req) },
      'federated sign-in refused',
    );
    if (err.user) await audit(req, tenant, endpoint, err.user, 'denied', err.reason);
    if (err.reason === 'notAvailable') {
      renderPage(res, 'federation/unavailable', {}, 404);
      return;
    }
    renderPage(res, 'federation/error', { reference: requestRef(req) }, err.status);
  }
}
