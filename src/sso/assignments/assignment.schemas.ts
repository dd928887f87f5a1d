/**
 * Input of the assignment API (reference/ncloud-model.md §1 "Assignment": one account
 * (`accountMemberNo`) × one permission set, name, description, console/API flags, status,
 * targets `{targetType: user|group, targetIds[]}`, console and API IP ACLs ≤5 each, tags).
 */
import { z } from 'zod';
import { ssoDescriptionSchema, ssoIdSchema, ssoNameSchema, ssoPageQuery, ssoTagKeySchema, ssoTagsSchema } from '../shared/schemas.js';
import { ASSIGNMENT_IP_ACL_MAX, ASSIGNMENT_STATUSES, TARGET_TYPES } from './assignment.model.js';

export const assignmentIdParams = z.object({ assignmentId: ssoIdSchema }).strict();
export const userAssignmentParams = z.object({ userId: ssoIdSchema, assignmentId: ssoIdSchema }).strict();
export const groupAssignmentParams = z.object({ groupId: ssoIdSchema, assignmentId: ssoIdSchema }).strict();

/** Ncloud member numbers are int64; Gatehouse's are positive integers. */
const memberNo = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const createAssignmentBody = z
  .object({
    assignmentName: ssoNameSchema,
    description: ssoDescriptionSchema.default(''),
    /** The target account; this account when omitted. Another account only with organization integration on. */
    accountMemberNo: memberNo.optional(),
    permissionSetId: ssoIdSchema,
    consoleAccessAllowed: z.boolean().default(true),
    apiAccessAllowed: z.boolean().default(false),
    tags: ssoTagsSchema.default([]),
  })
  .strict();
export type CreateAssignmentInput = z.infer<typeof createAssignmentBody>;

/**
 * The name, the account and the permission set are what the assignment *is* (its SSO role is
 * built from them): they do not change; a different pairing is a new assignment (AWS IAM Identity
 * Center likewise identifies an assignment by account × permission set × principal).
 */
export const updateAssignmentBody = z
  .object({
    assignmentName: ssoNameSchema.optional(),
    description: ssoDescriptionSchema.optional(),
    consoleAccessAllowed: z.boolean().optional(),
    apiAccessAllowed: z.boolean().optional(),
  })
  .strict();
export type UpdateAssignmentInput = z.infer<typeof updateAssignmentBody>;

export const statusBody = z.object({ status: z.enum(ASSIGNMENT_STATUSES) }).strict();

export { TARGET_TYPES, type TargetType } from './assignment.model.js';

/** One request names up to 100 principals of one type (reference §1 "Targets"). */
export const targetsBody = z
  .object({
    targetType: z.enum(TARGET_TYPES),
    targetIds: z.array(ssoIdSchema).min(1).max(100),
  })
  .strict();
export type TargetsInput = z.infer<typeof targetsBody>;

const ipAclIds = z.array(ssoIdSchema).max(ASSIGNMENT_IP_ACL_MAX, `at most ${ASSIGNMENT_IP_ACL_MAX} IP ACLs per access type`);

/**
 * Adds console and/or API IP ACLs (reference §1: ≤5 each; `…Restricted=false` detaches that
 * type's ACLs). Naming ACLs restricts that access type to them; `…Restricted: true` with no ACL
 * (none given, none attached) is refused rather than stored as "nobody may enter".
 */
export const addIpAclsBody = z
  .object({
    consoleAccessRestricted: z.boolean().optional(),
    consoleAccessIpAclIds: ipAclIds.optional(),
    apiAccessRestricted: z.boolean().optional(),
    apiAccessIpAclIds: ipAclIds.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    for (const kind of ['console', 'api'] as const) {
      const ids = b[`${kind}AccessIpAclIds`];
      if (b[`${kind}AccessRestricted`] === false && ids?.length) {
        ctx.addIssue({ code: 'custom', path: [`${kind}AccessIpAclIds`], message: `${kind}AccessRestricted=false detaches the ${kind} IP ACLs: send no ids with it` });
      }
    }
    if (Object.values(b).every((v) => v === undefined)) ctx.addIssue({ code: 'custom', path: [], message: 'nothing to change' });
  });
export type AddIpAclsInput = z.infer<typeof addIpAclsBody>;

export const removeIpAclsBody = z
  .object({
    consoleAccessIpAclIds: ipAclIds.default([]),
    apiAccessIpAclIds: ipAclIds.default([]),
  })
  .strict()
  .refine((b) => b.consoleAccessIpAclIds.length + b.apiAccessIpAclIds.length > 0, { message: 'name at least one IP ACL to remove', path: ['consoleAccessIpAclIds'] });
export type RemoveIpAclsInput = z.infer<typeof removeIpAclsBody>;

export const listAssignmentsQuery = ssoPageQuery.extend({
  /** Prefix of the name, matched case-insensitively. */
  assignmentName: z.string().max(30).optional(),
  permissionSetId: ssoIdSchema.optional(),
  accountMemberNo: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  status: z.enum(ASSIGNMENT_STATUSES).optional(),
});
export type ListAssignmentsQuery = z.infer<typeof listAssignmentsQuery>;

export const listTargetsQuery = ssoPageQuery.extend({ targetType: z.enum(TARGET_TYPES).default('user') });
export type ListTargetsQuery = z.infer<typeof listTargetsQuery>;

export const tagBody = z.object({ tags: ssoTagsSchema.refine((t) => t.length > 0, 'at least one tag') }).strict();
export const untagBody = z.object({ tagKeys: z.array(ssoTagKeySchema).min(1).max(20) }).strict();
