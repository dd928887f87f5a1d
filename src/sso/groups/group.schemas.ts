/**
 * Input of the SSO group API (reference/ncloud-model.md §1 "Common conventions" and "Group"):
 * names 2-30 characters of `^[A-Za-z0-9]+[A-Za-z0-9_-]*$`, unique per tenant case-insensitively
 * and immutable; descriptions ≤300; SSO tags (src/sso/shared/tags.ts).
 */
import { z } from 'zod';
import { pageQuery } from '../../shared/pagination.js';
import { ssoDescriptionSchema, ssoIdSchema, ssoNameSchema, ssoTagKeySchema, ssoTagsSchema } from '../shared/schemas.js';

/** At most this many users per membership call from the group's side. */
export const MEMBERS_PER_CALL = 100;

export const groupIdParams = z.object({ groupId: ssoIdSchema });
export const groupMemberParams = groupIdParams.extend({ userId: ssoIdSchema });
export const groupTagParams = groupIdParams.extend({ tagKey: ssoTagKeySchema });

export const createGroupBody = z
  .object({
    groupName: ssoNameSchema,
    description: ssoDescriptionSchema.default(''),
    tags: ssoTagsSchema.default([]),
  })
  .strict();
export type CreateGroupInput = z.infer<typeof createGroupBody>;

/** The name is immutable and tags have their own actions: only the description is accepted. */
export const updateGroupBody = z.object({ description: ssoDescriptionSchema }).strict();
export type UpdateGroupInput = z.infer<typeof updateGroupBody>;

export const listGroupsQuery = pageQuery.extend({
  /** Group name prefix, case-insensitive. */
  groupName: z.string().max(30).optional(),
});
export type ListGroupsQuery = z.infer<typeof listGroupsQuery>;

export const membersQuery = pageQuery;

export const userIdsBody = z
  .object({
    userIds: z
      .array(ssoIdSchema)
      .min(1, 'give at least one user id')
      .max(MEMBERS_PER_CALL, `at most ${MEMBERS_PER_CALL} users per call`),
  })
  .strict();

export const groupTagsBody = z.object({ tags: ssoTagsSchema.refine((t) => t.length > 0, 'give at least one tag') }).strict();
