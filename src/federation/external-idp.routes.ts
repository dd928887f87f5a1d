/**
 * `/api/v1/sso/tenant/saml-idp…`: the tenant's external IdP (reference/ncloud-model.md §1
 * "External IdP", "SP data"; seed S4). Resource type Tenant: every route authorizes against the
 * tenant's NRN and tags (`tenantResourceOf`), as the SP-certificate routes do.
 *
 * Actions: the catalog has one change action for the IdP itself, `change/manageExternalIDP`, so
 * create, replace, delete, the status switch and the metadata parse all need it; reading needs
 * `view/getTenantDetail` (the IdP is part of the tenant's detail in Ncloud's console). The SP data
 * and SP metadata need `view/getServiceProviderDataDetail`; the IdP certificates have their own
 * actions (list and notification read: `view/getCertificate`).
 *
 * Static segments (`notification`, `metadata/parse`, `sp-data`, …) are declared before
 * `/:certificateId` so they are never read as ids.
 */
import { defineRoute, type AdminDeps, type AdminRouteSpec } from '../http/admin-route.js';
import { tenantResourceOf } from '../sso/tenant/tenant.service.js';
import {
  addIdpCertificateBody,
  createExternalIdpBody,
  externalIdpStatusBody,
  idpCertificateIdParams,
  idpNotificationSettingBody,
  parseMetadataBody,
  updateExternalIdpBody,
  type AddIdpCertificateInput,
  type CreateExternalIdpInput,
  type UpdateExternalIdpInput,
} from './external-idp.schemas.js';
import * as service from './external-idp.service.js';
import { SP_METADATA_CONTENT_TYPE } from './sp-metadata.js';

const BASE = '/tenant/saml-idp';
const CERTS = `${BASE}/idp-certificates`;
const tenantResource = ({ accountId }: { accountId: number }) => tenantResourceOf(accountId);
const idpDeps = (deps: AdminDeps): service.ExternalIdpDeps => ({ config: deps.config, keyring: deps.keyring, stamps: deps.stamps });

