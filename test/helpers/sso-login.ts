/**
 * End-user sign-in as a browser does it (issue 7): a supertest agent (cookie jar) GETs the
 * tenant's login page, posts the form with its CSRF token, answers the TOTP step when given the
 * user's secret, and follows the 303s until the pipeline hands the browser back (to the portal,
 * or to the protocol endpoint that started the interaction).
 *
 *   const agent = supertest.agent(app);
 *   const { sessionCookie } = await signIn(agent, 'demo', 'alice@demo.example', password);
 *   // the agent now carries the session; sessionCookie is "gh_sso_{tenantId}=token" for other clients
 *
 * Protocol tests start the interaction themselves (their endpoint 303s to the login page) and
 * pass that Location as `opts.loginUrl`; `signIn` then returns where the pipeline sent the browser
 * back (`returnTo?login=ID`), which the test follows to its protocol endpoint.
 */
import type supertest from 'supertest';
import { totpCode } from '../../src/iam/mfa/totp.js';

export type SsoBrowser = ReturnType<typeof supertest.agent>;

/** testConfig()'s base URL origin (GATEHOUSE_BASE_URL unset, PORT 3000). */
export const SSO_ORIGIN = 'http://localhost:3000';

export interface SignInOptions {
  /** Base32 TOTP secret of the user's device: the MFA step is answered with its current code. */
  totpSecret?: string;
  /** An interaction's login page to continue (a protocol's 303 target); default: start at /tenants/{t}/login. */
  loginUrl?: string;
  /** Extra headers on every request (e.g. X-Forwarded-For, Accept-Language). */
  headers?: Record<string, string>;
}

export interface SignInResult {
  /** `name=value` of the session cookie, to send from another client. */
  sessionCookie: string;
  cookieName: string;
  token: string;
  tenantId: string;
  /** Where the pipeline sent the browser at the end (`returnTo?login={interactionId}`). */
  location: string;
  interactionId: string;
}

/** The hidden fields of the first form on a page (interaction id and CSRF token). */
export function formFields(html: string): { interaction: string; csrf: string } {
  const interaction = /name="interaction" value="([^"]+)"/.exec(html)?.[1];
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
  if (!interaction || !csrf) throw new Error(`no sign-in form in the page:\n${html.slice(0, 600)}`);
  return { interaction, csrf };
}

function cookieFrom(res: supertest.Response, prefix: RegExp): { name: string; value: string } | undefined {
  const raw = res.headers['set-cookie'] as unknown;
  const list = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
  for (const c of list) {
    const pair = c.split(';')[0] ?? '';
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    if (prefix.test(name) && eq > 0 && pair.slice(eq + 1) !== '') return { name, value: decodeURIComponent(pair.slice(eq + 1)) };
  }
  return undefined;
}

function withHeaders(req: supertest.Test, headers: Record<string, string> | undefined): supertest.Test {
  for (const [k, v] of Object.entries(headers ?? {})) req.set(k, v);
  return req;
}

function expectStatus(res: supertest.Response, status: number, what: string): void {
  if (res.status !== status)
    throw new Error(`${what}: expected ${status}, got ${res.status} ${String(res.headers.location ?? '')}\n${res.text.slice(0, 600)}`);
}

/** Posts a sign-in form (from the page's own origin) and returns the 303. */
export async function postForm(
  agent: SsoBrowser,
  path: string,
  fields: Record<string, string>,
  headers?: Record<string, string>,
): Promise<supertest.Response> {
  return withHeaders(agent.post(path).set('Origin', SSO_ORIGIN).type('form'), headers).send(fields);
}

/** Signs a tenant user in through the real pages; throws with the page when a step fails. */
export async function signIn(
  agent: SsoBrowser,
  tenantRef: string,
  loginId: string,
  password: string,
  opts: SignInOptions = {},
): Promise<SignInResult> {
  let loginUrl = opts.loginUrl;
  if (!loginUrl) {
    const start = await withHeaders(agent.get(`/tenants/${tenantRef}/login`), opts.headers);
    expectStatus(start, 303, 'starting the sign-in');
    loginUrl = String(start.headers.location);
    if (!loginUrl.includes('/login?interaction=')) throw new Error(`already signed in? the login page sent the browser to ${loginUrl}`);
  }
  const tenantId = /^\/tenants\/([^/]+)\//.exec(loginUrl)?.[1] ?? tenantRef;
  const page = await withHeaders(agent.get(loginUrl), opts.headers);
  expectStatus(page, 200, 'the login page');
  const { interaction, csrf } = formFields(page.text);

  let res = await postForm(agent, `/tenants/${tenantId}/login`, { interaction, _csrf: csrf, loginId, password }, opts.headers);
  expectStatus(res, 303, 'the password step');
  let location = String(res.headers.location);
  if (location.includes('/login?interaction=')) throw new Error(`sign-in refused for ${loginId} (back to the login page)`);

  if (location.includes('/login/mfa?')) {
    if (!opts.totpSecret) throw new Error(`${loginId} needs a second factor; pass opts.totpSecret`);
    const mfaPage = await withHeaders(agent.get(location), opts.headers);
    expectStatus(mfaPage, 200, 'the MFA page');
    const f = formFields(mfaPage.text);
    // The current code may have been used by an earlier sign-in in this 30 s step (codes are
    // accepted once); the next step's code is inside the ±1 step window.
    const now = Math.floor(Date.now() / 1000);
    for (const epoch of [now, now + 30]) {
      res = await postForm(
        agent,
        `/tenants/${tenantId}/login/mfa`,
        { interaction: f.interaction, _csrf: f.csrf, code: await totpCode(opts.totpSecret, epoch) },
        opts.headers,
      );
      expectStatus(res, 303, 'the MFA step');
      location = String(res.headers.location);
      if (!location.includes('/login/mfa?')) break;
    }
    if (location.includes('/login')) throw new Error(`the TOTP step for ${loginId} did not complete (${location})`);
  }
  if (/\/login(\/|\?)/.test(location)) throw new Error(`sign-in for ${loginId} stopped at ${location}`);

  const cookie = cookieFrom(res, /^(__Host-)?gh_sso_/);
  if (!cookie) throw new Error('the sign-in completed without a session cookie');
  return {
    sessionCookie: `${cookie.name}=${cookie.value}`,
    cookieName: cookie.name,
    token: cookie.value,
    tenantId,
    location,
    interactionId: /[?&]login=([^&]+)/.exec(location)?.[1] ?? interaction,
  };
}
