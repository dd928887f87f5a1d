/**
 * `/api/v1/sso/tenant…`: the tenant, its login settings, organization integration, attribute
 * mapper ("user profile settings"), tags and the permission-set policy list. Each route is gated
 * by exactly the seed S4 action named, on the tenant's NRN `nrn:PUB:SSO::{memberNo}:Tenant/{id}`
 * with its tags (`ncp:resourceTag`), or on `*` for the actions whose resource type is `-`
 * (createTenant, getAccountList). The tenant is always the caller's account's own: no route
 * takes a tenant id.
 */
import type { AdminDeps, AdminRouteSpec } from '../../http/admin-route.js';
import { defineRoute } from '../../http/admin-route.js';
import { updateAttributeMapperBody } from './attribute-mapper.js';
import { updateLoginSettingsBody } from './login-settings.js';
import {
  accountListQuery,
  createTenantBody,
  organizationBody,
  policyListQuery,
  tagTenantBody,
  untagTenantParams,
  updateTenantBody,
} from './tenant.schemas.js';
import * as service from './tenant.service.js';

/** The caller's tenant as the authorized resource (`Tenant/none` when the account has none: the handler then answers 404). */
const tenantResource = ({ accountId }: { accountId: number }) => service.tenantResourceOf(accountId);

const tenantDeps = (deps: AdminDeps): service.TenantDeps => ({ stamps: deps.stamps, baseUrl: deps.config.baseUrl });

export const tenantRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/tenant',
    action: 'SSO:change/createTenant',
    summary: 'Create the account’s tenant (one per account; requires termsAgreed: true)',
    body: createTenantBody,
    status: 201,
    handler: ({ accountId, body, deps }) => service.createTenant(accountId, body, tenantDeps(deps)),
  }),
  defineRoute({
    method: 'get',
    path: '/tenant',
    action: 'SSO:view/getTenantDetail',
    summary: 'Get the tenant, with its login settings and endpoints',
    resource: tenantResource,
    handler: async ({ resource, deps }) => service.getTenant(resource.entity, deps.config.baseUrl),
  }),
  defineRoute({
    method: 'put',
    path: '/tenant',
    action: 'SSO:change/updateTenant',
    summary: 'Change the tenant alias, member login policy or description',
    body: updateTenantBody,
    resource: tenantResource,
    handler: ({ accountId, body, deps }) => service.updateTenant(accountId, body, tenantDeps(deps)),
  }),
  defineRoute({
    method: 'delete',
    path: '/tenant',
    action: 'SSO:change/deleteTenant',
    summary: 'Delete the tenant (refused while it still has users, groups, permission sets, assignments, IP ACLs or applications)',
    resource: tenantResource,
    status: 204,
    handler: ({ accountId, deps }) => service.deleteTenant(accountId, tenantDeps(deps)),
  }),
  defineRoute({
    method: 'put',
    path: '/tenant/login-settings',
    action: 'SSO:change/updateLoginSetting',
    summary: 'Change login settings (fields not given keep their values)',
    body: updateLoginSettingsBody,
    resource: tenantResource,
    handler: ({ accountId, body, deps }) => service.updateLoginSettings(accountId, body, tenantDeps(deps)),
  }),
  defineRoute({
    method: 'post',
    path: '/tenant/organization',
    action: 'SSO:change/updateOrganizationEnable',
    summary: 'Turn organization integration on or off',
    body: organizationBody,
    resource: tenantResource,
    handler: ({ accountId, body, deps }) => service.setOrganizationEnabled(accountId, body.enable, tenantDeps(deps)),
  }),
  defineRoute({
    method: 'get',
    path: '/tenant/accounts',
    action: 'SSO:view/getAccountList',
    summary: 'Accounts assignments may target: the organization’s when integration is on, otherwise this account',
    query: accountListQuery,
    handler: ({ accountId, query }) => service.listTenantAccounts(accountId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/tenant/saml-idp/profile-mapping',
    action: 'SSO:view/getAttributeMapper',
    summary: 'Get the attribute mapper (user profile settings)',
    resource: tenantResource,
    handler: async ({ resource }) => service.getAttributeMapper(resource.entity),
  }),
  defineRoute({
    method: 'put',
    path: '/tenant/saml-idp/profile-mapping',
    action: 'SSO:change/updateAttributeMapper',
    summary: 'Set the mapping of one or more profile fields',
    body: updateAttributeMapperBody,
    resource: tenantResource,
    handler: ({ accountId, body, deps }) => service.updateAttributeMapper(accountId, body, tenantDeps(deps)),
  }),
  defineRoute({
    method: 'post',
    path: '/tenant/tags',
    action: 'SSO:change/tagTenant',
    summary: 'Add tags or change their values (at most 20)',
    body: tagTenantBody,
    resource: tenantResource,
    requestTags: (b) => b.tags,
    handler: ({ accountId, body, deps }) => service.tagTenant(accountId, body.tags, tenantDeps(deps)),
  }),
  defineRoute({
    method: 'delete',
    path: '/tenant/tags/:tagKey',
    action: 'SSO:change/untagTenant',
    summary: 'Remove a tag',
    params: untagTenantParams,
    resource: tenantResource,
    status: 204,
    handler: ({ accountId, params, deps }) => service.untagTenant(accountId, params.tagKey, tenantDeps(deps)),
  }),
  defineRoute({
    method: 'get',
    path: '/tenant/policies',
    action: 'SSO:view/getPolicyList',
    summary: 'Policies a permission set may use: system-managed ones and this account’s user-created ones',
    query: policyListQuery,
    resource: tenantResource,
    handler: ({ accountId, query }) => service.listPermissionSetPolicies(accountId, query),
  }),
];
