/**
 * URL rules of application endpoints (issue 8 redirect URIs; issue 9 ACS/SLO endpoints;
 * security-bar case 12): absolute `https:` URLs, plain `http:` only for loopback hosts (RFC 8252
 * §7.3 native apps and local development), no fragment (RFC 6749 §3.1.2), no wildcard (RFC 9700
 * §2.1 exact matching), no user information, and the string is stored exactly as given: the
 * protocols compare redirect URIs by exact string, so nothing is normalized here.
 */

export const URI_MAX = 2000;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase()) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

export interface UriRules {
  /** Plain http for loopback hosts (default true). */
  loopbackHttp?: boolean;
  /** Allow a query component (default true). */
  query?: boolean;
}

/** Why the string is not an acceptable endpoint URL, or null when it is. */
export function webUriProblem(value: string, rules: UriRules = {}): string | null {
  if (value.length === 0) return 'must not be empty';
  if (value.length > URI_MAX) return `must be at most ${URI_MAX} characters`;
  if (/\s/.test(value) || [...value].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return 'must not contain whitespace or control characters';
  if (value.includes('*')) return 'must not contain wildcards: redirect and endpoint URLs are matched exactly (RFC 9700 §2.1)';
  if (value.includes('#')) return 'must not contain a fragment (RFC 6749 §3.1.2)';
  // WHATWG URL parsing reads `\` as `/` in http(s) URLs; a stored string must mean the same to every parser.
  if (value.includes('\\')) return 'must not contain a backslash';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:') {
    if (!(rules.loopbackHttp ?? true) || !loopback) return 'must use https (plain http only for loopback hosts: localhost, 127.0.0.1, [::1])';
  } else if (url.protocol !== 'https:') {
    return `must use https, not ${url.protocol.replace(/:$/, '')}`;
  }
  if (url.username || url.password) return 'must not contain user information';
  if (!url.hostname) return 'must name a host';
  if (rules.query === false && url.search) return 'must not contain a query';
  return null;
}
