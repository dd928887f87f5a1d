/**
 * `/api/v1/subaccount/sub-accounts…`: one route per Sub Account action of seed S1's SubAccount
 * group, each gated by exactly the action the table names.
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { buildSubAccountNrn } from '../nrn.js';
import {
  allowSourceBody,
  createSubAccountBody,
  listSubAccountsQuery,
  policyIdsBody,
  policyParams,
  resetPasswordBody,
  statusBody,
  subAccountIdParams,
  updateSubAccountBody,
} from './sub-account.schemas.js';
import * as service from './sub-account.service.js';

type IdParams = z.infer<typeof subAccountIdParams>;

/** The sub account named in the path, with its tags for `ncp:resourceTag` conditions. */
export async function subAccountResource({ accountId, params }: { accountId: number; params: IdParams }) {
  const entity = await service.findSubAccount(accountId, params.subAccountId);
  return { nrn: buildSubAccountNrn(accountId, params.subAccountId), tags: entity?.tags ?? [], entity: entity ?? undefined };
}

export const subAccountRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/sub-accounts',
    action: 'SubAccount:View/getSubAccountList',
    summary: 'List sub accounts',
    query: listSubAccountsQuery,
    handler: ({ accountId, query }) => service.listSubAccounts(accountId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/sub-accounts',
    action: 'SubAccount:Change/createSubAccount',
    summary: 'Create a sub account (a generated password is returned once)',
    body: createSubAccountBody,
    requestTags: (b) => b.tags,
    status: 201,
    handler: ({ accountId, body, deps }) => service.createSubAccount(accountId, body, deps.stamps),
  }),
  defineRoute({
    method: 'get',
    path: '/sub-accounts/:subAccountId',
    action: 'SubAccount:View/getSubAccountDetail',
    summary: 'Get a sub account',
    params: subAccountIdParams,
    resource: subAccountResource,
    handler: ({ accountId, params }) => service.getSubAccount(accountId, params.subAccountId),
  }),
  defineRoute({
    method: 'put',
    path: '/sub-accounts/:subAccountId',
    action: 'SubAccount:Change/updateSubAccount',
    summary: 'Update a sub account',
    params: subAccountIdParams,
    body: updateSubAccountBody,
    resource: subAccountResource,
    requestTags: (b) => b.tags,
    handler: ({ accountId, params, body, deps }) => service.updateSubAccount(accountId, params.subAccountId, body, deps.stamps),
  }),
  defineRoute({
    method: 'delete',
    path: '/sub-accounts/:subAccountId',
    action: 'SubAccount:Change/deleteSubAccount',
    summary: 'Delete a sub account, its access keys, sessions and temporary credentials',
    params: subAccountIdParams,
    resource: subAccountResource,
    status: 204,
    handler: ({ accountId, params, deps }) => service.deleteSubAccount(accountId, params.subAccountId, deps.stamps),
  }),
  defineRoute({
    method: 'put',
    path: '/sub-accounts/:subAccountId/status',
    action: 'SubAccount:Change/suspendSubAccount',
    summary: 'Suspend (and disconnect) or reactivate a sub account',
    params: subAccountIdParams,
    body: statusBody,
    resource: subAccountResource,
    handler: ({ accountId, params, body, deps }) => service.setSubAccountStatus(accountId, params.subAccountId, body.status, deps.stamps),
  }),
  defineRoute({
    method: 'post',
    path: '/sub-accounts/:subAccountId/password-reset',
    action: 'SubAccount:Change/resetSubAccountPassword',
    summary: 'Reset the password (ends the sub account’s sessions)',
    params: subAccountIdParams,
    body: resetPasswordBody,
    resource: subAccountResource,
    handler: ({ accountId, params, body }) => service.resetSubAccountPassword(accountId, params.subAccountId, body),
  }),
  defineRoute({
    method: 'put',
    path: '/sub-accounts/:subAccountId/allow-sources',
    action: 'SubAccount:Change/manageSubAccountAllowSourceSetting',
    summary: 'Set console and API source IP allow-lists',
    params: subAccountIdParams,
    body: allowSourceBody,
    resource: subAccountResource,
    handler: ({ accountId, params, body }) => service.setAllowSources(accountId, params.subAccountId, body),
  }),
  defineRoute({
    method: 'delete',
    path: '/sub-accounts/:subAccountId/mfa',
    action: 'SubAccount:Change/resetSubAccountMFA',
    summary: 'Remove the sub account’s MFA device',
    params: subAccountIdParams,
    resource: subAccountResource,
    handler: ({ accountId, params }) => service.resetSubAccountMfa(accountId, params.subAccountId),
  }),
  defineRoute({
    method: 'post',
    path: '/sub-accounts/:subAccountId/policies',
    action: 'SubAccount:Change/addPolicyToSubAccount',
    summary: 'Attach policies (system-managed ids or user policy ids)',
    params: subAccountIdParams,
    body: policyIdsBody,
    resource: subAccountResource,
    handler: ({ accountId, params, body, deps }) => service.addPoliciesToSubAccount(accountId, params.subAccountId, body.policyIds, deps.stamps),
  }),
  defineRoute({
    method: 'delete',
    path: '/sub-accounts/:subAccountId/policies/:policyId',
    action: 'SubAccount:Change/removePolicyFromSubAccount',
    summary: 'Detach a policy',
    params: policyParams,
    resource: subAccountResource,
    handler: ({ accountId, params, deps }) => service.removePolicyFromSubAccount(accountId, params.subAccountId, params.policyId, deps.stamps),
  }),
];
