/**
 * Fixtures of the SAML interop tests: Gatehouse listening on an ephemeral loopback port (the SPs
 * talk to it over real HTTP, and its entity ID and endpoints must be that URL), and a tenant
 * built through the admin API as an operator would: users with passwords, a group, a permission
 * set with an assignment (for the role attribute), and the SAML application registered from the
 * SP's own metadata.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createApp, type GatehouseApp } from '../../../src/app.js';
import type { Config } from '../../../src/config.js';
import { ChangeStamps } from '../../../src/iam/change-stamps.js';
import { rootSigner, type Signer } from '../../helpers/admin.js';
import { silentLogger, testConfig, testKeyring } from '../../helpers/app.js';
import { parseForm, type Browser, type Page } from './browser.js';

export const PASSWORD = 'copper kettle harbour 1887';
export const ROLE_ATTRIBUTE = 'https://aws.amazon.com/SAML/Attributes/Role';

export interface RunningGatehouse {
  app: GatehouseApp;
  baseUrl: string;
  config: Config;
  server: Server;
  close(): Promise<void>;
}

export async function startGatehouse(): Promise<RunningGatehouse> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = testConfig({ GATEHOUSE_BASE_URL: baseUrl });
  const app = createApp({
    config,
    logger: silentLogger,
    db: { ping: async () => true },
    keyring: testKeyring(),
    stamps: new ChangeStamps(),
  });
  server.on('request', app);
  return {
    app,
    baseUrl,
    config,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface InteropTenant {
  accountId: number;
  tenantId: string;
  alias: string;
  root: Signer;
  idpEntityId: string;
  user: { userId: string; loginId: string };
  groupName: string;
  roleNrn: string;
}

/** The admin API answer with the expected status, or an error that shows the body. */
function ok(res: { status: number; body: unknown }, status: number): { body: unknown } {
  if (res.status !== status) throw new Error(`admin API: expected ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res;
}

let nextAccount = 8_300_000 + Math.floor(Math.random() * 600_000);

/** A tenant in a fresh account with one user (group member, assigned a permission set), all through the admin API. */
export async function makeInteropTenant(gh: RunningGatehouse): Promise<InteropTenant> {
  const accountId = nextAccount++;
  const root = await rootSigner(gh.app, accountId);
  const alias = `interop${randomBytes(4).toString('hex')}`;
  const tenant = ok(await root.call('post', '/api/v1/sso/tenant', { termsAgreed: true, tenantAlias: alias }), 201);
  const tenantId = (tenant.body as { tenantId: string }).tenantId;
  const loginId = `ada.${randomBytes(3).toString('hex')}@example.com`;
  const user = ok(
    await root.call('post', '/api/v1/sso/users', {
      loginId,
      password: PASSWORD,
      needPasswordReset: false,
      userProfile: { email: loginId, firstName: 'Ada', lastName: 'Lovelace', deptName: 'Analytical Engines' },
    }),
    201,
  );
  const userId = (user.body as { userId: string }).userId;
  const groupName = 'engineers';
  const group = ok(await root.call('post', '/api/v1/sso/groups', { groupName }), 201);
  ok(await root.call('post', `/api/v1/sso/groups/${(group.body as { groupId: string }).groupId}/users`, { userIds: [userId] }), 200);
  const set = ok(
    await root.call('post', '/api/v1/sso/permission-sets', {
      permissionSetName: 'Viewers',
      systemManagedPolicyIds: ['NCP_SINGLE_SIGN_ON_VIEWER'],
    }),
    201,
  );
  const assignment = ok(
    await root.call('post', '/api/v1/sso/assignments', {
      assignmentName: 'ViewersHere',
      permissionSetId: (set.body as { permissionSetId: string }).permissionSetId,
    }),
    201,
  );
  const a = assignment.body as { assignmentId: string; roleNrn: string };
  ok(await root.call('post', `/api/v1/sso/assignments/${a.assignmentId}/targets`, { targetType: 'user', targetIds: [userId] }), 200);
  return {
    accountId,
    tenantId,
    alias,
    root,
    idpEntityId: `${gh.baseUrl}/tenants/${tenantId}/saml/idp`,
    user: { userId, loginId },
    groupName,
    roleNrn: a.roleNrn,
  };
}

/** Gatehouse's IdP metadata, as an SP operator downloads it. */
export async function idpMetadata(gh: RunningGatehouse, t: InteropTenant): Promise<string> {
  const url = `${gh.baseUrl}/tenants/${t.tenantId}/saml/idp/metadata`;
  const res = await fetch(url);
  const text = await res.text();
  if (res.status !== 200 || !text.includes('IDPSSODescriptor')) {
    throw new Error(`Gatehouse served no IdP metadata at ${url} (${res.status}): ${text.slice(0, 300)}`);
  }
  return text;
}

/** The attributes every interop application releases (name → source), besides the role attribute. */
export const RELEASED_ATTRIBUTES = [
  { name: 'email', source: 'profile', value: 'email' },
  { name: 'givenName', source: 'profile', value: 'firstName' },
  { name: 'sn', source: 'profile', value: 'lastName' },
  { name: 'department', source: 'profile', value: 'deptName' },
  { name: 'groups', source: 'groups', value: '' },
  { name: 'tier', source: 'constant', value: 'gold & <silver>' },
] as const;

/** Registers the SP from its own metadata XML through `POST /api/v1/sso/applications`. */
export async function registerSp(
  t: InteropTenant,
  name: string,
  metadataXml: string,
  saml: Record<string, unknown> = {},
): Promise<{ applicationId: string; saml: Record<string, unknown> }> {
  const res = await t.root.call('post', '/api/v1/sso/applications', {
    name,
    protocol: 'SAML',
    saml: {
      metadataXml,
      nameIdFormat: 'emailAddress',
      nameIdSource: 'email',
      attributes: RELEASED_ATTRIBUTES.map((a) => ({ ...a })),
      roleAttributeName: ROLE_ATTRIBUTE,
      ...saml,
    },
  });
  expect(res.status, `creating the SAML application from ${name}'s metadata: ${JSON.stringify(res.body)}`).to.equal(201);
  return res.body as { applicationId: string; saml: Record<string, unknown> };
}

export interface FlowResult {
  /** The protected page the SP finally served. */
  page: Page;
  /** The SAMLResponse Gatehouse posted to the ACS (base64-decoded). */
  responseXml: string;
  acsUrl: string;
  /** The URL that carried the SP's AuthnRequest to Gatehouse, and how. */
  authnRequestUrl: string;
  authnRequestBinding: 'redirect' | 'post';
  /** The AuthnRequest XML when it was POSTed (HTTP-POST binding). */
  authnRequestXml?: string;
}

/**
 * The SP-initiated browser flow: GET the SP's protected page → SP redirects (or posts) an
 * AuthnRequest to Gatehouse → login page → password → Gatehouse's auto-POST page → the SP's
 * ACS → back to the protected page.
 */
export async function signInThroughSp(
  browser: Browser,
  gh: RunningGatehouse,
  t: InteropTenant,
  protectedUrl: string,
  opts: { password?: string } = {},
): Promise<FlowResult> {
  const idpOrigin = new URL(gh.baseUrl).origin;
  const start = await browser.get(protectedUrl);
  // The SP's own hops end at Gatehouse's SSO endpoint: a redirect (HTTP-Redirect binding) or an
  // auto-POST page whose form posts the AuthnRequest there (HTTP-POST binding).
  const ssoEndpoint = `${gh.baseUrl}/tenants/${t.tenantId}/saml/idp/sso`;
  const atIdp = await browser.follow(start, { until: (u) => u.startsWith(idpOrigin) });
  let answer: Page;
  let authnRequestUrl: string;
  let authnRequestBinding: 'redirect' | 'post';
  let authnRequestXml: string | undefined;
  if (atIdp.location?.startsWith(ssoEndpoint)) {
    authnRequestUrl = atIdp.location;
    authnRequestBinding = 'redirect';
    answer = await browser.get(atIdp.location);
  } else if (atIdp.status === 200 && /<form\b/i.test(atIdp.text) && parseForm(atIdp.text, atIdp.url).action.startsWith(ssoEndpoint)) {
    const requestForm = parseForm(atIdp.text, atIdp.url);
    authnRequestUrl = requestForm.action;
    authnRequestBinding = 'post';
    authnRequestXml = Buffer.from(requestForm.fields.SAMLRequest ?? '', 'base64').toString('utf8');
    answer = await browser.submit(requestForm, atIdp.url);
  } else {
    throw new Error(
      `the SP did not send the browser to Gatehouse's SSO endpoint (${atIdp.status} ${atIdp.location})\n${atIdp.text.slice(0, 500)}`,
    );
  }
  const sso = await browser.follow(answer, { until: (u) => u.includes('/login?interaction=') });
  if (!sso.location?.includes('/login?interaction=')) {
    throw new Error(`Gatehouse did not start a login for the AuthnRequest (${sso.status} ${sso.location})\n${sso.text.slice(0, 800)}`);
  }
  const loginPage = await browser.get(sso.location);
  expect(loginPage.status, loginPage.text.slice(0, 500)).to.equal(200);
  const form = parseForm(loginPage.text, loginPage.url);
  const afterPassword = await browser.submit(form, loginPage.url, { loginId: t.user.loginId, password: opts.password ?? PASSWORD });
  if (afterPassword.status !== 303 || afterPassword.location?.includes('/login')) {
    throw new Error(
      `the password step did not complete (${afterPassword.status} ${afterPassword.location})\n${afterPassword.text.slice(0, 500)}`,
    );
  }
  const autoPost = await browser.follow(afterPassword);
  expect(autoPost.status, `Gatehouse's answer to the SP: ${autoPost.text.slice(0, 800)}`).to.equal(200);
  const post = parseForm(autoPost.text, autoPost.url);
  expect(post.method).to.equal('post');
  expect(post.fields).to.have.property('SAMLResponse');
  const responseXml = Buffer.from(post.fields.SAMLResponse!, 'base64').toString('utf8');
  const atAcs = await browser.submit(post, autoPost.url);
  const page = await browser.follow(atAcs);
  return { page, responseXml, acsUrl: post.action, authnRequestUrl, authnRequestBinding, ...(authnRequestXml ? { authnRequestXml } : {}) };
}

/**
 * The SP-initiated flow for a browser that already has a Gatehouse session: the AuthnRequest is
 * answered at once (no login page) with the auto-POST page to the SP's ACS.
 */
export async function enterSpWithSession(browser: Browser, gh: RunningGatehouse, protectedUrl: string): Promise<FlowResult> {
  const start = await browser.get(protectedUrl);
  const atIdp = await browser.follow(start, { until: (u) => u.startsWith(gh.baseUrl) });
  if (!atIdp.location?.startsWith(gh.baseUrl))
    throw new Error(`the SP did not send the browser to Gatehouse (${atIdp.status} ${atIdp.location})`);
  const autoPost = await browser.follow(await browser.get(atIdp.location));
  if (autoPost.status !== 200 || !autoPost.url.startsWith(gh.baseUrl) || autoPost.url.includes('/login')) {
    throw new Error(`Gatehouse did not answer from the live session (${autoPost.status} ${autoPost.url})\n${autoPost.text.slice(0, 600)}`);
  }
  const post = parseForm(autoPost.text, autoPost.url);
  const responseXml = Buffer.from(post.fields.SAMLResponse ?? '', 'base64').toString('utf8');
  const page = await browser.follow(await browser.submit(post, autoPost.url));
  return { page, responseXml, acsUrl: post.action, authnRequestUrl: atIdp.location, authnRequestBinding: 'redirect' };
}

/**
 * Drives a front-channel chain (single logout across SPs): follows redirects and submits
 * auto-POST forms until the browser lands on `target` or no step is left.
 */
export async function driveUntil(browser: Browser, first: Page, target: string, maxSteps = 24): Promise<Page> {
  let page = first;
  for (let i = 0; i < maxSteps; i++) {
    if (page.url === target && page.status === 200) return page;
    if (page.status >= 300 && page.status < 400 && page.location) page = await browser.get(page.location);
    else if (page.status === 200 && /<form\b/i.test(page.text)) page = await browser.submit(parseForm(page.text, page.url), page.url);
    else return page;
  }
  throw new Error(`no end after ${maxSteps} steps:\n${browser.history.join('\n')}`);
}
