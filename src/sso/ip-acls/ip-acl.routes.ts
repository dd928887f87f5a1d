/**
 * `/api/v1/sso/ip-acls…`: one route per IP ACL action of seed S4, each gated by exactly the
 * action and resource type the table names (`nrn:PUB:SSO::{memberNo}:IPACL/{id}`; lists and
 * creates on `*`). The reverse links to assignments (reference §1 "Reverse linking") are read with
 * the detail action and changed with Change/addIPACLToAssignment and
 * Change/removeIPACLFromAssignment, whose resource type is the IP ACL.
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { attachIpAclToAssignments, detachIpAclFromAssignments } from '../assignments/assignment.service.js';
import { findTenantOfAccount, ssoNrn } from '../tenant/tenant-context.js';
import { createIpAclBody, ipAclAssignmentsBody, ipAclIdParams, listIpAclsQuery, replaceIpAclBody, tagBody, untagBody } from './ip-acl.schemas.js';
import * as service from './ip-acl.service.js';

type IdParams = z.infer<typeof ipAclIdParams>;

/** The IP ACL named in the path, with its tags for `ncp:resourceTag` conditions (404 comes later, from the service). */
export async function ipAclResource({ accountId, params }: { accountId: number; params: IdParams }) {
  const tenant = await findTenantOfAccount(accountId);
  const entity = tenant ? await service.findIpAcl(tenant.tenantId, params.ipAclId) : null;
  return { nrn: ssoNrn(accountId, 'IPACL', params.ipAclId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

export const ipAclRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/ip-acls',
    action: 'SSO:View/getIPACLList',
    summary: 'List IP ACLs',
    query: listIpAclsQuery,
    handler: ({ accountId, query }) => service.listIpAcls(accountId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/ip-acls',
    action: 'SSO:Change/createIPACL',
    summary: 'Create an IP ACL (1-20 IPv4/IPv6/CIDR entries, stored canonically)',
    body: createIpAclBody,
    requestTags: (b) => b.tags,
    status: 201,
    handler: ({ accountId, body }) => service.createIpAcl(accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/ip-acls/:ipAclId',
    action: 'SSO:View/getIPACLDetail',
    summary: 'Get an IP ACL',
    params: ipAclIdParams,
    resource: ipAclResource,
    handler: ({ accountId, params }) => service.getIpAcl(accountId, params.ipAclId),
  }),
  defineRoute({
    method: 'put',
    path: '/ip-acls/:ipAclId',
    action: 'SSO:Change/updateIPACL',
    summary: 'Replace an IP ACL’s description and entries (the name is immutable)',
    params: ipAclIdParams,
    body: replaceIpAclBody,
    resource: ipAclResource,
    handler: ({ accountId, params, body }) => service.replaceIpAcl(accountId, params.ipAclId, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/ip-acls/:ipAclId',
    action: 'SSO:Change/deleteIPACL',
    summary: 'Delete an IP ACL (refused while an assignment uses it)',
    params: ipAclIdParams,
    resource: ipAclResource,
    status: 204,
    handler: ({ accountId, params }) => service.deleteIpAcl(accountId, params.ipAclId),
  }),
  defineRoute({
    method: 'post',
    path: '/ip-acls/:ipAclId/tags',
    action: 'SSO:change/tagIPACL',
    summary: 'Add tags to an IP ACL (a key already present takes the new value)',
    params: ipAclIdParams,
    body: tagBody,
    resource: ipAclResource,
    requestTags: (b) => b.tags,
    handler: ({ accountId, params, body }) => service.tagIpAcl(accountId, params.ipAclId, body.tags),
  }),
  defineRoute({
    method: 'delete',
    path: '/ip-acls/:ipAclId/tags',
    action: 'SSO:change/untagIPACL',
    summary: 'Remove tags from an IP ACL by key',
    params: ipAclIdParams,
    body: untagBody,
    resource: ipAclResource,
    requestTags: (b) => b.tagKeys.map((key) => ({ key, value: '' })),
    handler: ({ accountId, params, body }) => service.untagIpAcl(accountId, params.ipAclId, body.tagKeys),
  }),
  defineRoute({
    method: 'get',
    path: '/ip-acls/:ipAclId/assignments',
    action: 'SSO:View/getIPACLDetail',
    summary: 'The assignments whose console or API access this IP ACL restricts',
    params: ipAclIdParams,
    resource: ipAclResource,
    handler: ({ accountId, params }) => service.getIpAclAssignments(accountId, params.ipAclId),
  }),
  defineRoute({
    method: 'post',
    path: '/ip-acls/:ipAclId/assignments',
    action: 'SSO:Change/addIPACLToAssignment',
    summary: 'Restrict the console and/or API access of assignments to this IP ACL (≤5 ACLs per access type)',
    params: ipAclIdParams,
    body: ipAclAssignmentsBody,
    resource: ipAclResource,
    handler: ({ accountId, params, body, resource }) => attachIpAclToAssignments(accountId, params.ipAclId, body, resource.entity !== undefined),
  }),
  defineRoute({
    method: 'delete',
    path: '/ip-acls/:ipAclId/assignments',
    action: 'SSO:Change/removeIPACLFromAssignment',
    summary: 'Remove this IP ACL from the console and/or API access of assignments',
    params: ipAclIdParams,
    body: ipAclAssignmentsBody,
    resource: ipAclResource,
    handler: ({ accountId, params, body, resource }) => detachIpAclFromAssignments(accountId, params.ipAclId, body, resource.entity !== undefined),
  }),
];
