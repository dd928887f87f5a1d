/**
 * A small cookie-keeping browser for the interop tests: plain HTTP to the loopback peers, every
 * redirect followed by hand (so each hop can be asserted), cookies kept per host as a browser
 * does (RFC 6265 §8.5: cookies do not isolate by port, so Apache's and Gatehouse's cookies share
 * the jar for 127.0.0.1 exactly as they would in a real browser), and the auto-POST forms parsed
 * and submitted.
 */

export interface Page {
  url: string;
  status: number;
  location: string | null;
  headers: Headers;
  text: string;
}

interface StoredCookie {
  value: string;
  path: string;
}

const unescapeHtml = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x2F;/gi, '/')
    .replace(/&#x3D;/gi, '=')
    .replace(/&#x2B;/gi, '+')
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCharCode(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

export interface HtmlForm {
  action: string;
  method: string;
  fields: Record<string, string>;
}

/** The first `<form>` of a page with its hidden/text inputs (attribute order as written by any of the peers). */
export function parseForm(html: string, baseUrl: string): HtmlForm {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in the page:\n${html.slice(0, 800)}`);
  const attr = (tag: string, name: string) => {
    const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(tag);
    return m ? unescapeHtml(m[2] ?? m[3] ?? '') : null;
  };
  const fields: Record<string, string> = {};
  for (const m of form[2]!.matchAll(/<input\b[^>]*>/gi)) {
    const name = attr(m[0], 'name');
    if (name !== null) fields[name] = attr(m[0], 'value') ?? '';
  }
  return {
    action: new URL(attr(form[1]!, 'action') ?? '', baseUrl).toString(),
    method: (attr(form[1]!, 'method') ?? 'get').toLowerCase(),
    fields,
  };
}

export class Browser {
  /** host → cookie name → cookie */
  private readonly jar = new Map<string, Map<string, StoredCookie>>();
  /** Every URL requested, in order (for assertions on the path the flow took). */
  readonly history: string[] = [];

  cookieNames(host = '127.0.0.1'): string[] {
    return [...(this.jar.get(host)?.keys() ?? [])];
  }

  private cookieHeader(url: URL): string {
    const cookies = this.jar.get(url.hostname);
    if (!cookies) return '';
    return [...cookies.entries()]
      .filter(([, c]) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map(([n, c]) => `${n}=${c.value}`)
      .join('; ');
  }

  private store(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      let cookiePath = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const a of attrs) {
        const [k, v = ''] = a.split('=').map((s) => s.trim());
        const key = (k ?? '').toLowerCase();
        if (key === 'path' && v.startsWith('/')) cookiePath = v;
        if (key === 'max-age' && Number(v) <= 0) expired = true;
        if (key === 'expires' && Date.parse(v) < Date.now()) expired = true;
      }
      const host = url.hostname;
      if (!this.jar.has(host)) this.jar.set(host, new Map());
      if (expired) this.jar.get(host)!.delete(name);
      else this.jar.get(host)!.set(name, { value, path: cookiePath });
    }
  }

  async request(
    method: 'GET' | 'POST',
    url: string,
    opts: { form?: Record<string, string>; headers?: Record<string, string> } = {},
  ): Promise<Page> {
    const u = new URL(url);
    const headers: Record<string, string> = { Accept: 'text/html,*/*', 'User-Agent': 'gatehouse-interop-test', ...opts.headers };
    const cookie = this.cookieHeader(u);
    if (cookie) headers.Cookie = cookie;
    let body: string | undefined;
    if (opts.form) {
      headers['Content-Type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(opts.form).toString();
    }
    this.history.push(`${method} ${url}`);
    const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
    this.store(u, res.headers);
    const location = res.headers.get('location');
    return {
      url,
      status: res.status,
      location: location === null ? null : new URL(location, url).toString(),
      headers: res.headers,
      text: await res.text(),
    };
  }

  get(url: string, headers?: Record<string, string>): Promise<Page> {
    return this.request('GET', url, { headers });
  }

  /** Submits a parsed form as the browser would (Origin of the page that held it). */
  submit(form: HtmlForm, fromUrl: string, extra: Record<string, string> = {}): Promise<Page> {
    const fields = { ...form.fields, ...extra };
    const origin = new URL(fromUrl).origin;
    if (form.method === 'post') return this.request('POST', form.action, { form: fields, headers: { Origin: origin } });
    const target = new URL(form.action);
    for (const [k, v] of Object.entries(fields)) target.searchParams.set(k, v);
    return this.get(target.toString());
  }

  /** Follows 3xx redirects from `page` until a non-redirect (or `until` matches the next URL). */
  async follow(page: Page, opts: { max?: number; until?: (url: string) => boolean } = {}): Promise<Page> {
    let current = page;
    for (let i = 0; i < (opts.max ?? 10); i++) {
      if (current.status < 300 || current.status >= 400 || !current.location) return current;
      if (opts.until?.(current.location)) return current;
      current = await this.get(current.location);
    }
    throw new Error(`too many redirects; last ${current.url} → ${current.location}\n${this.history.join('\n')}`);
  }
}

/** `NAME=value` lines of the protected CGI page as a map. */
export function parseEnvPage(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env.set(line.slice(0, eq), line.slice(eq + 1).replace(/\r$/, ''));
  }
  return env;
}
