/**
 * The SAML applications of a tenant as the IdP sees them (issue 9 "SAML applications"): found by
 * the message's Issuer through `protocolKey = saml:{entityId}` (one indexed lookup), and the
 * AuthnRequest's ACS resolved against the SP's registered endpoints only (security-bar §2
 * "ACS URL / RelayState open redirect", SAML Profiles errata §4.1.4.1; case 1).
 */
import type { ChangeStamps } from '../../iam/change-stamps.js';
import { Application, samlProtocolKey, type StoredApplication } from '../../sso/applications/application.model.js';
import { tenantScope } from '../../sso/tenant/tenant-context.js';
import { SamlRejection } from './rejection.js';

export type SamlSettings = NonNullable<StoredApplication['saml']>;
export type SamlApplication = StoredApplication & { saml: SamlSettings };

export const POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';
export const REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';

export function spRef(app: Pick<SamlApplication, 'applicationId' | 'saml'>): { applicationId: string; entityId: string } {
  return { applicationId: app.applicationId, entityId: app.saml.entityId };
}

/**
 * SP lookups per process, tagged with the tenant's change stamp: every application change bumps
 * it (application.service.ts), so a process sees its own changes at once and other processes'
 * within one stamp poll (ARCHITECTURE.md "Storage": hot-path caches with explicit invalidation).
 */
const SP_CACHE_MAX = 2000;
const spCache = new Map<string, { stamp: number; app: StoredApplication | null }>();

async function lookupApplication(tenantId: string, issuer: string, stamps: ChangeStamps | undefined): Promise<StoredApplication | null> {
  const stamp = stamps ? await stamps.current(tenantScope(tenantId)) : undefined;
  const key = `${tenantId}|${issuer}`;
  const hit = spCache.get(key);
  if (stamp !== undefined && hit && hit.stamp === stamp) return hit.app;
  const app = await Application.findOne({ tenantId, protocolKey: samlProtocolKey(issuer) }).lean<StoredApplication>();
  if (stamp !== undefined) {
    if (spCache.size >= SP_CACHE_MAX && !spCache.has(key)) spCache.delete(spCache.keys().next().value as string);
    spCache.set(key, { stamp, app });
  }
  return app;
}

/** The registered SAML application whose entity ID is `issuer`, or a rejection. */
export async function findServiceProvider(tenantId: string, issuer: string | null, stamps?: ChangeStamps): Promise<SamlApplication> {
  if (!issuer || issuer.length > 1024) throw new SamlRejection('unknownSp', 'no Issuer');
  const app = await lookupApplication(tenantId, issuer, stamps);
  if (!app || app.protocol !== 'SAML' || !app.saml) throw new SamlRejection('unknownSp', 'Issuer is not a registered SP');
  const sp = app as SamlApplication;
  // Metadata `validUntil` (security-bar §2 "Certificate expiry"): an SP whose metadata expired is
  // no longer trusted until an admin re-imports it.
  if (sp.saml.metadataValidUntil && sp.saml.metadataValidUntil.getTime() <= Date.now()) {
    throw new SamlRejection('spMetadataExpired', 'the SP metadata is past its validUntil', spRef(sp));
  }
  return sp;
}

export async function findSamlApplicationById(tenantId: string, applicationId: string): Promise<SamlApplication | null> {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(applicationId)) return null;
  const app = await Application.findOne({ tenantId, applicationId }).lean<StoredApplication>();
  if (!app || app.protocol !== 'SAML' || !app.saml) return null;
  return app as SamlApplication;
}

export interface AcsRequest {
  index: number | null;
  url: string | null;
  protocolBinding: string | null;
}

/**
 * The ACS to answer at. Responses are only ever POSTed (Web SSO Profile §4.1.2: HTTP-Redirect
 * cannot carry a Response), so only HTTP-POST endpoints qualify:
 * - `AssertionConsumerServiceIndex`: the endpoint registered under that index;
 * - `AssertionConsumerServiceURL`: an endpoint whose location is exactly that string (no
 *   normalization: a differing slash, case, port, `@` or `%2e` is another URL; case 1);
 * - neither: the default endpoint (`isDefault`, else the lowest index).
 */
export function chooseAcs(sp: SamlApplication, req: AcsRequest): string {
  if (req.protocolBinding !== null && req.protocolBinding !== POST_BINDING) {
    throw new SamlRejection('bindingUnsupported', 'only the HTTP-POST response binding is offered', spRef(sp));
  }
  const post = sp.saml.acsEndpoints.filter((e) => e.binding === 'HTTP-POST');
  if (req.index !== null) {
    if (req.url !== null) throw new SamlRejection('malformed', 'AssertionConsumerServiceIndex and URL are exclusive', spRef(sp));
    const byIndex = post.find((e) => e.index === req.index);
    if (!byIndex) throw new SamlRejection('acsNotRegistered', 'no registered ACS has this index', spRef(sp));
    return byIndex.location;
  }
  if (req.url !== null) {
    const exact = post.find((e) => e.location === req.url);
    if (!exact) throw new SamlRejection('acsNotRegistered', 'the ACS URL is not registered for this SP', spRef(sp));
    return exact.location;
  }
  return defaultAcs(sp);
}

export function defaultAcs(sp: SamlApplication): string {
  const post = sp.saml.acsEndpoints.filter((e) => e.binding === 'HTTP-POST');
  const chosen = post.find((e) => e.isDefault) ?? [...post].sort((a, b) => (a.index ?? 0) - (b.index ?? 0))[0];
  if (!chosen) throw new SamlRejection('acsNotRegistered', 'the SP has no HTTP-POST ACS', spRef(sp));
  return chosen.location;
}
