/**
 * `/api/v1/subaccount/groups…`: groups of sub accounts, one route per action of seed S1's Group
 * group, each gated by exactly the action the table names.
 *
 * Membership routes (add/removeSubAccountToGroup) authorize against the group's NRN only. S1
 * lists both Group and SubAccount as their resource types, but the framework authorizes one
 * resource per call and the group is what the request changes (its member list); AWS IAM does the
 * same for AddUserToGroup / RemoveUserFromGroup, whose resource is the group ARN alone.
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { buildGroupNrn } from '../nrn.js';
import {
  createGroupBody,
  groupDetailQuery,
  groupIdParams,
  groupMemberParams,
  groupPolicyIdsBody,
  groupPolicyParams,
  listGroupsQuery,
  subAccountIdsBody,
  updateGroupBody,
} from './group.schemas.js';
import * as service from './group.service.js';

/** The group named in the path, with its tags for `ncp:resourceTag` conditions. */
export async function groupResource({ accountId, params }: { accountId: number; params: z.infer<typeof groupIdParams> }) {
  const entity = await service.findGroup(accountId, params.groupId);
  return { nrn: buildGroupNrn(accountId, params.groupId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

export const groupRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/groups',
    action: 'SubAccount:View/getGroupList',
    summary: 'List groups (searchName: name prefix)',
    query: listGroupsQuery,
    handler: ({ accountId, query }) => service.listGroups(accountId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/groups',
    action: 'SubAccount:Change/createGroup',
    summary: 'Create a group',
    body: createGroupBody,
    requestTags: (b) => b.tags,
    status: 201,
    handler: ({ accountId, body }) => service.createGroup(accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/groups/:groupId',
    action: 'SubAccount:View/getGroupDetail',
    summary: 'Get a group with its member count, a page of members (pageNo, pageSize) and its policies',
    params: groupIdParams,
    query: groupDetailQuery,
    resource: groupResource,
    handler: ({ accountId, params, query }) => service.getGroup(accountId, params.groupId, query),
  }),
  defineRoute({
    method: 'put',
    path: '/groups/:groupId',
    action: 'SubAccount:Change/updateGroup',
    summary: 'Update a group’s name, description or tags',
    params: groupIdParams,
    body: updateGroupBody,
    resource: groupResource,
    requestTags: (b) => b.tags,
    handler: ({ accountId, params, body }) => service.updateGroup(accountId, params.groupId, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/groups/:groupId',
    action: 'SubAccount:Change/deleteGroup',
    summary: 'Delete a group (its members lose the membership)',
    params: groupIdParams,
    resource: groupResource,
    status: 204,
    handler: ({ accountId, params, deps }) => service.deleteGroup(accountId, params.groupId, deps.stamps),
  }),
  defineRoute({
    method: 'post',
    path: '/groups/:groupId/sub-accounts',
    action: 'SubAccount:Change/addSubAccountToGroup',
    summary: 'Add sub accounts to a group',
    params: groupIdParams,
    body: subAccountIdsBody,
    resource: groupResource,
    handler: ({ accountId, params, body, deps }) =>
      service.addSubAccountsToGroup(accountId, params.groupId, body.subAccountIds, deps.stamps),
  }),
  defineRoute({
    method: 'delete',
    path: '/groups/:groupId/sub-accounts/:subAccountId',
    action: 'SubAccount:Change/removeSubAccountFromGroup',
    summary: 'Remove a sub account from a group',
    params: groupMemberParams,
    resource: groupResource,
    status: 204,
    handler: ({ accountId, params, deps }) =>
      service.removeSubAccountFromGroup(accountId, params.groupId, params.subAccountId, deps.stamps),
  }),
  defineRoute({
    method: 'post',
    path: '/groups/:groupId/policies',
    action: 'SubAccount:Change/addPolicyToGroup',
    summary: 'Attach policies to a group (system-managed ids or names, or user policy ids)',
    params: groupIdParams,
    body: groupPolicyIdsBody,
    resource: groupResource,
    handler: ({ accountId, params, body, resource, deps }) =>
      service.addPoliciesToGroup(accountId, resource.entity, params.groupId, body.policyIds, deps.stamps),
  }),
  defineRoute({
    method: 'delete',
    path: '/groups/:groupId/policies/:policyId',
    action: 'SubAccount:Change/removePolicyFromGroup',
    summary: 'Detach a policy from a group',
    params: groupPolicyParams,
    resource: groupResource,
    handler: ({ accountId, params, deps }) => service.removePolicyFromGroup(accountId, params.groupId, params.policyId, deps.stamps),
  }),
];
