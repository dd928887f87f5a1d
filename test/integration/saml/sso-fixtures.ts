/**
 * Shared fixtures of the SAML IdP flow tests: a tenant with users, SAML applications (rows made
 * through the model, as the application API is another file's subject), live SSO sessions, and
 * `@node-saml/node-saml` configured as each application's SP.
 */
import { randomUUID } from 'node:crypto';
import { SAML, ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import type { Express } from 'express';
import request from 'supertest';
import { createSsoSession, ssoSessionCookieName } from '../../../src/auth/sso-session.js';
import { getTenantSigningKeys } from '../../../src/saml/keys.js';
import { Application, samlProtocolKey } from '../../../src/sso/applications/application.model.js';
import { Tenant } from '../../../src/sso/tenant/tenant.model.js';
import { SsoUser } from '../../../src/sso/users/user.model.js';
import { createSelfSigned, type CertificateAndKey } from '../../../src/shared/x509.js';
import { testConfig, testKeyring } from '../../helpers/app.js';
import { verifyWithXmlsec1, xmlsec1Available } from '../../helpers/xmlsec.js';

export const config = testConfig();
export const BASE = config.baseUrl;

export interface TestTenant {
  tenantId: string;
  accountId: number;
  alias: string;
}

export async function seedTenant(accountId: number): Promise<TestTenant> {
  const tenantId = randomUUID();
  const alias = `s${accountId}`;
  await Tenant.create({ accountId, tenantId, tenantAlias: alias, aliasKey: alias, termsAcceptedAt: new Date() });
  return { tenantId, accountId, alias };
}

export async function seedUser(t: TestTenant, loginId: string, profile: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<string> {
  const userId = randomUUID();
  await SsoUser.create({ accountId: t.accountId, tenantId: t.tenantId, userId, loginId, loginIdKey: loginId.toLowerCase(), userProfile: { email: loginId, ...profile }, ...extra });
  return userId;
}

/** A live session cookie for the user (the sign-in pages are another file's subject). */
export async function sessionCookie(t: TestTenant, userId: string, acr: 'pwd' | 'mfa' = 'pwd'): Promise<{ cookie: string; sessionId: string }> {
  const { token, session } = await createSsoSession({
    accountId: t.accountId,
    tenantId: t.tenantId,
    userId,
    credentialGeneration: 0,
    amr: acr === 'mfa' ? ['pwd', 'otp', 'mfa'] : ['pwd'],
    acr,
    idleTimeoutSec: 3600,
    clientIp: '127.0.0.1',
  });
  return { cookie: `${ssoSessionCookieName(config, t.tenantId)}=${token}`, sessionId: session.sessionId };
}

export async function tenantCertificate(t: TestTenant): Promise<string> {
  return (await getTenantSigningKeys(t.tenantId, t.accountId, testKeyring())).current.certPem;
}

export interface TestSp {
  applicationId: string;
  entityId: string;
  acs: string;
  slo: string;
  signing: CertificateAndKey;
  encryption: CertificateAndKey;
}

let spKeys: { signing: CertificateAndKey; encryption: CertificateAndKey } | undefined;

/** One key pair per run for every SP (RSA generation is slow on a shared 2-core box). */
export async function spKeyPairs(): Promise<{ signing: CertificateAndKey; encryption: CertificateAndKey }> {
  spKeys ??= {
    signing: await createSelfSigned({ commonName: 'test sp signing', validDays: 30 }),
    encryption: await createSelfSigned({ commonName: 'test sp encryption', validDays: 30 }),
  };
  return spKeys;
}

export async function seedSamlApp(t: TestTenant, name: string, saml: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<TestSp> {
  const keys = await spKeyPairs();
  const entityId = `https://${name}.example.test/sp`;
  const acs = `https://${name}.example.test/acs`;
  const slo = `https://${name}.example.test/slo`;
  const applicationId = randomUUID();
  await Application.create({
    accountId: t.accountId,
    tenantId: t.tenantId,
    applicationId,
    name,
    protocol: 'SAML',
    protocolKey: samlProtocolKey(entityId),
    saml: {
      entityId,
      acsEndpoints: [
        { binding: 'HTTP-POST', location: acs, index: 0, isDefault: true },
        { binding: 'HTTP-POST', location: `${acs}/second`, index: 1, isDefault: false },
      ],
      sloUrl: slo,
      sloBinding: 'HTTP-Redirect',
      ...saml,
    },
    ...extra,
  });
  return { applicationId, entityId, acs, slo, ...keys };
}

export function idpSsoUrl(t: TestTenant): string {
  return `${BASE}/tenants/${t.tenantId}/saml/idp/sso`;
}

export function nodeSamlSp(t: TestTenant, sp: TestSp, idpCert: string | string[], opts: Partial<SamlConfig> = {}): SAML {
  return new SAML({
    entryPoint: idpSsoUrl(t),
    logoutUrl: `${BASE}/tenants/${t.tenantId}/saml/idp/slo`,
    issuer: sp.entityId,
    callbackUrl: sp.acs,
    audience: sp.entityId,
    idpIssuer: `${BASE}/tenants/${t.tenantId}/saml/idp`,
    idpCert,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.always,
    signatureAlgorithm: 'sha256',
    ...opts,
  });
}

/** The path and query of a URL on the IdP (supertest takes paths). */
export function pathOf(url: string): string {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
}

const unescapeHtml = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

export interface AutoPost {
  action: string;
  fields: Record<string, string>;
  csp: string;
}

/** The auto-POST page's form: action and hidden fields, HTML-unescaped. */
export function readAutoPost(res: request.Response): AutoPost {
  const html = res.text;
  const action = /<form id="saml-post" method="post" action="([^"]*)"/.exec(html)?.[1];
  if (action === undefined) throw new Error(`not an auto-POST page (status ${res.status}): ${html.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)) fields[unescapeHtml(m[1]!)] = unescapeHtml(m[2]!);
  return { action: unescapeHtml(action), fields, csp: String(res.headers['content-security-policy'] ?? '') };
}

export function decodeResponse(samlResponse: string): string {
  return Buffer.from(samlResponse, 'base64').toString('utf8');
}

/** Extract `SAMLRequest` from node-saml's POST form. */
export function formFields(html: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const m of html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"/g)) fields[unescapeHtml(m[1]!)] = unescapeHtml(m[2]!);
  return fields;
}

export type TestAgent = ReturnType<typeof request.agent>;

export function agentFor(app: Express): TestAgent {
  return request.agent(app);
}

/**
 * Security-bar case 8 on an emitted message (base64): every signature in it verifies with xmlsec1
 * pinned to `certPem`. Where xmlsec1 is missing (.ci/run installs it) node-saml's own
 * verification in each test still checks the signature.
 */
export async function expectXmlsecVerified(base64Message: string, certPem: string): Promise<void> {
  if (!xmlsec1Available()) return;
  const xml = decodeResponse(base64Message);
  const result = await verifyWithXmlsec1(xml, certPem, {
    idAttrs: ['urn:oasis:names:tc:SAML:2.0:assertion:Assertion', 'urn:oasis:names:tc:SAML:2.0:protocol:Response', 'urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest', 'urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse'],
  });
  if (!result.ok) throw new Error(`xmlsec1 did not verify the message with the tenant certificate: ${result.output}`);
}
