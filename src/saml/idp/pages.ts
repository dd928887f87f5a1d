/**
 * The two pages the SAML IdP shows (issue 9; security-bar §4 "Clickjacking / CSP", case 34):
 *
 * - the auto-POST page (`views/saml/post.eta`): a form carrying `SAMLResponse` / `SAMLRequest`
 *   and `RelayState` to a verified SP endpoint, a submit button for browsers without script,
 *   and a static script served by this router (no inline script, no hash to keep in sync).
 *   Its CSP relaxes `form-action` to exactly the target's origin and nothing else;
 * - one generic error page for every failure (`views/saml/error.eta`): no detail, no link to any
 *   URL from the request, a request reference for support.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Request, Response } from 'express';
import { renderPage, VIEWS_DIR } from '../../console/views.js';

export const POST_SCRIPT = readFileSync(path.join(VIEWS_DIR, 'saml', 'post-submit.js'), 'utf8');

export function postScriptPath(tenantId: string): string {
  return `/tenants/${tenantId}/saml/idp/assets/post-submit.js`;
}

/** The origin a form may be posted to, or null when the URL is not http(s). */
export function formTargetOrigin(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return null;
    return u.origin;
  } catch {
    return null;
  }
}

function pageCsp(formAction: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `form-action ${formAction}`,
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
}

export function renderAutoPost(
  res: Response,
  input: { tenantId: string; action: string; fieldName: 'SAMLResponse' | 'SAMLRequest'; message: string; relayState: string | null },
): void {
  const origin = formTargetOrigin(input.action);
  if (!origin) throw new Error('auto-POST target is not an http(s) URL');
  res.setHeader('Content-Security-Policy', pageCsp(origin));
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Pragma', 'no-cache');
  renderPage(res, 'saml/post', {
    title: 'Continue',
    scriptSrc: postScriptPath(input.tenantId),
    action: input.action,
    fieldName: input.fieldName,
    message: input.message,
    relayState: input.relayState,
    buttonLabel: 'Continue',
  });
}

export function renderSamlError(req: Request, res: Response, status = 400): void {
  res.setHeader('Content-Security-Policy', pageCsp("'none'"));
  res.setHeader('Cache-Control', 'no-store');
  const id = (req as Request & { id?: unknown }).id;
  renderPage(res, 'saml/error', { reference: typeof id === 'string' || typeof id === 'number' ? String(id) : '' }, status);
}
