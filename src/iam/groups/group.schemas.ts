/**
 * Input of the group API (seed S1 "Group" actions). Ncloud documents no rules for group names, so
 * they follow Ncloud's own API naming rule for policies (reference/ncloud-model.md §3: 3-30
 * Korean/English/Japanese letters, digits and `. _ -`, starting with a letter), which keeps names
 * safe in URLs, logs and the console; AWS IAM is looser (1-128 of `[\w+=,.@-]`). Names are unique
 * per account case-insensitively, as in AWS IAM. Descriptions: at most 300 bytes, like policies.
 */
import { z } from 'zod';
import { validatePolicyDescription, validatePolicyName } from '../../policy/index.js';
import { pageQuery } from '../../shared/pagination.js';
import { tagsSchema } from '../../shared/tags.js';

/** AWS IAM quotas (Ncloud documents none): groups per account, groups per user, policies per group (the adjustable maximum). */
export const GROUP_LIMIT = 300;
export const GROUPS_PER_SUB_ACCOUNT = 10;
export const POLICIES_PER_GROUP = 20;

export function groupNameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

const groupName = z
  .string()
  .transform((s) => s.normalize('NFC'))
  .superRefine((name, ctx) => {
    const checked = validatePolicyName(name, 'groupName');
    if (!checked.ok) for (const e of checked.fieldErrors) ctx.addIssue({ code: 'custom', message: e.message });
  });

const description = z.string().superRefine((d, ctx) => {
  for (const e of validatePolicyDescription(d)) ctx.addIssue({ code: 'custom', message: e.message });
});

export const groupIdParams = z.object({ groupId: z.string().uuid('must be a group id') });
export const groupMemberParams = groupIdParams.extend({ subAccountId: z.string().uuid('must be a sub account id') });
export const groupPolicyParams = groupIdParams.extend({
  policyId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a policy id or a system-managed policy name'),
});

export const createGroupBody = z
  .object({
    groupName,
    description: description.default(''),
    tags: tagsSchema.default([]),
  })
  .strict();
export type CreateGroupInput = z.infer<typeof createGroupBody>;

export const updateGroupBody = z
  .object({
    groupName: groupName.optional(),
    description: description.optional(),
    tags: tagsSchema.optional(),
  })
  .strict()
  .refine((b) => b.groupName !== undefined || b.description !== undefined || b.tags !== undefined, {
    message: 'give at least one of groupName, description, tags',
  });
export type UpdateGroupInput = z.infer<typeof updateGroupBody>;

export const listGroupsQuery = pageQuery.extend({
  /** Group name prefix, case-insensitive. */
  searchName: z.string().max(64).optional(),
});
export type ListGroupsQuery = z.infer<typeof listGroupsQuery>;

/** The detail view pages the group's members with the usual pageNo / pageSize. */
export const groupDetailQuery = pageQuery;

const uniqueIds = <T extends string>(ids: T[]) => [...new Set(ids)];

export const subAccountIdsBody = z
  .object({ subAccountIds: z.array(z.string().uuid('must be a sub account id')).min(1).max(100).transform(uniqueIds) })
  .strict();

export const groupPolicyIdsBody = z
  .object({
    policyIds: z
      .array(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a policy id or a system-managed policy name'))
      .min(1)
      .max(POLICIES_PER_GROUP)
      .transform(uniqueIds),
  })
  .strict();
