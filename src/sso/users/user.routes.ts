/**
 * `/api/v1/sso/users…`: SSO users (seed S4 "User" group), one route per action, each gated by
 * exactly the action and resource type the table names (`nrn:PUB:SSO::{memberNo}:User/{userId}`
 * for User-typed actions, `*` for the list and creates).
 *
 * - The tenant always comes from the caller's account (src/sso/tenant/tenant-context.ts); a user id
 *   of another account's tenant is not found (404), after authorization.
 * - Bulk create and bulk delete authorize every row on its own (`items`): a create row with its
 *   tags as `ncp:requestTag`, a delete row on its user's NRN with its tags as `ncp:resourceTag`.
 * - `addUserToGroup` / `removeUserFromGroup` appear twice in S4 (resource type User and Group):
 *   here the user-side routes, authorized on the user's NRN; src/sso/groups/group.routes.ts has
 *   the group side.
 * - `change/removeUserFromAssignment` lives with the assignments (src/sso/assignments).
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { addUserToGroups, listGroupsOfUser, removeUserFromGroup } from '../groups/membership.service.js';
import { findTenantOfAccount, requireTenant, ssoNrn } from '../tenant/tenant-context.js';
import { actorOf } from '../../iam/principal.js';
import { issuePasswordReset } from '../../auth/password-reset.service.js';
import { bulkCreateUsers, bulkDeleteTargets, bulkDeleteUsers, parseCreateRow } from './user.bulk.js';
import {
  addMfaDeviceBody,
  allowSourcesBody,
  bulkCreateBody,
  bulkDeleteBody,
  createUserBody,
  groupIdsBody,
  listUsersQuery,
  sessionsQuery,
  statusBody,
  tagsBody,
  updateUserBody,
  userGroupParams,
  userGroupsQuery,
  userIdParams,
  userSessionParams,
  userTagParams,
} from './user.schemas.js';
import * as service from './user.service.js';

/** The user named in the path, with its tags for `ncp:resourceTag` conditions (none when it does not exist). */
export async function userResource({ accountId, params }: { accountId: number; params: z.infer<typeof userIdParams> }) {
  const tenant = await findTenantOfAccount(accountId);
  const entity = tenant ? await service.findUser(tenant.tenantId, params.userId) : null;
  return { nrn: ssoNrn(accountId, 'User', params.userId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

export const userRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/users',
    action: 'SSO:view/getUserList',
    summary: 'List users (filters: loginId prefix, status, groupId)',
    query: listUsersQuery,
    handler: async ({ accountId, query }) => service.listUsers(await requireTenant(accountId), query),
  }),
  defineRoute({
    method: 'post',
    path: '/users',
    action: 'SSO:change/createUser',
    summary: 'Create a user (optional initial password for automation)',
    body: createUserBody,
    requestTags: (b) => b.tags,
    status: 201,
    handler: async ({ accountId, body }) => service.createUser(await requireTenant(accountId), body),
  }),
  defineRoute({
    method: 'post',
    path: '/users/bulk',
    action: 'SSO:change/createUser',
    summary: 'Create up to 100 users; each row is authorized and validated on its own, with one result per row',
    body: bulkCreateBody,
    items: async ({ body }) =>
      body.users.map((row, i) => {
        const parsed = parseCreateRow(row, i);
        return { nrn: '*', requestTags: parsed.ok ? parsed.input.tags : undefined };
      }),
    handler: async ({ accountId, body, itemsAllowed, auditItem }) => bulkCreateUsers(await requireTenant(accountId), body.users, itemsAllowed, auditItem),
  }),
  defineRoute({
    method: 'post',
    path: '/users/bulk-delete',
    action: 'SSO:change/deleteUser',
    summary: 'Delete up to 100 users; each row is authorized on its user, with one result per row',
    body: bulkDeleteBody,
    items: async ({ accountId, body }) => bulkDeleteTargets((await findTenantOfAccount(accountId))?.tenantId ?? null, accountId, body.userIds),
    handler: async ({ accountId, body, itemsAllowed, auditItem }) => bulkDeleteUsers(await requireTenant(accountId), body.userIds, itemsAllowed, auditItem),
  }),
  defineRoute({
    method: 'get',
    path: '/users/:userId',
    action: 'SSO:view/getUserDetail',
    summary: 'Get a user',
    params: userIdParams,
    resource: userResource,
    handler: async ({ accountId, params }) => service.getUser(await requireTenant(accountId), params.userId),
  }),
  defineRoute({
    method: 'put',
    path: '/users/:userId',
    action: 'SSO:change/updateUser',
    summary: 'Update a user’s description, profile or access rules (loginId is immutable)',
    params: userIdParams,
    body: updateUserBody,
    resource: userResource,
    handler: async ({ accountId, params, body }) => service.updateUser(await requireTenant(accountId), params.userId, body),
  }),
  defineRoute({
    method: 'post',
    path: '/users/:userId/password-reset',
    // Ncloud has no such action (it relies on the external IdP); resetting a credential changes
    // the user, so it is gated by updateUser (AWS IAM's UpdateLoginProfile is likewise an update).
    action: 'SSO:change/updateUser',
    summary: 'E-mail the user a one-time password reset link (1 hour, single use); 202, the token is never returned',
    params: userIdParams,
    resource: userResource,
    status: 202,
    handler: async ({ accountId, params, deps, principal }) =>
      issuePasswordReset(await requireTenant(accountId), params.userId, deps, `${actorOf(principal).kind}:${actorOf(principal).name}`),
  }),
  defineRoute({
    method: 'delete',
    path: '/users/:userId',
    action: 'SSO:change/deleteUser',
    summary: 'Delete a user, its memberships and sessions',
    params: userIdParams,
    resource: userResource,
    status: 204,
    handler: async ({ accountId, params }) => {
      await service.deleteUser(await requireTenant(accountId), params.userId);
    },
  }),
  defineRoute({
    method: 'put',
    path: '/users/:userId/status',
    action: 'SSO:change/changeUserStatus',
    summary: 'Suspend (ending the user’s sessions) or reactivate a user',
    params: userIdParams,
    body: statusBody,
    resource: userResource,
    handler: async ({ accountId, params, body }) => service.setUserStatus(await requireTenant(accountId), params.userId, body.status),
  }),
  defineRoute({
    method: 'post',
    path: '/users/:userId/tags',
    action: 'SSO:change/tagUser',
    summary: 'Set tags on a user (existing keys take the new value; at most 20)',
    params: userIdParams,
    body: tagsBody,
    resource: userResource,
    requestTags: (b) => b.tags,
    handler: async ({ accountId, params, body }) => service.tagUser(await requireTenant(accountId), params.userId, body.tags),
  }),
  defineRoute({
    method: 'delete',
    path: '/users/:userId/tags/:tagKey',
    action: 'SSO:change/untagUser',
    summary: 'Remove a tag from a user',
    params: userTagParams,
    resource: userResource,
    handler: async ({ accountId, params }) => service.untagUser(await requireTenant(accountId), params.userId, params.tagKey),
  }),
  defineRoute({
    method: 'put',
    path: '/users/:userId/allow-sources',
    action: 'SSO:change/manageUserAllowSourceSetting',
    summary: 'Set the source IPs allowed for the user’s console and API access',
    params: userIdParams,
    body: allowSourcesBody,
    resource: userResource,
    handler: async ({ accountId, params, body }) => service.setAllowSources(await requireTenant(accountId), params.userId, body),
  }),
  defineRoute({
    method: 'post',
    path: '/users/:userId/mfa-devices',
    action: 'SSO:Change/addMFADevice',
    summary: 'Register the user’s TOTP device (encodedKey + a current otpNo)',
    params: userIdParams,
    body: addMfaDeviceBody,
    resource: userResource,
    status: 201,
    handler: async ({ accountId, params, body, deps }) =>
      service.addMfaDevice(await requireTenant(accountId), params.userId, body.encodedKey, body.otpNo, deps.keyring),
  }),
  defineRoute({
    method: 'delete',
    path: '/users/:userId/mfa-devices',
    action: 'SSO:Change/deleteMFADevice',
    summary: 'Delete the user’s TOTP device',
    params: userIdParams,
    resource: userResource,
    status: 204,
    handler: async ({ accountId, params }) => {
      await service.deleteMfaDevice(await requireTenant(accountId), params.userId);
    },
  }),
  defineRoute({
    method: 'get',
    path: '/users/:userId/sessions',
    action: 'SSO:view/getUserDetail',
    summary: 'List the user’s active sessions',
    params: userIdParams,
    query: sessionsQuery,
    resource: userResource,
    handler: async ({ accountId, params, query }) => service.listUserSessions(await requireTenant(accountId), params.userId, query),
  }),
  defineRoute({
    method: 'delete',
    path: '/users/:userId/sessions',
    action: 'SSO:change/expireActiveSession',
    summary: 'End every active session of the user',
    params: userIdParams,
    resource: userResource,
    handler: async ({ accountId, params }) => service.expireUserSessions(await requireTenant(accountId), params.userId),
  }),
  defineRoute({
    method: 'delete',
    path: '/users/:userId/sessions/:sessionId',
    action: 'SSO:change/expireActiveSession',
    summary: 'End one active session of the user',
    params: userSessionParams,
    resource: userResource,
    status: 204,
    handler: async ({ accountId, params }) => service.expireUserSession(await requireTenant(accountId), params.userId, params.sessionId),
  }),
  defineRoute({
    method: 'get',
    path: '/users/:userId/groups',
    action: 'SSO:view/getUserDetail',
    summary: 'List the groups the user is a member of',
    params: userIdParams,
    query: userGroupsQuery,
    resource: userResource,
    handler: async ({ accountId, params, query }) => listGroupsOfUser(await requireTenant(accountId), params.userId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/users/:userId/groups',
    action: 'SSO:change/addUserToGroup',
    summary: 'Add the user to up to 100 groups (authorized on the user)',
    params: userIdParams,
    body: groupIdsBody,
    resource: userResource,
    handler: async ({ accountId, params, body }) => addUserToGroups(await requireTenant(accountId), params.userId, body.groupIds),
  }),
  defineRoute({
    method: 'delete',
    path: '/users/:userId/groups/:groupId',
    action: 'SSO:change/removeUserFromGroup',
    summary: 'Remove the user from a group (authorized on the user)',
    params: userGroupParams,
    resource: userResource,
    handler: async ({ accountId, params }) => removeUserFromGroup(await requireTenant(accountId), params.userId, params.groupId),
  }),
];
