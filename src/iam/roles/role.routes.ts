/**
 * `/api/v1/subaccount/roles…` and `/server-instances…`: one route per action of seed S1's Role
 * group, each gated by exactly the action the table names (the documented typo of
 * `Change/attachRoleToAccont` / `Change/detachRoleFromAccont` kept, since policies name actions
 * by it). Every role-management route refuses role sessions (reference/ncloud-model.md §3:
 * "while switched, role management is blocked until Return to sub account").
 *
 * `POST /roles/return` is not a catalog action: it lives in `roleSessionRouter`, authenticated
 * but not gated by a policy (see role-switch.service.ts returnToSubAccount).
 */
import { Router } from 'express';
import type { z } from 'zod';
import { defineRoute, type AdminDeps, type AdminRouteSpec } from '../../http/admin-route.js';
import { clientIp } from '../../http/client-ip.js';
import { AppError } from '../../shared/errors.js';
import { buildRoleNrn } from '../nrn.js';
import {
  attachAccountBody,
  createRoleBody,
  listRolesQuery,
  listServersQuery,
  policyIdsBody,
  roleIdParams,
  rolePolicyParams,
  roleServerParams,
  serverNrnsBody,
  serverParams,
  statusBody,
  targetAccountParams,
  updateRoleBody,
} from './role.schemas.js';
import * as service from './role.service.js';
import { findSwitchableRole, returnToSubAccount, switchRole } from './role-switch.service.js';

type IdParams = z.infer<typeof roleIdParams>;

