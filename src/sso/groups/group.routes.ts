/**
 * `/api/v1/sso/groups…`: SSO groups and their members (seed S4 "Group" group), one route per
 * action, gated by exactly the action and resource type the table names
 * (`nrn:PUB:SSO::{memberNo}:Group/{groupId}`).
 *
 * Creating a group: S4 has no createGroup action (AWS IAM Identity Center has
 * `identitystore:CreateGroup`). Creation is gated by `change/updateGroup` on resource `*`, the
 * way every create of the catalog is authorized: only a principal allowed to change groups on
 * every resource (`Change*`, NCP_SINGLE_SIGN_ON_MANAGER, or `change/updateGroup` on `*`) may
 * create one; a principal limited to some groups (by NRN or tag) may not make new ones. Request
 * tags are not offered to that decision: `change/updateGroup` supports `ncp:resourceTag` only, and
 * a statement naming an unsupported key fails closed anyway.
 *
 * Membership from the group's side (`addUserToGroup` / `removeUserFromGroup`, resource type Group)
 * is authorized on the group's NRN; the user's side is in src/sso/users/user.routes.ts.
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { findTenantOfAccount, requireTenant, ssoNrn } from '../tenant/tenant-context.js';
import {
  createGroupBody,
  groupIdParams,
  groupMemberParams,
  groupTagParams,
  groupTagsBody,
  listGroupsQuery,
  membersQuery,
  updateGroupBody,
  userIdsBody,
} from './group.schemas.js';
import * as service from './group.service.js';
import { addUsersToGroup, listMembersOfGroup, removeMemberFromGroup } from './membership.service.js';

/** The group named in the path, with its tags for `ncp:resourceTag` conditions. */
export async function ssoGroupResource({ accountId, params }: { accountId: number; params: z.infer<typeof groupIdParams> }) {
  const tenant = await findTenantOfAccount(accountId);
  const entity = tenant ? await service.findGroup(tenant.tenantId, params.groupId) : null;
  return { nrn: ssoNrn(accountId, 'Group', params.groupId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

export const ssoGroupRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/groups',
    action: 'SSO:view/getGroupList',
    summary: 'List groups (groupName: name prefix)',
    query: listGroupsQuery,
    handler: async ({ accountId, query }) => service.listGroups(await requireTenant(accountId), query),
  }),
  defineRoute({
    method: 'post',
    path: '/groups',
    action: 'SSO:change/updateGroup',
    summary: 'Create a group (S4 has no createGroup: gated by change/updateGroup on *)',
    body: createGroupBody,
    status: 201,
    handler: async ({ accountId, body }) => service.createGroup(await requireTenant(accountId), body),
  }),
  defineRoute({
    method: 'get',
    path: '/groups/:groupId',
    action: 'SSO:view/getGroupDetail',
    summary: 'Get a group with its member count',
    params: groupIdParams,
    resource: ssoGroupResource,
    handler: async ({ accountId, params }) => service.getGroup(await requireTenant(accountId), params.groupId),
  }),
  defineRoute({
    method: 'put',
    path: '/groups/:groupId',
    action: 'SSO:change/updateGroup',
    summary: 'Update a group’s description (the name is immutable)',
    params: groupIdParams,
    body: updateGroupBody,
    resource: ssoGroupResource,
    handler: async ({ accountId, params, body }) => service.updateGroup(await requireTenant(accountId), params.groupId, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/groups/:groupId',
    action: 'SSO:change/deleteGroup',
    summary: 'Delete a group; its members lose the membership (removed in batches; a repeated DELETE finishes an interrupted one)',
    params: groupIdParams,
    resource: ssoGroupResource,
    status: 204,
    handler: async ({ accountId, params, req }) => {
      let batches = 0;
      await service.deleteGroup(await requireTenant(accountId), params.groupId, {
        // Progress of long deletes (ARCHITECTURE.md "Conventions": long work shows progress).
        onBatch: (p) => {
          if (++batches % 20 === 0) req.log.info({ groupId: p.groupId, membersRemoved: p.membersRemoved }, 'deleting group: memberships removed so far');
        },
      });
    },
  }),
  defineRoute({
    method: 'post',
    path: '/groups/:groupId/tags',
    action: 'SSO:change/tagGroup',
    summary: 'Set tags on a group (existing keys take the new value; at most 20)',
    params: groupIdParams,
    body: groupTagsBody,
    resource: ssoGroupResource,
    requestTags: (b) => b.tags,
    handler: async ({ accountId, params, body }) => service.tagGroup(await requireTenant(accountId), params.groupId, body.tags),
  }),
  defineRoute({
    method: 'delete',
    path: '/groups/:groupId/tags/:tagKey',
    action: 'SSO:change/untagGroup',
    summary: 'Remove a tag from a group',
    params: groupTagParams,
    resource: ssoGroupResource,
    handler: async ({ accountId, params }) => service.untagGroup(await requireTenant(accountId), params.groupId, params.tagKey),
  }),
  defineRoute({
    method: 'get',
    path: '/groups/:groupId/users',
    action: 'SSO:view/getGroupDetail',
    summary: 'List a group’s members (paged)',
    params: groupIdParams,
    query: membersQuery,
    resource: ssoGroupResource,
    handler: async ({ accountId, params, query }) => listMembersOfGroup(await requireTenant(accountId), params.groupId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/groups/:groupId/users',
    action: 'SSO:change/addUserToGroup',
    summary: 'Add up to 100 users to a group (authorized on the group)',
    params: groupIdParams,
    body: userIdsBody,
    resource: ssoGroupResource,
    handler: async ({ accountId, params, body }) => addUsersToGroup(await requireTenant(accountId), params.groupId, body.userIds),
  }),
  defineRoute({
    method: 'delete',
    path: '/groups/:groupId/users/:userId',
    action: 'SSO:change/removeUserFromGroup',
    summary: 'Remove a user from a group (authorized on the group)',
    params: groupMemberParams,
    resource: ssoGroupResource,
    status: 204,
    handler: async ({ accountId, params }) => removeMemberFromGroup(await requireTenant(accountId), params.groupId, params.userId),
  }),
];
