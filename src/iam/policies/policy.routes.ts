/**
 * `/api/v1/subaccount/policies…`: user-created and system-managed policies, one route per action
 * of seed S1's Policy group, each gated by exactly the action the table names. Routes on one
 * policy authorize against its NRN (`nrn:PUB:SubAccount::{memberNo}:Policy/{policyId}`).
 */
import type { z } from 'zod';
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { createPolicyBody, listPoliciesQuery, policyIdParams, updatePolicyBody, validatePolicyBody } from './policy.schemas.js';
import * as service from './policy.service.js';

/** The policy named in the path (system-managed ones by id or name), with its tags. */
export async function policyResource({ accountId, params }: { accountId: number; params: z.infer<typeof policyIdParams> }) {
  const entity = await service.findPolicyEntity(accountId, params.policyId);
  return {
    nrn: service.policyNrnOf(accountId, params.policyId, entity),
    tags: entity?.kind === 'user' ? entity.policy.tags : [],
    entity,
  };
}

export const policyRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'get',
    path: '/policies',
    action: 'SubAccount:View/getPolicyList',
    summary: 'List user-created policies, or system-managed ones with type=system',
    query: listPoliciesQuery,
    handler: ({ accountId, query }) => service.listPolicies(accountId, query),
  }),
  defineRoute({
    method: 'post',
    path: '/policies/validate',
    action: 'SubAccount:View/validatePolicy',
    summary: 'Check a policy (name, description, tags, document) without storing it',
    body: validatePolicyBody,
    handler: async ({ body }) => service.validatePolicy(body),
  }),
  defineRoute({
    method: 'post',
    path: '/policies',
    action: 'SubAccount:Change/createPolicy',
    summary: 'Create a user policy (related actions are added unless includeRelatedActions is false)',
    body: createPolicyBody,
    requestTags: (b) => b.tags,
    status: 201,
    handler: ({ accountId, body }) => service.createPolicy(accountId, body),
  }),
  defineRoute({
    method: 'get',
    path: '/policies/:policyId',
    action: 'SubAccount:View/getPolicyDetail',
    summary: 'Get a policy with its document and where it is attached',
    params: policyIdParams,
    resource: policyResource,
    handler: ({ accountId, params, resource }) => service.getPolicy(accountId, params.policyId, resource.entity),
  }),
  defineRoute({
    method: 'put',
    path: '/policies/:policyId',
    action: 'SubAccount:Change/updatePolicy',
    summary: 'Update a user policy (system-managed policies are read-only)',
    params: policyIdParams,
    body: updatePolicyBody,
    resource: policyResource,
    requestTags: (b) => b.tags,
    handler: ({ accountId, params, body, resource, deps }) =>
      service.updatePolicy(accountId, params.policyId, resource.entity, body, deps.stamps),
  }),
  defineRoute({
    method: 'delete',
    path: '/policies/:policyId',
    action: 'SubAccount:Change/deletePolicy',
    summary: 'Delete a user policy that is attached nowhere',
    params: policyIdParams,
    resource: policyResource,
    status: 204,
    handler: ({ accountId, params, resource, deps }) => service.deletePolicy(accountId, params.policyId, resource.entity, deps.stamps),
  }),
];
