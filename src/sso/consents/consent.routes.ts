/**
 * `/api/v1/sso/consents…`: the consent status of seed S4 (`view/getConsentStatusList`,
 * `view/getConsentStatusDetail`). Both actions have resource type `-` in the catalog, so they are
 * authorized against `*`; the detail, whose catalog row allows `ncp:resourceTag`, carries the tags
 * of the consent's application, so a policy can limit who reads consents of tagged applications.
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { findApplication } from '../applications/application.service.js';
import { findTenantOfAccount } from '../tenant/tenant-context.js';
import { consentIdParams, listConsentsQuery } from './consent.schemas.js';
import * as service from './consent.service.js';

async function consentResource({ accountId, params }: { accountId: number; params: z.infer<typeof consentIdParams> }) {
  const tenant = await findTenantOfAccount(accountId);
  const consent = tenant ? await service.findConsentById(tenant.tenantId, params.consentId) : null;
  const app = tenant && consent ? await findApplication(tenant.tenantId, consent.applicationId) : null;
  return { nrn: '*', tags: app?.tags ?? [] };
}

export const consentRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/consents',
    action: 'SSO:view/getConsentStatusList',
    summary: 'List consents (filter by applicationId, userId, status CONSENTED|WITHDRAWN), newest first',
    query: listConsentsQuery,
    handler: ({ accountId, query }) => service.listConsents(accountId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/consents/:consentId',
    action: 'SSO:view/getConsentStatusDetail',
    summary: 'Get one consent: what the user agreed to, in which language, when, and whether it was withdrawn',
    params: consentIdParams,
    resource: consentResource,
    handler: ({ accountId, params }) => service.getConsent(accountId, params.consentId),
  }),
];
