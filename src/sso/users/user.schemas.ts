/**
 * Input of the SSO user API (reference/ncloud-model.md §1 "SSO User"): `loginId` in email form,
 * 3-60 characters, immutable; `userProfile` fields each ≤200; `accessRules`; description ≤300
 * (the SSO-wide rule); tags with the SSO tag rules (src/sso/shared/tags.ts).
 *
 * Where the reference is silent:
 * - `loginId` is not trimmed: an address with surrounding spaces is refused, not changed.
 * - The optional initial `password` (automation; the sign-in issue verifies it) follows NIST SP
 *   800-63B: the schema only bounds the raw input (8, the lowest tenant minimum, to 1024 UTF-16
 *   units); the service applies the tenant's policy (src/auth/password-policy.ts: its
 *   `passwordMinLength`, 256 code points after NFKC, blocklist, context words), never trimmed.
 *   With a password, `needPasswordReset` defaults to true (Keycloak's "temporary" default).
 * - Allowed source IPs: the sub account's shape (`consolePermitIps`, `useApiAllowSource`,
 *   `apiAllowSources`; reference §1 marks it [I]), at most 50 entries each, normalised.
 * - The TOTP key (`encodedKey`) must carry at least 128 bits (RFC 4226 §4 R6): 26 or more base32
 *   characters once spaces and padding are removed (authenticator apps show keys in groups).
 */
import { z } from 'zod';
import { normalizeIpEntry } from '../../shared/ip.js';
import { pageQuery } from '../../shared/pagination.js';
import { ssoDescriptionSchema, ssoIdSchema, ssoTagKeySchema, ssoTagsSchema } from '../shared/schemas.js';
import { SSO_USER_STATUSES } from './user.model.js';

/** At most this many rows per bulk create or bulk delete call. */
export const BULK_LIMIT = 100;
/** At most this many groups (or users, from the group side) per membership call. */
export const MEMBERSHIP_BATCH_LIMIT = 100;

const profileText = z.string().max(200, 'must be at most 200 characters');

export const loginIdSchema = z.email('must be an email address').min(3, 'must be at least 3 characters').max(60, 'must be at most 60 characters');

export const passwordSchema = z.string().min(8, 'must be at least 8 characters').max(1024, 'must be at most 256 characters');

const userProfileFields = {
  firstName: profileText,
  lastName: profileText,
  email: z.union([z.literal(''), z.email('must be an email address').max(200, 'must be at most 200 characters')]),
  emailVerified: z.boolean(),
  empNo: profileText,
  phoneCountryCode: z.string().max(200, 'must be at most 200 characters').regex(/^\+?[0-9]*$/, 'digits only, optionally after +'),
  phoneNo: z.string().max(200, 'must be at most 200 characters').regex(/^[0-9 -]*$/, 'digits, spaces and - only'),
  phoneNoVerified: z.boolean(),
  deptName: profileText,
};

export const userProfileSchema = z.object(userProfileFields).partial().strict();
export type UserProfileInput = z.infer<typeof userProfileSchema>;

export const accessRulesSchema = z.object({ consoleAccessAllowed: z.boolean(), apiAccessAllowed: z.boolean() }).partial().strict();
export type AccessRulesInput = z.infer<typeof accessRulesSchema>;

export const ipListSchema = z
  .array(z.string().max(64, 'must be at most 64 characters'))
  .max(50, 'at most 50 entries')
  .transform((list, ctx) => {
    const out: string[] = [];
    list.forEach((raw, i) => {
      const n = normalizeIpEntry(raw);
      if (!n) ctx.addIssue({ code: 'custom', path: [i], message: `"${raw}" is not an IPv4/IPv6 address or CIDR range` });
      else if (!out.includes(n)) out.push(n);
    });
    return out;
  });

export const createUserBody = z
  .object({
    loginId: loginIdSchema,
    description: ssoDescriptionSchema.default(''),
    userProfile: userProfileSchema.default({}),
    accessRules: accessRulesSchema.default({}),
    password: passwordSchema.optional(),
    needPasswordReset: z.boolean().optional(),
    tags: ssoTagsSchema.default([]),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.needPasswordReset !== undefined && b.password === undefined) {
      ctx.addIssue({ code: 'custom', path: ['needPasswordReset'], message: 'only meaningful with a password' });
    }
  });
