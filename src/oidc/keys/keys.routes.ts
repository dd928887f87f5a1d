/**
 * Admin API of the tenant's OpenID Provider signing keys (issue 8 "Keys": "a CLI command and an
 * admin action to rotate"):
 *   GET  /tenant/oidc/signing-keys         SSO:view/getTenantDetail   the published keys and their states
 *   POST /tenant/oidc/signing-keys/rotate  SSO:change/updateTenant    next → current → retired, new next
 *
 * Why these actions: the catalog has no key or certificate action for the OIDC provider (the
 * certificate actions are the SAML IdP's and the external IdP's), and the signing keys are part of
 * the tenant's configuration, as a Keycloak realm's keys are managed with the realm; reading them
 * is reading the tenant. Rotation is a Change, so it is audited with the tenant's NRN.
 */
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { requireTenant } from '../../sso/tenant/tenant-context.js';
import { tenantResourceOf } from '../../sso/tenant/tenant.service.js';
import { loadTenantKeys, rotateSigningKeys, type PublicKeyInfo, type RotationReport } from './signing-keys.js';

const tenantResource = ({ accountId }: { accountId: number }) => tenantResourceOf(accountId);

export const oidcKeyRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/tenant/oidc/signing-keys',
    action: 'SSO:view/getTenantDetail',
    summary: 'List the OpenID Provider signing keys of the tenant (public halves: kid, alg, state, dates)',
    resource: tenantResource,
    handler: async ({ accountId, deps }): Promise<{ keys: PublicKeyInfo[] }> => {
      const tenant = await requireTenant(accountId);
      return { keys: (await loadTenantKeys(tenant, deps.keyring)).keys };
    },
  }),
  defineRoute({
    method: 'post',
    path: '/tenant/oidc/signing-keys/rotate',
    action: 'SSO:change/updateTenant',
    summary: 'Rotate the OpenID Provider signing keys: the published next keys start signing, the current ones stay published until their tokens expire',
    resource: tenantResource,
    handler: async ({ accountId, deps }): Promise<RotationReport & { nrn: string }> => {
      const tenant = await requireTenant(accountId);
      const report = await rotateSigningKeys(tenant, { keyring: deps.keyring, stamps: deps.stamps });
      return { ...report, nrn: (await tenantResourceOf(accountId)).nrn };
    },
  }),
];
