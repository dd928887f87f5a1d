/**
 * Access keys of sub accounts (seed S1 SubAccount group), under the sub account they belong to:
 * each route is gated by exactly the action the table names, on the sub account's NRN (the
 * resource type S1 gives these actions), so `resourceNrns` can limit who manages whose keys.
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { pageQuery } from '../../shared/pagination.js';
import { subAccountResource } from '../sub-accounts/sub-account.routes.js';
import { subAccountIdParams } from '../sub-accounts/sub-account.schemas.js';
import { accessKeyParams, accessKeyStatusBody } from './access-key.schemas.js';
import * as service from './access-key.service.js';

type KeyParams = z.infer<typeof accessKeyParams>;

/** The owning sub account is the resource authorized against (its NRN and tags). */
const ownerResource = ({ accountId, params }: { accountId: number; params: KeyParams }) => subAccountResource({ accountId, params });

export const accessKeyRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/sub-accounts/:subAccountId/access-keys',
    action: 'SubAccount:View/getSubAccountAccessKey',
    summary: 'List a sub account’s access keys (ids, status, times; never secrets)',
    params: subAccountIdParams,
    query: pageQuery,
    resource: subAccountResource,
    handler: ({ accountId, params, query, resource }) =>
      service.listSubAccountAccessKeys(accountId, params.subAccountId, resource.entity !== undefined, query),
  }),
  defineRoute({
    method: 'post',
    path: '/sub-accounts/:subAccountId/access-keys',
    action: 'SubAccount:Change/createSubAccountAccessKey',
    summary: 'Create an access key (at most 2 per sub account); the secret is returned once',
    params: subAccountIdParams,
    resource: subAccountResource,
    status: 201,
    handler: ({ accountId, params, resource, deps }) =>
      service.createSubAccountAccessKey(accountId, params.subAccountId, resource.entity !== undefined, deps.keyring),
  }),
  defineRoute({
    method: 'delete',
    path: '/sub-accounts/:subAccountId/access-keys/:accessKey',
    action: 'SubAccount:Change/deleteSubAccountAccessKey',
    summary: 'Delete an access key (requests signed with it stop at once)',
    params: accessKeyParams,
    resource: ownerResource,
    status: 204,
    handler: ({ accountId, params, resource }) =>
      service.deleteSubAccountAccessKey(accountId, params.subAccountId, params.accessKey, resource.entity !== undefined),
  }),
  defineRoute({
    method: 'put',
    path: '/sub-accounts/:subAccountId/access-keys/:accessKey',
    action: 'SubAccount:Change/manageSubAccountAccessKeyState',
    summary: 'Activate or deactivate an access key',
    params: accessKeyParams,
    body: accessKeyStatusBody,
    resource: ownerResource,
    handler: ({ accountId, params, body, resource }) =>
      service.setSubAccountAccessKeyStatus(accountId, params.subAccountId, params.accessKey, body.status, resource.entity !== undefined),
  }),
];
