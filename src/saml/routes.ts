/**
 * End-user routes of the SAML IdP under /tenants/{t} (src/http/tenant-routes.ts; ARCHITECTURE.md
 * "Endpoint map"):
 *
 *   GET  /saml/idp/metadata            the IdP metadata (src/saml/metadata.ts)
 *   GET  /saml/idp/sso                 AuthnRequest, HTTP-Redirect binding
 *   POST /saml/idp/sso                 AuthnRequest, HTTP-POST binding
 *   GET  /saml/idp/resume/{pendingId}  back from the login pipeline (?login=ID)
 *   POST /saml/idp/init/{applicationId} IdP-initiated launch (portal form + CSRF token; opt-in per app)
 *   GET|POST /saml/idp/slo             LogoutRequest / LogoutResponse, both bindings
 *   GET  /saml/idp/assets/post-submit.js  the auto-POST page's static script
 *
 * Every failure, whatever its cause, ends in one generic error page (never a redirect to a URL
 * taken from the request) and a rejection record (src/saml/idp/rejection.ts).
 */
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { currentSsoSession } from '../auth/login.js';
import { onSsoSessionEnd } from '../auth/sso-session.js';
import { tenantOf, type TenantDeps } from '../http/tenant-routes.js';
import { samlMetadataRouter } from './metadata.js';
import { POST_SCRIPT, renderSamlError } from './idp/pages.js';
import { verifySamlLaunchToken } from './idp/portal.js';
import { recordRejection, SamlRejection } from './idp/rejection.js';
import { defaultAcs, findSamlApplicationById, spRef } from './idp/service-provider.js';
import { launchIdpInitiated, receiveAuthnRequest, resumePending } from './idp/sso.js';
import { receiveLogoutMessage, rememberSessionEnd } from './idp/slo.js';

/** Form bodies: a 1 MiB message is about 1.4 MB in base64 (src/saml/xml/harden.ts bounds the decoded XML). */
const formBody = express.urlencoded({ extended: false, limit: '1500kb', parameterLimit: 10 });

let sessionEndSubscribed = false;

export function samlRouter(deps: TenantDeps): Router {
  const router = Router({ mergeParams: true });
  if (!sessionEndSubscribed) {
    // A session ended anywhere (portal logout, OIDC, admin, single-session rule) is recorded on the
    // session's SAML participants (src/saml/idp/slo.ts).
    onSsoSessionEnd(rememberSessionEnd, deps.logger);
    sessionEndSubscribed = true;
  }

  router.use(samlMetadataRouter(deps));

  const endpoint =
    (name: string, handler: (req: Request, res: Response) => Promise<void>) =>
    async (req: Request, res: Response): Promise<void> => {
      try {
        await handler(req, res);
      } catch (err) {
        await fail(req, res, name, err, deps);
      }
    };

  router.get('/saml/idp/assets/post-submit.js', (_req, res) => {
    res.type('application/javascript').setHeader('Cache-Control', 'public, max-age=3600');
    res.send(POST_SCRIPT);
  });

  router.get(
    '/saml/idp/sso',
    endpoint('sso', (req, res) => receiveAuthnRequest(req, res, 'redirect', deps, tenantOf(res))),
  );
  router.post(
    '/saml/idp/sso',
    bodyOr('sso'),
    endpoint('sso', (req, res) => receiveAuthnRequest(req, res, 'post', deps, tenantOf(res))),
  );
  router.get(
    '/saml/idp/resume/:pendingId',
    endpoint('resume', async (req, res) => {
      const login = typeof req.query.login === 'string' ? req.query.login : null;
      await resumePending(req, res, deps, tenantOf(res), String(req.params.pendingId ?? ''), login);
    }),
  );

  // IdP-initiated: POST only (a GET, whatever its parameters, sends nothing anywhere; case 11).
  router.get(
    '/saml/idp/init/:applicationId',
    endpoint('init', async () => {
      throw new SamlRejection('csrf', 'IdP-initiated sign-in is POST-only');
    }),
  );
  router.post(
    '/saml/idp/init/:applicationId',
    bodyOr('init'),
    endpoint('init', async (req, res) => {
      const tenant = tenantOf(res);
      const sp = await findSamlApplicationById(tenant.tenantId, String(req.params.applicationId ?? ''));
      if (!sp) throw new SamlRejection('unknownSp', 'no such SAML application');
      if (!sp.saml.idpInitiatedAllowed) throw new SamlRejection('idpInitiatedOff', 'IdP-initiated sign-in is off for this application', spRef(sp));
      // Same-origin form post from the portal: a foreign Origin is refused before the token is looked at.
      const origin = req.get('origin');
      if (origin && origin !== new URL(deps.config.baseUrl).origin) throw new SamlRejection('csrf', 'cross-origin launch', spRef(sp));
      const session = await currentSsoSession(req, tenant.tenantId, deps.config);
      if (!session) throw new SamlRejection('noSession', 'launch without a session', spRef(sp));
      const token = (req.body as Record<string, unknown> | undefined)?.csrf;
      if (!(await verifySamlLaunchToken(tenant.tenantId, session, token, deps.keyring))) throw new SamlRejection('csrf', 'missing or wrong launch token', spRef(sp));
      await launchIdpInitiated(req, res, deps, tenant, sp, defaultAcs(sp));
    }),
  );

  router.get(
    '/saml/idp/slo',
    endpoint('slo', (req, res) => receiveLogoutMessage(req, res, 'redirect', deps, tenantOf(res))),
  );
  router.post(
    '/saml/idp/slo',
    bodyOr('slo'),
    endpoint('slo', (req, res) => receiveLogoutMessage(req, res, 'post', deps, tenantOf(res))),
  );
  return router;

  /** The form parser, whose errors (too large, bad encoding) end on the error page too. */
  function bodyOr(name: string) {
    return (req: Request, res: Response, next: NextFunction): void => {
      formBody(req, res, (err?: unknown) => {
        if (err) {
          const status = (err as { status?: number }).status;
          void fail(req, res, name, new SamlRejection(status === 413 ? 'tooLarge' : 'malformed', 'form body refused'), deps);
          return;
        }
        next();
      });
    };
  }
}

async function fail(req: Request, res: Response, endpoint: string, err: unknown, deps: TenantDeps): Promise<void> {
  const tenant = (res.locals as { tenant?: { tenantId: string; accountId: number } }).tenant;
  if (err instanceof SamlRejection) {
    if (tenant) await recordRejection(req, tenant, endpoint, err, deps.logger);
  } else {
    deps.logger.error({ err, event: 'saml.error', endpoint, tenantId: tenant?.tenantId }, 'SAML endpoint failed');
  }
  if (res.headersSent) return;
  renderSamlError(req, res, err instanceof SamlRejection ? 400 : 500);
}
