/**
 * `/api/v1/sso/tenant/saml-idp/certificates…`: the tenant's SAML signing certificates, gated by
 * the seed's SP-certificate actions (S4; resource type Tenant, so every route authorizes against
 * the tenant's NRN and tags). In Ncloud the "SP certificate" is the tenant's own key pair; in
 * Gatehouse the same key pair signs as IdP towards SAML applications and as SP towards an
 * external IdP (README "SAML certificates").
 *
 * The notification routes come before `/:certificateId` so `notification` is never read as an id.
 */
import { defineRoute, type AdminDeps, type AdminRouteSpec } from '../../http/admin-route.js';
import { tenantResourceOf } from '../tenant/tenant.service.js';
import { certificateIdParams, createCertificateBody, notificationSettingBody, type CreateCertificateInput } from './certificate.schemas.js';
import * as service from './certificate.service.js';

const BASE = '/tenant/saml-idp/certificates';
const tenantResource = ({ accountId }: { accountId: number }) => tenantResourceOf(accountId);
const certDeps = (deps: AdminDeps): service.CertificateDeps => ({ keyring: deps.keyring, stamps: deps.stamps });

export const certificateRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: BASE,
    action: 'SSO:view/getCertificate',
    summary: 'List the tenant’s SAML signing certificates (the active one first)',
    resource: tenantResource,
    handler: ({ accountId }) => service.listCertificates(accountId),
  }),
  defineRoute({
    method: 'post',
    path: BASE,
    action: 'SSO:Change/createSPCertificate',
    summary: 'Create a signing certificate (RSA 2048/3072/4096, 1-3650 days; at most 2 per tenant; the first one is active)',
    body: createCertificateBody,
    resource: tenantResource,
    status: 201,
    handler: ({ accountId, body, deps }) => service.createCertificate(accountId, body as CreateCertificateInput, certDeps(deps)),
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/notification`,
    action: 'SSO:view/getCertificate',
    summary: 'Expiry notification setting: recipients and lead days',
    resource: tenantResource,
    handler: ({ accountId }) => service.getNotificationSetting(accountId),
  }),
  defineRoute({
    method: 'put',
    path: `${BASE}/notification`,
    action: 'SSO:Change/manageSPNotificationSetting',
    summary: 'Set who is told before a certificate expires (≤20 e-mail addresses) and how many days before',
    body: notificationSettingBody,
    resource: tenantResource,
    handler: ({ accountId, body }) => service.setNotificationSetting(accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:certificateId`,
    action: 'SSO:View/getSpCertificateDetail',
    summary: 'Get a signing certificate (never its private key)',
    params: certificateIdParams,
    resource: tenantResource,
    handler: ({ accountId, params }) => service.getCertificate(accountId, params.certificateId),
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/:certificateId/download`,
    action: 'SSO:Change/downloadSPCertificate',
    summary: 'Download a certificate (base64 DER and PEM; the private key never leaves Gatehouse)',
    params: certificateIdParams,
    resource: tenantResource,
    handler: ({ accountId, params }) => service.downloadCertificate(accountId, params.certificateId),
  }),
  defineRoute({
    method: 'post',
    path: `${BASE}/:certificateId/activate`,
    action: 'SSO:Change/activateSPCertificate',
    summary: 'Make a certificate the one that signs; the other stays published as the next one (400 InvalidState if already active)',
    params: certificateIdParams,
    resource: tenantResource,
    handler: ({ accountId, params, deps }) => service.activateCertificate(accountId, params.certificateId, certDeps(deps)),
  }),
  defineRoute({
    method: 'delete',
    path: `${BASE}/:certificateId`,
    action: 'SSO:Change/deleteSPCertificate',
    summary: 'Delete an inactive certificate (400 InvalidState for the active one)',
    params: certificateIdParams,
    resource: tenantResource,
    status: 204,
    handler: ({ accountId, params, deps }) => service.deleteCertificate(accountId, params.certificateId, certDeps(deps)),
  }),
];
