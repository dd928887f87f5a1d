/**
 * Fixtures of the federated sign-in tests: the IdP is real, another tenant (B) of the same
 * Gatehouse acting as SAML IdP, with a SAML application whose entity ID and ACS are tenant A's SP
 * entity ID and ACS URL; tenant A's external IdP record points at B's IdP. A browser is a
 * supertest agent driving the real pages (B's login page through `signIn`).
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type request from 'supertest';
import { federationSpUrls } from '../../../src/federation/external-idp.model.js';
import { Application, samlProtocolKey } from '../../../src/sso/applications/application.model.js';
import { signIn, type SsoBrowser } from '../../helpers/sso-login.js';
import { BASE, pathOf, readAutoPost } from '../saml/sso-fixtures.js';

export const PASSWORD = 'correct horse battery staple 42';

export function idpEndpoints(idpTenantId: string): { entityId: string; ssoUrl: string } {
  return { entityId: `${BASE}/tenants/${idpTenantId}/saml/idp`, ssoUrl: `${BASE}/tenants/${idpTenantId}/saml/idp/sso` };
}

/** B's SAML application for A's SP (its entity ID and ACS are A's federation SP URLs). */
export async function seedIdpApplicationForSp(
  idp: { tenantId: string; accountId: number },
  spTenantId: string,
  saml: Record<string, unknown> = {},
): Promise<string> {
  const urls = federationSpUrls(BASE, spTenantId);
  const applicationId = randomUUID();
  await Application.create({
    accountId: idp.accountId,
    tenantId: idp.tenantId,
    applicationId,
    name: `federation-${spTenantId.slice(0, 8)}`,
    protocol: 'SAML',
    protocolKey: samlProtocolKey(urls.entityId),
    saml: {
      entityId: urls.entityId,
      acsEndpoints: [{ binding: 'HTTP-POST', location: urls.acsUrl, index: 0, isDefault: true }],
      nameIdFormat: 'emailAddress',
      nameIdSource: 'loginId',
      ...saml,
    },
  });
  return applicationId;
}

/** The hidden fields and action of Gatehouse's federation auto-POST page. */
export function readFederationPost(res: request.Response): { action: string; fields: Record<string, string>; csp: string } {
  const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const action = /<form id="federation-post" method="post" action="([^"]*)"/.exec(res.text)?.[1];
  if (action === undefined) throw new Error(`not the federation auto-POST page (status ${res.status}): ${res.text.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const m of res.text.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescape(m[1]!)] = unescape(m[2]!);
  return { action: unescape(action), fields, csp: String(res.headers['content-security-policy'] ?? '') };
}

export interface ToIdpResult {
  /** The IdP's auto-POST page answer: the SAMLResponse and RelayState bound for A's ACS. */
  acsAction: string;
  acsFields: Record<string, string>;
}

/**
 * From A's `/saml/login` answer to B's Response page: sends the AuthnRequest the way the browser
 * would (303 for Redirect, the auto-POST form for POST), signs in at B when B asks, and returns
 * B's auto-POST form towards A's ACS.
 */
export async function throughIdp(agent: SsoBrowser, start: request.Response, idpTenantId: string, loginId: string): Promise<ToIdpResult> {
  let res: request.Response;
  if (start.status === 303) {
    res = await agent.get(pathOf(String(start.headers.location)));
  } else {
    expect(start.status, start.text.slice(0, 300)).to.equal(200);
    const post = readFederationPost(start);
    res = await agent.post(pathOf(post.action)).type('form').send(post.fields);
  }
  for (let hops = 0; hops < 5 && res.status === 303; hops += 1) {
    const location = String(res.headers.location);
    if (location.includes(`/tenants/${idpTenantId}/login?interaction=`)) {
      const signedIn = await signIn(agent, idpTenantId, loginId, PASSWORD, { loginUrl: location });
      res = await agent.get(signedIn.location);
    } else {
      res = await agent.get(location);
    }
  }
  const post = readAutoPost(res);
  return { acsAction: post.action, acsFields: post.fields };
}

/** Posts B's Response to A's ACS as the IdP's page does (cross-site: the agent sends what it has). */
export function postToAcs(agent: SsoBrowser, r: ToIdpResult): request.Test {
  return agent.post(pathOf(r.acsAction)).type('form').send(r.acsFields);
}
