/**
 * `/api/v1/sso/assignments…`: one route per Assignment action of seed S4, each gated by exactly
 * the action and resource type the table names (`nrn:PUB:SSO::{memberNo}:Assignment/{id}`; lists
 * and creates on `*`). Two removals are authorized on the principal's side, as the table puts
 * them: change/removeUserFromAssignment on the user's NRN (`DELETE /users/{userId}/assignments/
 * {assignmentId}`) and change/removeGroupFromAssignment on the group's NRN.
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { SsoGroup } from '../groups/group.model.js';
import { findTenantOfAccount, ssoNrn } from '../tenant/tenant-context.js';
import { SsoUser } from '../users/user.model.js';
import {
  addIpAclsBody,
  assignmentIdParams,
  createAssignmentBody,
  groupAssignmentParams,
  listAssignmentsQuery,
  listTargetsQuery,
  removeIpAclsBody,
  statusBody,
  tagBody,
  targetsBody,
  untagBody,
  updateAssignmentBody,
  userAssignmentParams,
} from './assignment.schemas.js';
import * as service from './assignment.service.js';

type IdParams = z.infer<typeof assignmentIdParams>;

/** The assignment named in the path, with its tags for `ncp:resourceTag` conditions. */
export async function assignmentResource({ accountId, params }: { accountId: number; params: IdParams }) {
  const tenant = await findTenantOfAccount(accountId);
  const entity = tenant ? await service.findAssignment(tenant.tenantId, params.assignmentId) : null;
  return { nrn: ssoNrn(accountId, 'Assignment', params.assignmentId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

/** The SSO user named in the path (removeUserFromAssignment is a User action). */
async function userResource({ accountId, params }: { accountId: number; params: z.infer<typeof userAssignmentParams> }) {
  const tenant = await findTenantOfAccount(accountId);
  const entity = tenant ? await SsoUser.findOne({ tenantId: tenant.tenantId, userId: params.userId }).select('userId tags').lean() : null;
  return { nrn: ssoNrn(accountId, 'User', params.userId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

/** The SSO group named in the path (removeGroupFromAssignment is a Group action); a group being deleted is gone. */
async function groupResource({ accountId, params }: { accountId: number; params: z.infer<typeof groupAssignmentParams> }) {
  const tenant = await findTenantOfAccount(accountId);
  const found = tenant ? await SsoGroup.findOne({ tenantId: tenant.tenantId, groupId: params.groupId }).select('groupId tags deletingSince').lean() : null;
  const entity = found && !found.deletingSince ? found : null;
  return { nrn: ssoNrn(accountId, 'Group', params.groupId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

export const assignmentRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/assignments',
    action: 'SSO:view/getAssignmentList',
    summary: 'List assignments',
    query: listAssignmentsQuery,
    handler: ({ accountId, query }) => service.listAssignments(accountId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/assignments',
    action: 'SSO:change/createAssignment',
    summary: 'Create an assignment (one account × one permission set) and provision its SSO role in the account',
    body: createAssignmentBody,
    requestTags: (b) => b.tags,
    status: 201,
    handler: ({ accountId, body, deps }) => service.createAssignment(accountId, body, deps.stamps),
  }),
  defineRoute({
    method: 'get',
    path: '/assignments/:assignmentId',
    action: 'SSO:view/getAssignmentDetail',
    summary: 'Get an assignment (unfinished provisioning of its SSO role is finished first)',
    params: assignmentIdParams,
    resource: assignmentResource,
    handler: ({ accountId, params, deps }) => service.getAssignment(accountId, params.assignmentId, deps.stamps),
  }),
  defineRoute({
    method: 'put',
    path: '/assignments/:assignmentId',
    action: 'SSO:change/updateAssignment',
    summary: 'Change an assignment’s description and console/API access flags',
    params: assignmentIdParams,
    body: updateAssignmentBody,
    resource: assignmentResource,
    handler: ({ accountId, params, body }) => service.updateAssignment(accountId, params.assignmentId, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/assignments/:assignmentId',
    action: 'SSO:change/deleteAssignment',
    summary: 'Delete an assignment and its SSO role',
    params: assignmentIdParams,
    resource: assignmentResource,
    status: 204,
    handler: ({ accountId, params, deps }) => service.deleteAssignment(accountId, params.assignmentId, deps.stamps),
  }),
  defineRoute({
    method: 'put',
    path: '/assignments/:assignmentId/status',
    action: 'SSO:change/changeStatusAssignment',
    summary: 'Activate or suspend an assignment (suspended: hidden from role switching, role sessions end)',
    params: assignmentIdParams,
    body: statusBody,
    resource: assignmentResource,
    handler: ({ accountId, params, body }) => service.setAssignmentStatus(accountId, params.assignmentId, body.status),
  }),
  defineRoute({
    method: 'get',
    path: '/assignments/:assignmentId/targets',
    action: 'SSO:view/getAssignmentDetail',
    summary: 'List an assignment’s user or group targets with their names',
    params: assignmentIdParams,
    query: listTargetsQuery,
    resource: assignmentResource,
    handler: ({ accountId, params, query }) => service.listTargets(accountId, params.assignmentId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/assignments/:assignmentId/targets',
    action: 'SSO:change/assignTargetToAssignment',
    summary: 'Add users or groups to an assignment',
    params: assignmentIdParams,
    body: targetsBody,
    resource: assignmentResource,
    handler: ({ accountId, params, body }) => service.addTargets(accountId, params.assignmentId, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/assignments/:assignmentId/targets',
    action: 'SSO:change/removeTargetFromAssignment',
    summary: 'Remove users or groups from an assignment',
    params: assignmentIdParams,
    body: targetsBody,
    resource: assignmentResource,
    handler: ({ accountId, params, body }) => service.removeTargets(accountId, params.assignmentId, body),
  }),
  defineRoute({
    method: 'put',
    path: '/assignments/:assignmentId/ip-acls',
    action: 'SSO:change/assignTargetToAssignment',
    summary: 'Add console/API IP ACLs to an assignment (≤5 each), or lift a restriction with …Restricted=false',
    params: assignmentIdParams,
    body: addIpAclsBody,
    resource: assignmentResource,
    handler: ({ accountId, params, body }) => service.addIpAclsToAssignment(accountId, params.assignmentId, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/assignments/:assignmentId/ip-acls',
    action: 'SSO:change/removeTargetFromAssignment',
    summary: 'Remove console/API IP ACLs from an assignment (the restriction stays until lifted)',
    params: assignmentIdParams,
    body: removeIpAclsBody,
    resource: assignmentResource,
    handler: ({ accountId, params, body }) => service.removeIpAclsFromAssignment(accountId, params.assignmentId, body),
  }),
  defineRoute({
    method: 'post',
    path: '/assignments/:assignmentId/tags',
    action: 'SSO:change/tagAssignment',
    summary: 'Add tags to an assignment (a key already present takes the new value)',
    params: assignmentIdParams,
    body: tagBody,
    resource: assignmentResource,
    requestTags: (b) => b.tags,
    handler: ({ accountId, params, body }) => service.tagAssignment(accountId, params.assignmentId, body.tags),
  }),
  defineRoute({
    method: 'delete',
    path: '/assignments/:assignmentId/tags',
    action: 'SSO:change/untagAssignment',
    summary: 'Remove tags from an assignment by key',
    params: assignmentIdParams,
    body: untagBody,
    resource: assignmentResource,
    requestTags: (b) => b.tagKeys.map((key) => ({ key, value: '' })),
    handler: ({ accountId, params, body }) => service.untagAssignment(accountId, params.assignmentId, body.tagKeys),
  }),
  defineRoute({
    method: 'delete',
    path: '/users/:userId/assignments/:assignmentId',
    action: 'SSO:change/removeUserFromAssignment',
    summary: 'Remove a user from an assignment it is a direct target of',
    params: userAssignmentParams,
    resource: userResource,
    handler: ({ accountId, params, resource }) =>
      service.removePrincipalFromAssignment(accountId, 'user', params.userId, params.assignmentId, resource.entity !== undefined),
  }),
  defineRoute({
    method: 'delete',
    path: '/groups/:groupId/assignments/:assignmentId',
    action: 'SSO:change/removeGroupFromAssignment',
    summary: 'Remove a group from an assignment it is a direct target of',
    params: groupAssignmentParams,
    resource: groupResource,
    handler: ({ accountId, params, resource }) =>
      service.removePrincipalFromAssignment(accountId, 'group', params.groupId, params.assignmentId, resource.entity !== undefined),
  }),
];
