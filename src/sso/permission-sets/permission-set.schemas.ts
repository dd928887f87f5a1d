/**
 * Input of the permission-set API (reference/ncloud-model.md §1 "Permission Set"). The shape of
 * each field is checked here; the rules that carry Ncloud's error codes (9071: no policy, 9072:
 * unknown managed policy, and the 10-policy total) are checked by the service, which puts the
 * code in the error detail.
 */
import { z } from 'zod';
import { validatePolicyName } from '../../policy/index.js';
import { ssoDescriptionSchema, ssoIdSchema, ssoNameSchema, ssoPageQuery, ssoTagKeySchema, ssoTagsSchema } from '../shared/schemas.js';

/** A system-managed policy, by id or by name (`NCP_ADMINISTRATOR`); resolved by the service. */
const managedPolicyRef = z.string().min(1).max(64);

/** A user-created policy name, by the Sub Account API's naming rule (reference §3). */
const userPolicyName = z.string().superRefine((name, ctx) => {
  const v = validatePolicyName(name);
  if (!v.ok) for (const e of v.fieldErrors) ctx.addIssue({ code: 'custom', message: e.message });
});

// Up to 10 in all; each list alone is capped a little higher so the service, not zod, reports
// an 11th policy with the total in its message.
const managedList = z.array(managedPolicyRef).max(20);
const userList = z.array(userPolicyName).max(20);

export const permissionSetIdParams = z.object({ permissionSetId: ssoIdSchema }).strict();

export const createPermissionSetBody = z
  .object({
    permissionSetName: ssoNameSchema,
    description: ssoDescriptionSchema.default(''),
    systemManagedPolicyIds: managedList.default([]),
    userCreatedPolicyNames: userList.default([]),
    tags: ssoTagsSchema.default([]),
  })
  .strict();
export type CreatePermissionSetInput = z.infer<typeof createPermissionSetBody>;

/**
 * An update changes the description and adds policies. Policies are removed only through
 * `DELETE /permission-sets/{id}/policies`, gated by its own action (seed S4
 * change/removePermissionSetPolicy), so a caller allowed to edit a set cannot take policies away
 * unless that action is granted too. The name is immutable (§1): it may be repeated, not changed.
 */
export const updatePermissionSetBody = z
  .object({
    permissionSetName: ssoNameSchema.optional(),
    description: ssoDescriptionSchema.optional(),
    systemManagedPolicyIds: managedList.optional(),
    userCreatedPolicyNames: userList.optional(),
  })
  .strict();
export type UpdatePermissionSetInput = z.infer<typeof updatePermissionSetBody>;

export const removePoliciesBody = z
  .object({
    systemManagedPolicyIds: managedList.default([]),
    userCreatedPolicyNames: z.array(z.string().min(1).max(128)).max(20).default([]),
  })
  .strict()
  .refine((b) => b.systemManagedPolicyIds.length + b.userCreatedPolicyNames.length > 0, {
    message: 'name at least one policy to remove',
    path: ['systemManagedPolicyIds'],
  });
export type RemovePoliciesInput = z.infer<typeof removePoliciesBody>;

export const listPermissionSetsQuery = ssoPageQuery.extend({
  /** Prefix of the name, matched case-insensitively. */
  permissionSetName: z.string().max(30).optional(),
});
export type ListPermissionSetsQuery = z.infer<typeof listPermissionSetsQuery>;

export const tagBody = z.object({ tags: ssoTagsSchema.refine((t) => t.length > 0, 'at least one tag') }).strict();
export const untagBody = z.object({ tagKeys: z.array(ssoTagKeySchema).min(1).max(20) }).strict();