export const externalIdpRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'post',
    path: BASE,
    action: 'SSO:change/manageExternalIDP',
    summary: 'Register the tenant’s external SAML IdP (one per tenant; 409 if it exists; 1-2 IdP certificates)',
    body: createExternalIdpBody,
    resource: tenantResource,
    status: 201,
    handler: ({ accountId, body, deps }) => service.createExternalIdp(accountId, body as CreateExternalIdpInput, idpDeps(deps)),
  }),
  defineRoute({
    method: 'get',
    path: BASE,
    action: 'SSO:view/getTenantDetail',
    summary: 'Get the tenant’s external IdP',
    resource: tenantResource,
    handler: ({ accountId }) => service.getExternalIdp(accountId),
  }),
  defineRoute({
    method: 'put',
    path: BASE,
    action: 'SSO:change/manageExternalIDP',
    summary: 'Replace the external IdP’s settings (issuer, URLs, binding, request signing, algorithms; certificates and status have their own routes)',
    body: updateExternalIdpBody,
    resource: tenantResource,
    handler: ({ accountId, body, deps }) => service.updateExternalIdp(accountId, body as UpdateExternalIdpInput, idpDeps(deps)),
  }),
  defineRoute({
    method: 'delete',
    path: BASE,
    action: 'SSO:change/manageExternalIDP',
    summary: 'Delete the external IdP (federated sign-in stops)',
    resource: tenantResource,
    status: 204,
    handler: ({ accountId, deps }) => service.deleteExternalIdp(accountId, idpDeps(deps)),
  }),
  defineRoute({
    method: 'put',
    path: `${BASE}/status`,
    action: 'SSO:change/manageExternalIDP',
    summary: 'Enable or disable sign-in through the external IdP without losing its configuration',
    body: externalIdpStatusBody,
    resource: tenantResource,
    handler: ({ accountId, body, deps }) => service.setExternalIdpStatus(accountId, body.status, idpDeps(deps)),
  }),
  defineRoute({
    method: 'post',
    path: `${BASE}/metadata/parse`,
    action: 'SSO:change/manageExternalIDP',
    summary: 'Read an IdP’s SAML metadata into the fields a create takes (stores nothing)',
    body: parseMetadataBody,
    resource: tenantResource,
    handler: ({ accountId, body }) => service.parseMetadata(accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/sp-data`,
    action: 'SSO:view/getServiceProviderDataDetail',
    summary: 'The tenant’s SP entity ID and endpoints to register at the external IdP',
    resource: tenantResource,
    handler: ({ accountId, deps }) => service.getSpData(accountId, deps),
  }),
  defineRoute({
    method: 'get',
    path: `${BASE}/sp-metadata`,
    action: 'SSO:view/getServiceProviderDataDetail',
    summary: 'The tenant’s SAML SP metadata (application/samlmetadata+xml) to upload to the external IdP',
    resource: tenantResource,
    // The one admin route whose answer is not JSON: the handler writes the XML itself and returns
    // nothing (the pipeline leaves a response already sent alone).
    handler: async ({ accountId, deps, req }) => {
      const xml = await service.getSpMetadata(accountId, idpDeps(deps));
      const res = req.res;
      if (!res) throw new Error('no response object on the request');
      res.status(200).set('Content-Type', SP_METADATA_CONTENT_TYPE).set('Content-Disposition', 'attachment; filename="gatehouse-sp-metadata.xml"').send(xml);
      return undefined;
    },
  }),
  defineRoute({
    method: 'get',
    path: CERTS,
    action: 'SSO:view/getCertificate',
    summary: 'List the external IdP’s signing certificates',
    resource: tenantResource,
    handler: ({ accountId }) => service.listIdpCertificates(accountId),
  }),
  defineRoute({
    method: 'post',
    path: CERTS,
    action: 'SSO:Change/addIdPCertificate',
    summary: 'Add an IdP signing certificate (X.509 PEM, RSA ≥2048 or EC P-256/P-384, not expired; at most 2; 409 for a duplicate)',
    body: addIdpCertificateBody,
    resource: tenantResource,
    status: 201,
    handler: ({ accountId, body, deps }) => service.addIdpCertificate(accountId, (body as AddIdpCertificateInput).certificatePem, idpDeps(deps)),
  }),
  defineRoute({
    method: 'get',
    path: `${CERTS}/notification`,
    action: 'SSO:view/getCertificate',
    summary: 'IdP certificate expiry notification setting: recipients and lead days',
    resource: tenantResource,
    handler: ({ accountId }) => service.getIdpNotificationSetting(accountId),
  }),
  defineRoute({
    method: 'put',
    path: `${CERTS}/notification`,
    action: 'SSO:Change/manageIdPNotificationSetting',
    summary: 'Set who is told before an IdP certificate expires (≤20 e-mail addresses) and how many days before',
    body: idpNotificationSettingBody,
    resource: tenantResource,
    handler: ({ accountId, body, deps }) => service.setIdpNotificationSetting(accountId, body, idpDeps(deps)),
  }),
  defineRoute({
    method: 'get',
    path: `${CERTS}/:certificateId`,
    action: 'SSO:view/getIdPCertificateDetail',
    summary: 'Get an IdP certificate (PEM, subject, fingerprint, validity)',
    params: idpCertificateIdParams,
    resource: tenantResource,
    handler: ({ accountId, params }) => service.getIdpCertificate(accountId, params.certificateId),
  }),
  defineRoute({
    method: 'delete',
    path: `${CERTS}/:certificateId`,
    action: 'SSO:Change/deleteIdPCertificate',
    summary: 'Delete an IdP certificate (400 InvalidState for the last one)',
    params: idpCertificateIdParams,
    resource: tenantResource,
    status: 204,
    handler: ({ accountId, params, deps }) => service.deleteIdpCertificate(accountId, params.certificateId, idpDeps(deps)),
  }),
];
