/**
 * `/api/v1/sso/applications…`: one route per Application action of seed S4, each gated by
 * exactly the action and resource type the table names (`nrn:PUB:SSO::{memberNo}:Application/{id}`;
 * lists and creates on `*`). Renewing the client secret (Ncloud `renewalClientSecret`) and the
 * assigned users and groups are edits of the application: `change/updateApplication`; reading the
 * assigned principals is `view/getApplicationDetail`. `view/accessApplication` is not an admin
 * route: the protocols check it when a sub account signs in to an application.
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { findTenantOfAccount, ssoNrn } from '../tenant/tenant-context.js';
import {
  applicationIdParams,
  createApplicationBody,
  listApplicationsQuery,
  listPrincipalsQuery,
  principalsBody,
  tagBody,
  untagBody,
  updateApplicationBody,
} from './application.schemas.js';
import * as service from './application.service.js';

type IdParams = z.infer<typeof applicationIdParams>;

/** The application named in the path, with its tags for `ncp:resourceTag` conditions. */
export async function applicationResource({ accountId, params }: { accountId: number; params: IdParams }) {
  const tenant = await findTenantOfAccount(accountId);
  const entity = tenant ? await service.findApplication(tenant.tenantId, params.applicationId) : null;
  return { nrn: ssoNrn(accountId, 'Application', params.applicationId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

export const applicationRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/applications',
    action: 'SSO:view/getApplicationList',
    summary: 'List applications (name prefix search, protocol filter)',
    query: listApplicationsQuery,
    handler: ({ accountId, query }) => service.listApplications(accountId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/applications',
    action: 'SSO:change/createApplication',
    summary: 'Create an OIDC (OAUTH2) or SAML application; an OIDC client secret is returned once, in this answer',
    body: createApplicationBody,
    requestTags: (b) => b.tags,
    status: 201,
    handler: ({ accountId, body, deps }) => service.createApplication(accountId, body, deps),
  }),
  defineRoute({
    method: 'get',
    path: '/applications/:applicationId',
    action: 'SSO:view/getApplicationDetail',
    summary: 'Get an application (never its client secret)',
    params: applicationIdParams,
    resource: applicationResource,
    handler: ({ accountId, params }) => service.getApplication(accountId, params.applicationId),
  }),
  defineRoute({
    method: 'put',
    path: '/applications/:applicationId',
    action: 'SSO:change/updateApplication',
    summary: 'Change an application: the fields given replace the stored ones (protocol settings merged field by field, then checked as a whole)',
    params: applicationIdParams,
    body: updateApplicationBody,
    resource: applicationResource,
    handler: ({ accountId, params, body, deps }) => service.updateApplication(accountId, params.applicationId, body, deps),
  }),
  defineRoute({
    method: 'delete',
    path: '/applications/:applicationId',
    action: 'SSO:change/deleteApplication',
    summary: 'Delete an application (its consents end, its assignments go)',
    params: applicationIdParams,
    resource: applicationResource,
    status: 204,
    handler: ({ accountId, params, deps }) => service.deleteApplication(accountId, params.applicationId, deps),
  }),
  defineRoute({
    method: 'post',
    path: '/applications/:applicationId/client-secret',
    action: 'SSO:change/updateApplication',
    summary: 'Issue a new client secret (Ncloud renewalClientSecret); the old one stops working; the new one is shown once',
    params: applicationIdParams,
    resource: applicationResource,
    handler: ({ accountId, params, deps }) => service.renewClientSecret(accountId, params.applicationId, deps),
  }),
  defineRoute({
    method: 'get',
    path: '/applications/:applicationId/principals',
    action: 'SSO:view/getApplicationDetail',
    summary: 'List the users and groups assigned to the application (used when accessScope is ASSIGNED)',
    params: applicationIdParams,
    query: listPrincipalsQuery,
    resource: applicationResource,
    handler: ({ accountId, params, query }) => service.listApplicationPrincipals(accountId, params.applicationId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/applications/:applicationId/principals',
    action: 'SSO:change/updateApplication',
    summary: 'Assign users and groups to the application',
    params: applicationIdParams,
    body: principalsBody,
    resource: applicationResource,
    handler: ({ accountId, params, body }) => service.addApplicationPrincipals(accountId, params.applicationId, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/applications/:applicationId/principals',
    action: 'SSO:change/updateApplication',
    summary: 'Unassign users and groups from the application',
    params: applicationIdParams,
    body: principalsBody,
    resource: applicationResource,
    handler: ({ accountId, params, body }) => service.removeApplicationPrincipals(accountId, params.applicationId, body),
  }),
  defineRoute({
    method: 'post',
    path: '/applications/:applicationId/tags',
    action: 'SSO:change/tagApplication',
    summary: 'Add tags to an application (a key already present takes the new value)',
    params: applicationIdParams,
    body: tagBody,
    resource: applicationResource,
    requestTags: (b) => b.tags,
    handler: ({ accountId, params, body }) => service.tagApplication(accountId, params.applicationId, body.tags),
  }),
  defineRoute({
    method: 'delete',
    path: '/applications/:applicationId/tags',
    action: 'SSO:change/untagApplication',
    summary: 'Remove tags from an application by key',
    params: applicationIdParams,
    body: untagBody,
    resource: applicationResource,
    requestTags: (b) => b.tagKeys.map((key) => ({ key, value: '' })),
    handler: ({ accountId, params, body }) => service.untagApplication(accountId, params.applicationId, body.tagKeys),
  }),
];