export type CreateUserInput = z.infer<typeof createUserBody>;

/** Bulk create: rows are validated one by one (src/sso/users/user.bulk.ts), so one bad row spoils no other. */
export const bulkCreateBody = z
  .object({ users: z.array(z.unknown()).min(1, 'give at least one user').max(BULK_LIMIT, `at most ${BULK_LIMIT} users per call`) })
  .strict();
export type BulkCreateInput = z.infer<typeof bulkCreateBody>;

export const bulkDeleteBody = z
  .object({
    userIds: z.array(ssoIdSchema).min(1, 'give at least one user id').max(BULK_LIMIT, `at most ${BULK_LIMIT} users per call`),
  })
  .strict();

/** `loginId` is immutable and tags have their own actions (tagUser/untagUser): neither is accepted here. */
export const updateUserBody = z
  .object({
    description: ssoDescriptionSchema.optional(),
    userProfile: userProfileSchema.optional(),
    accessRules: accessRulesSchema.optional(),
  })
  .strict()
  .refine((b) => b.description !== undefined || b.userProfile !== undefined || b.accessRules !== undefined, {
    message: 'give at least one of description, userProfile, accessRules',
  });
export type UpdateUserInput = z.infer<typeof updateUserBody>;

export const userIdParams = z.object({ userId: ssoIdSchema });
export const userTagParams = userIdParams.extend({ tagKey: ssoTagKeySchema });
export const userGroupParams = userIdParams.extend({ groupId: ssoIdSchema });
export const userSessionParams = userIdParams.extend({ sessionId: ssoIdSchema });

export const listUsersQuery = pageQuery.extend({
  /** Login id prefix, case-insensitive. */
  loginId: z.string().max(60).optional(),
  status: z.enum(SSO_USER_STATUSES).optional(),
  /** Members of this group only. */
  groupId: ssoIdSchema.optional(),
});
export type ListUsersQuery = z.infer<typeof listUsersQuery>;

export const statusBody = z.object({ status: z.enum(SSO_USER_STATUSES) }).strict();

export const tagsBody = z.object({ tags: ssoTagsSchema.refine((t) => t.length > 0, 'give at least one tag') }).strict();

export const allowSourcesBody = z
  .object({
    consolePermitIps: ipListSchema.optional(),
    useApiAllowSource: z.boolean().optional(),
    apiAllowSources: ipListSchema.optional(),
  })
  .strict()
  .refine((b) => b.consolePermitIps !== undefined || b.useApiAllowSource !== undefined || b.apiAllowSources !== undefined, {
    message: 'give at least one of consolePermitIps, useApiAllowSource, apiAllowSources',
  });
export type AllowSourcesInput = z.infer<typeof allowSourcesBody>;

/** Base32 (RFC 4648) without spaces or padding, uppercased. */
export const totpKeySchema = z
  .string()
  .max(256, 'must be at most 256 characters')
  .transform((s) => s.replace(/[\s=]/g, '').toUpperCase())
  .pipe(
    z
      .string()
      .regex(/^[A-Z2-7]*$/, 'must be base32 (A-Z, 2-7)')
      .min(26, 'must carry at least 128 bits (26 base32 characters)')
      .max(128, 'must be at most 128 base32 characters'),
  );

export const addMfaDeviceBody = z
  .object({
    encodedKey: totpKeySchema,
    otpNo: z.string().regex(/^\d{6}$/, 'must be 6 digits'),
  })
  .strict();

export const groupIdsBody = z
  .object({
    groupIds: z
      .array(ssoIdSchema)
      .min(1, 'give at least one group id')
      .max(MEMBERSHIP_BATCH_LIMIT, `at most ${MEMBERSHIP_BATCH_LIMIT} groups per call`),
  })
  .strict();

export const userGroupsQuery = pageQuery;
export const sessionsQuery = pageQuery;
