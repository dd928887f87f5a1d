/**
 * Input of the role API (reference/ncloud-model.md §3 "Roles"). Ncloud documents no naming rule
 * for roles; Gatehouse applies its policy API rule (3-30 letters, digits, ". _ -", starting with a
 * letter) so roles and policies read alike. Descriptions: ≤ 300 bytes like policies.
 */
import { z } from 'zod';
import { parseNrn, validatePolicyDescription, validatePolicyName } from '../../policy/index.js';
import { pageQuery } from '../../shared/pagination.js';
import { tagsSchema } from '../../shared/tags.js';
import { ROLE_SESSION_SECONDS, ROLE_TYPES } from './role.model.js';

export const roleIdParams = z.object({ roleId: z.string().uuid('must be a role id') });

const roleName = z.string().superRefine((name, ctx) => {
  const v = validatePolicyName(name, 'roleName');
  if (!v.ok) for (const e of v.fieldErrors) ctx.addIssue({ code: 'custom', message: e.message });
});

const description = z.string().superRefine((d, ctx) => {
  for (const e of validatePolicyDescription(d)) ctx.addIssue({ code: 'custom', message: e.message });
});

const sessionExpirationSec = z
  .number()
  .int()
  .refine((n) => (ROLE_SESSION_SECONDS as readonly number[]).includes(n), `must be one of ${ROLE_SESSION_SECONDS.join(', ')} seconds`);

/** Attached policies: system-managed ids or names, user policy ids (the same ids sub accounts take). */
const policyId = z.string().min(1).max(64);

export const createRoleBody = z
  .object({
    roleName,
    roleType: z.enum(ROLE_TYPES).refine((t) => t !== 'SSO', 'SSO roles are created by Single Sign-On assignments, not through this API'),
    description: description.optional(),
    sessionExpirationSec: sessionExpirationSec.optional(),
    policyIds: z.array(policyId).max(20).default([]),
    tags: tagsSchema.default([]),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.sessionExpirationSec !== undefined && b.roleType !== 'Account') {
      ctx.addIssue({ code: 'custom', path: ['sessionExpirationSec'], message: 'only account roles have a session expiry' });
    }
  });
export type CreateRoleInput = z.infer<typeof createRoleBody>;

export const updateRoleBody = z
  .object({
    description: description.optional(),
    sessionExpirationSec: sessionExpirationSec.optional(),
    tags: tagsSchema.optional(),
  })
  .strict();
export type UpdateRoleInput = z.infer<typeof updateRoleBody>;

export const listRolesQuery = pageQuery.extend({
  roleType: z.enum(ROLE_TYPES).optional(),
  searchRoleName: z.string().trim().max(30).optional(),
});
export type ListRolesQuery = z.infer<typeof listRolesQuery>;

export const policyIdsBody = z.object({ policyIds: z.array(policyId).min(1).max(20) }).strict();
export const rolePolicyParams = roleIdParams.extend({ policyId });

export const statusBody = z.object({ status: z.enum(['active', 'suspended']) }).strict();

/**
 * Target account of an account role. Empty: this account. A foreign account is named by its
 * account name and its root's login id, both of which must match (reference/ncloud-model.md §3
 * "switchRole": "naming another account requires authenticating it with its account name and
 * login ID").
 */
export const attachAccountBody = z
  .object({
    accountName: z.string().trim().min(1).max(60).optional(),
    loginId: z.string().trim().min(1).max(100).optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if ((b.accountName === undefined) !== (b.loginId === undefined)) {
      ctx.addIssue({ code: 'custom', path: [b.accountName === undefined ? 'accountName' : 'loginId'], message: 'name a foreign account by both its account name and its login id' });
    }
  });
export type AttachAccountInput = z.infer<typeof attachAccountBody>;

export const targetAccountParams = roleIdParams.extend({ memberNo: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

/** A server NRN, e.g. `nrn:PUB:VPCServer:KR:1000001:Server/12345` (catalog: View/getServerInstanceDetail on VPCServer:Server). */
export const serverNrnSchema = z
  .string()
  .max(128)
  .refine((s) => {
    const n = parseNrn(s);
    return n !== undefined && n.product === 'VPCServer' && n.resourceType === 'Server';
  }, 'must be a VPC server NRN: nrn:PUB:VPCServer:{region}:{memberNo}:Server/{serverInstanceNo}');

export const serverNrnsBody = z.object({ serverNrns: z.array(serverNrnSchema).min(1).max(20) }).strict();
export const roleServerParams = roleIdParams.extend({ serverNrn: serverNrnSchema });
export const serverParams = z.object({ serverNrn: serverNrnSchema });
export const listServersQuery = pageQuery;
