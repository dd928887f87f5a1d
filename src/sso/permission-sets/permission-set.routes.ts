/**
 * `/api/v1/sso/permission-sets…`: one route per Permission Set action of seed S4, each gated by
 * exactly the action and resource type the table names
 * (`nrn:PUB:SSO::{memberNo}:PermissionSet/{id}`; lists and creates on `*`).
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { findTenantOfAccount, ssoNrn } from '../tenant/tenant-context.js';
import {
  createPermissionSetBody,
  listPermissionSetsQuery,
  permissionSetIdParams,
  removePoliciesBody,
  tagBody,
  untagBody,
  updatePermissionSetBody,
} from './permission-set.schemas.js';
import * as service from './permission-set.service.js';

type IdParams = z.infer<typeof permissionSetIdParams>;

/** The permission set named in the path, with its tags for `ncp:resourceTag` conditions. */
export async function permissionSetResource({ accountId, params }: { accountId: number; params: IdParams }) {
  const tenant = await findTenantOfAccount(accountId);
  const entity = tenant ? await service.findPermissionSet(tenant.tenantId, params.permissionSetId) : null;
  return { nrn: ssoNrn(accountId, 'PermissionSet', params.permissionSetId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

export const permissionSetRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/permission-sets',
    action: 'SSO:view/getPermissionSetList',
    summary: 'List permission sets',
    query: listPermissionSetsQuery,
    handler: ({ accountId, query }) => service.listPermissionSets(accountId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/permission-sets',
    action: 'SSO:change/createPermissionSet',
    summary: 'Create a permission set (1-10 system-managed policy ids and user-created policy names)',
    body: createPermissionSetBody,
    requestTags: (b) => b.tags,
    status: 201,
    handler: ({ accountId, body }) => service.createPermissionSet(accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/permission-sets/:permissionSetId',
    action: 'SSO:view/getPermissionSetDetail',
    summary: 'Get a permission set',
    params: permissionSetIdParams,
    resource: permissionSetResource,
    handler: ({ accountId, params }) => service.getPermissionSet(accountId, params.permissionSetId),
  }),
  defineRoute({
    method: 'put',
    path: '/permission-sets/:permissionSetId',
    action: 'SSO:change/updatePermissionSet',
    summary: 'Change the description and add policies; the SSO roles of its assignments are re-synced',
    params: permissionSetIdParams,
    body: updatePermissionSetBody,
    resource: permissionSetResource,
    handler: ({ accountId, params, body, deps }) => service.updatePermissionSet(accountId, params.permissionSetId, body, deps.stamps),
  }),
  defineRoute({
    method: 'delete',
    path: '/permission-sets/:permissionSetId',
    action: 'SSO:change/deletePermissionSet',
    summary: 'Delete a permission set (refused while an assignment uses it)',
    params: permissionSetIdParams,
    resource: permissionSetResource,
    status: 204,
    handler: ({ accountId, params }) => service.deletePermissionSet(accountId, params.permissionSetId),
  }),
  defineRoute({
    method: 'delete',
    path: '/permission-sets/:permissionSetId/policies',
    action: 'SSO:change/removePermissionSetPolicy',
    summary: 'Remove system-managed and user-created policies (not the last one); the SSO roles are re-synced',
    params: permissionSetIdParams,
    body: removePoliciesBody,
    resource: permissionSetResource,
    handler: ({ accountId, params, body, deps }) => service.removePermissionSetPolicies(accountId, params.permissionSetId, body, deps.stamps),
  }),
  defineRoute({
    method: 'post',
    path: '/permission-sets/:permissionSetId/tags',
    action: 'SSO:change/tagPermissionSet',
    summary: 'Add tags to a permission set (a key already present takes the new value)',
    params: permissionSetIdParams,
    body: tagBody,
    resource: permissionSetResource,
    requestTags: (b) => b.tags,
    handler: ({ accountId, params, body }) => service.tagPermissionSet(accountId, params.permissionSetId, body.tags),
  }),
  defineRoute({
    method: 'delete',
    path: '/permission-sets/:permissionSetId/tags',
    action: 'SSO:change/untagPermissionSet',
    summary: 'Remove tags from a permission set by key',
    params: permissionSetIdParams,
    body: untagBody,
    resource: permissionSetResource,
    requestTags: (b) => b.tagKeys.map((key) => ({ key, value: '' })),
    handler: ({ accountId, params, body }) => service.untagPermissionSet(accountId, params.permissionSetId, body.tagKeys),
  }),
];
