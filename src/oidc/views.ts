/**
 * Pages of the OpenID Provider (views/oidc/*.eta): auto-escaped eta like the console's, no inline
 * style, and no inline script except the form_post page's one line, which is allowed by its
 * SHA-256 in that page's own CSP (security-bar §4 "Clickjacking / CSP").
 */
import { createHash } from 'node:crypto';
import { Eta } from 'eta';
import { VIEWS_DIR } from '../console/views.js';

const eta = new Eta({ views: VIEWS_DIR, autoEscape: true, cache: true });

/** A page in the OpenID Provider's layout. */
export function renderOidcPage(template: string, title: string, data: Record<string, unknown>, lang = 'en'): string {
  const body = eta.render(`oidc/${template}`, data);
  return eta.render('oidc/page', { title, body, lang });
}

/** The form_post auto-submit script (RFC 9700 §4.2: no tokens in URLs; OAuth 2.0 Form Post Response Mode). */
export const FORM_POST_SCRIPT = "document.addEventListener('DOMContentLoaded',function(){document.forms[0].submit()});";
export const FORM_POST_SCRIPT_HASH = `'sha256-${createHash('sha256').update(FORM_POST_SCRIPT).digest('base64')}'`;

export function renderFormPost(action: string, inputs: Record<string, unknown>): string {
  return eta.render('oidc/form-post', {
    script: FORM_POST_SCRIPT,
    action,
    inputs: Object.entries(inputs)
      .filter(([, v]) => v !== undefined && v !== null)
      .map(([name, value]) => ({ name, value: String(value) })),
  });
}

/**
 * The CSP of a page that must post to `targetOrigin`: the app's CSP with `form-action` set to
 * exactly that origin and the form_post script's hash allowed.
 */
export function formPostCsp(currentCsp: string | undefined, targetOrigin: string): string {
  const directives = new Map<string, string[]>();
  for (const part of (currentCsp ?? "default-src 'self'").split(';')) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values);
  }
  directives.set('form-action', [targetOrigin]);
  directives.set('script-src', [...(directives.get('script-src') ?? ["'self'"]), FORM_POST_SCRIPT_HASH]);
  return [...directives].map(([n, v]) => [n, ...v].join(' ')).join(';');
}
