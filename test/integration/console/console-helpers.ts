/**
 * Console test helpers: a browser-like client (supertest agent with a cookie jar) that reads the
 * CSRF token from the form it was served and posts forms from the console's own origin, plus
 * accounts and sub accounts with real argon2id passwords.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Express } from 'express';
import supertest from 'supertest';
import { Account, LoginAlias } from '../../../src/iam/accounts/account.model.js';
import { hashToken } from '../../../src/iam/sessions/session.service.js';
import { SubAccount } from '../../../src/iam/sub-accounts/sub-account.model.js';
import { hashPassword } from '../../../src/shared/password-hash.js';

/** testConfig()'s base URL (GATEHOUSE_BASE_URL unset, PORT 3000). */
export const ORIGIN = 'http://localhost:3000';
export const PASSWORD = 'correct horse battery staple';

export function csrfFrom(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error(`no CSRF field in the page:\n${html.slice(0, 500)}`);
  return m[1];
}

/** The value of a cookie set by a response (undefined when the response set none). */
export function setCookie(res: { headers: Record<string, unknown> }, name: string): { value: string; attributes: string } | undefined {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? (raw as string[]) : typeof raw === 'string' ? [raw] : [];
  for (const c of list) {
    const [pair = '', ...attrs] = c.split(';');
    const eq = pair.indexOf('=');
    if (pair.slice(0, eq).trim() === name) return { value: decodeURIComponent(pair.slice(eq + 1)), attributes: attrs.join(';') };
  }
  return undefined;
}

export type Browser = ReturnType<typeof supertest.agent>;

export function browser(app: Express): Browser {
  return supertest.agent(app);
}

export interface Submitted extends Promise<supertest.Response> {
  /** Resolves to the response when its status (and Location, if given) is as expected. */
  expect(status: number, location?: string): Promise<supertest.Response>;
}

/** GETs a form page and POSTs it back with its CSRF token, from the console's origin. */
export function submit(
  agent: Browser,
  formPath: string,
  fields: Record<string, string>,
  opts: { postTo?: string; headers?: Record<string, string> } = {},
): Submitted {
  const run = (async () => {
    let get = agent.get(formPath);
    for (const [k, v] of Object.entries(opts.headers ?? {})) get = get.set(k, v);
    const token = csrfFrom((await get).text);
    let req = agent
      .post(opts.postTo ?? formPath)
      .set('Origin', ORIGIN)
      .type('form');
    for (const [k, v] of Object.entries(opts.headers ?? {})) req = req.set(k, v);
    return req.send({ ...fields, _csrf: token });
  })();
  return Object.assign(run, {
    async expect(status: number, location?: string) {
      const res = await run;
      if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${res.text.slice(0, 400)}`);
      if (location !== undefined && res.headers.location !== location)
        throw new Error(`expected Location ${location}, got ${String(res.headers.location)}`);
      return res;
    },
  });
}

/** A main account with its own root login id and a real password hash. */
export async function makeAccount(overrides: Record<string, unknown> = {}): Promise<{ memberNo: number; rootLoginId: string }> {
  const memberNo = 3_000_000 + Math.floor(Math.random() * 1_000_000);
  const rootLoginId = `root-${randomBytes(4).toString('hex')}`;
  await Account.create({
    memberNo,
    name: `Acct ${memberNo}`,
    type: 'main',
    rootLoginId,
    rootPasswordHash: await hashPassword(PASSWORD),
    ...overrides,
  });
  return { memberNo, rootLoginId };
}

export async function makeAlias(accountId: number): Promise<string> {
  const alias = `a${randomBytes(5).toString('hex')}`;
  await LoginAlias.create({ _id: alias, accountId });
  return alias;
}

export async function makeSubAccount(
  accountId: number,
  overrides: Record<string, unknown> = {},
): Promise<{ subAccountId: string; loginId: string }> {
  const subAccountId = randomUUID();
  const loginId = `user-${randomBytes(4).toString('hex')}`;
  await SubAccount.create({
    accountId,
    subAccountId,
    loginId,
    loginIdKey: loginId.toLowerCase(),
    name: 'Console User',
    canConsoleAccess: true,
    passwordHash: await hashPassword(PASSWORD),
    ...overrides,
  });
  return { subAccountId, loginId };
}

/** The session cookie's token as the server stores it. */
export function tokenHashOf(token: string): string {
  return hashToken(token);
}