/** The role named in the path, in the caller's account, with its tags for `ncp:resourceTag` conditions. */
export async function roleResource({ accountId, params }: { accountId: number; params: IdParams }) {
  const entity = await service.findRole(accountId, params.roleId);
  return { nrn: buildRoleNrn(accountId, params.roleId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

/**
 * The role to switch into: its NRN is the owner's (a foreign account's role is authorized on its
 * own NRN, which the caller's policy names, reference §3 "switchRole"). A role the caller may not
 * see gets the NRN it would have in the caller's account, and a 404 after authorization.
 */
async function switchResource({ accountId, params }: { accountId: number; params: IdParams }) {
  const entity = await findSwitchableRole(accountId, params.roleId);
  return { nrn: buildRoleNrn(entity?.accountId ?? accountId, params.roleId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

export const roleRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/roles',
    action: 'SubAccount:View/getRoleList',
    summary: 'List roles (filter by roleType, search by name prefix)',
    query: listRolesQuery,
    refuseRoleSession: true,
    handler: ({ accountId, query }) => service.listRoles(accountId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/roles',
    action: 'SubAccount:Change/createRole',
    summary: 'Create an Account, Server or Service role (SSO roles come from Single Sign-On assignments)',
    body: createRoleBody,
    requestTags: (b) => b.tags,
    refuseRoleSession: true,
    status: 201,
    handler: ({ accountId, body, deps }) => service.createRole(accountId, body, deps.stamps),
  }),
  defineRoute({
    method: 'get',
    path: '/roles/:roleId',
    action: 'SubAccount:View/getRoleDetail',
    summary: 'Get a role: policies, targets, session expiry, status, last use, NRN',
    params: roleIdParams,
    resource: roleResource,
    refuseRoleSession: true,
    handler: ({ accountId, params }) => service.getRole(accountId, params.roleId),
  }),
  defineRoute({
    method: 'put',
    path: '/roles/:roleId',
    action: 'SubAccount:Change/updateRole',
    summary: 'Update a role’s description, session expiry (account roles) or tags',
    params: roleIdParams,
    body: updateRoleBody,
    resource: roleResource,
    requestTags: (b) => b.tags,
    refuseRoleSession: true,
    handler: ({ accountId, params, body, deps }) => service.updateRole(accountId, params.roleId, body, deps.stamps),
  }),
  defineRoute({
    method: 'delete',
    path: '/roles/:roleId',
    action: 'SubAccount:Change/deleteRole',
    summary: 'Delete a role; its sessions and temporary credentials end (SSO roles are refused)',
    params: roleIdParams,
    resource: roleResource,
    refuseRoleSession: true,
    status: 204,
    handler: ({ accountId, params, deps }) => service.deleteRole(accountId, params.roleId, deps.stamps),
  }),
  defineRoute({
    method: 'post',
    path: '/roles/:roleId/policies',
    action: 'SubAccount:Change/addPolicyToRole',
    summary: 'Attach policies (system-managed ids or names, user policy ids)',
    params: roleIdParams,
    body: policyIdsBody,
    resource: roleResource,
    refuseRoleSession: true,
    handler: ({ accountId, params, body, deps }) => service.addPoliciesToRole(accountId, params.roleId, body.policyIds, deps.stamps),
  }),
  defineRoute({
    method: 'delete',
    path: '/roles/:roleId/policies/:policyId',
    action: 'SubAccount:Change/removePolicyFromRole',
    summary: 'Detach a policy',
    params: rolePolicyParams,
    resource: roleResource,
    refuseRoleSession: true,
    handler: ({ accountId, params, deps }) => service.removePolicyFromRole(accountId, params.roleId, params.policyId, deps.stamps),
  }),
  defineRoute({
    method: 'put',
    path: '/roles/:roleId/status',
    action: 'SubAccount:Change/suspendRole',
    summary: 'Suspend (ends its console sessions and STS credentials at once) or release a role',
    params: roleIdParams,
    body: statusBody,
    resource: roleResource,
    refuseRoleSession: true,
    handler: ({ accountId, params, body, deps }) => service.setRoleStatus(accountId, params.roleId, body.status, deps.stamps),
  }),
  defineRoute({
    method: 'post',
    path: '/roles/:roleId/target-accounts',
    action: 'SubAccount:Change/attachRoleToAccont',
    summary: 'Add a target account to an account role: this account, or a foreign one named by account name and root login id',
    params: roleIdParams,
    body: attachAccountBody,
    resource: roleResource,
    refuseRoleSession: true,
    handler: ({ accountId, params, body, deps }) => service.attachRoleToAccount(accountId, params.roleId, body, deps.stamps),
  }),
  defineRoute({
    method: 'delete',
    path: '/roles/:roleId/target-accounts/:memberNo',
    action: 'SubAccount:Change/detachRoleFromAccont',
    summary: 'Remove a target account from an account role (the role’s sessions and STS credentials end)',
    params: targetAccountParams,
    resource: roleResource,
    refuseRoleSession: true,
    handler: ({ accountId, params, deps }) => service.detachRoleFromAccount(accountId, params.roleId, params.memberNo, deps.stamps),
  }),
  defineRoute({
    method: 'post',
    path: '/roles/:roleId/servers',
    action: 'SubAccount:Change/attachRoleToServer',
    summary: 'Attach VPC server NRNs to a server role (one role per server; stored as data)',
    params: roleIdParams,
    body: serverNrnsBody,
    resource: roleResource,
    refuseRoleSession: true,
    handler: ({ accountId, params, body }) => service.attachRoleToServers(accountId, params.roleId, body.serverNrns),
  }),
  defineRoute({
    method: 'delete',
    path: '/roles/:roleId/servers/:serverNrn',
    action: 'SubAccount:Change/detachRoleFromServer',
    summary: 'Detach a server (NRN, URL-encoded) from a server role',
    params: roleServerParams,
    resource: roleResource,
    refuseRoleSession: true,
    handler: ({ accountId, params }) => service.detachRoleFromServer(accountId, params.roleId, params.serverNrn),
  }),
  defineRoute({
    method: 'get',
    path: '/server-instances',
    action: 'SubAccount:View/getServerInstanceList',
    summary: 'Servers known to this account: Gatehouse runs no servers, so these are the server NRNs attached to its server roles',
    query: listServersQuery,
    refuseRoleSession: true,
    handler: ({ accountId, query }) => service.listServerInstances(accountId, query),
  }),
  defineRoute({
    method: 'get',
    path: '/server-instances/:serverNrn',
    action: 'SubAccount:View/getServerInstanceDetail',
    summary: 'One server (NRN, URL-encoded) and its server role; Gatehouse knows servers only through server roles',
    params: serverParams,
    // Authorized on the server's own NRN (catalog resource type VPCServer:Server).
    resource: ({ params }) => ({ nrn: params.serverNrn }),
    refuseRoleSession: true,
    handler: ({ accountId, params }) => service.getServerInstance(accountId, params.serverNrn),
  }),
  defineRoute({
    method: 'post',
    path: '/roles/:roleId/switch',
    action: 'SubAccount:Change/switchRole',
    summary: 'Switch the console session of a sub account into an account role (cookie + X-CSRF-Token)',
    params: roleIdParams,
    resource: switchResource,
    refuseRoleSession: true,
    handler: ({ principal, accountId, params, resource, req, deps, sourceIp, requestId }) =>
      switchRole(principal, req.consoleSession, accountId, params.roleId, resource.entity, { logger: deps.logger, sourceIp, requestId }),
  }),
];

/**
 * `POST /roles/return` ("return to sub account"), mounted after authenticate() and before the
 * catalog routes. Not a defineRoute: every such route is gated by a catalog action, and while
 * switched the caller is the role, whose policies would decide whether it may leave the role.
 */
export function roleSessionRouter(deps: Pick<AdminDeps, 'logger'>): Router {
  const router = Router();
  router.post('/roles/return', (req, res, next) => {
    (async () => {
      if (!req.principal) throw new AppError('UNAUTHENTICATED');
      const result = await returnToSubAccount(req.principal, req.consoleSession, { logger: deps.logger, sourceIp: clientIp(req), requestId: String(req.id) });
      res.status(200).json(result);
    })().catch(next);
  });
  return router;
}
