/**
 * helmet baseline (security-bar §4 "Clickjacking / CSP"): helmet's defaults, tightened for an
 * identity provider: no framing at all (login, consent and admin pages must never be framed),
 * no referrer (codes and tokens in URLs must not leak, RFC 9700 §4.2), and a CSP without inline
 * script. Pages that auto-POST to a SAML ACS or an OAuth form_post target relax `form-action`
 * to that exact origin on their own response.
 */
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: true,
      directives: {
        'default-src': ["'self'"],
        'script-src': ["'self'"],
        'style-src': ["'self'"],
        'img-src': ["'self'", 'data:'],
        'frame-ancestors': ["'none'"],
        'form-action': ["'self'"],
        'object-src': ["'none'"],
        'base-uri': ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  });
}
