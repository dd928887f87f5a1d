/**
 * Input of the IP ACL API (reference/ncloud-model.md §1 "IP ACL": name rules shared by every SSO
 * resource, description ≤300, `accessIps` 1-20 IPv4/IPv6/CIDR entries; PUT replaces the whole
 * object; reverse links to assignments as `consoleAccessAssignmentIds` / `apiAccessAssignmentIds`).
 */
import { z } from 'zod';
import { ssoDescriptionSchema, ssoIdSchema, ssoNameSchema, ssoPageQuery, ssoTagKeySchema, ssoTagsSchema } from '../shared/schemas.js';
import { IP_ACL_ENTRIES_MAX } from './ip-acl.model.js';
import { canonicalIpAclEntry } from './ip-entry.js';

/** 1-20 entries, each validated and stored canonically (ip-entry.ts); two spellings of one range are one entry. */
export const accessIpsSchema = z
  .array(z.string().max(64, 'must be at most 64 characters'))
  .min(1, 'at least one entry is required')
  .max(IP_ACL_ENTRIES_MAX, `at most ${IP_ACL_ENTRIES_MAX} entries`)
  .transform((list, ctx) => {
    const out: string[] = [];
    list.forEach((raw, i) => {
      const entry = canonicalIpAclEntry(raw);
      if (!entry) ctx.addIssue({ code: 'custom', path: [i], message: `"${raw}" is not an IPv4/IPv6 address or CIDR range` });
      else if (!out.includes(entry)) out.push(entry);
    });
    return out;
  });

export const ipAclIdParams = z.object({ ipAclId: ssoIdSchema }).strict();

export const createIpAclBody = z
  .object({
    ipAclName: ssoNameSchema,
    description: ssoDescriptionSchema.default(''),
    accessIps: accessIpsSchema,
    tags: ssoTagsSchema.default([]),
  })
  .strict();
export type CreateIpAclInput = z.infer<typeof createIpAclBody>;

/**
 * PUT replaces the whole object (§1): what is not sent is reset (description to empty). The name
 * is immutable: it may be repeated (clients that PUT back what they read) but not changed. Tags
 * have their own actions (tagIPACL/untagIPACL), so a caller allowed only updateIPACL cannot
 * change the tags that other policies' `ncp:resourceTag` conditions rely on.
 */
export const replaceIpAclBody = z
  .object({
    ipAclName: ssoNameSchema.optional(),
    description: ssoDescriptionSchema.default(''),
    accessIps: accessIpsSchema,
  })
  .strict();
export type ReplaceIpAclInput = z.infer<typeof replaceIpAclBody>;

export const listIpAclsQuery = ssoPageQuery.extend({
  /** Prefix of the name, matched case-insensitively. */
  ipAclName: z.string().max(30).optional(),
});
export type ListIpAclsQuery = z.infer<typeof listIpAclsQuery>;

export const tagBody = z.object({ tags: ssoTagsSchema.refine((t) => t.length > 0, 'at least one tag') }).strict();
export const untagBody = z.object({ tagKeys: z.array(ssoTagKeySchema).min(1).max(20) }).strict();

/** Reverse links: the assignments this ACL restricts, for console and for API access (≤100 ids per call). */
export const ipAclAssignmentsBody = z
  .object({
    consoleAccessAssignmentIds: z.array(ssoIdSchema).max(100).default([]),
    apiAccessAssignmentIds: z.array(ssoIdSchema).max(100).default([]),
  })
  .strict()
  .refine((b) => b.consoleAccessAssignmentIds.length + b.apiAccessAssignmentIds.length > 0, {
    message: 'name at least one assignment in consoleAccessAssignmentIds or apiAccessAssignmentIds',
    path: ['consoleAccessAssignmentIds'],
  });
export type IpAclAssignmentsInput = z.infer<typeof ipAclAssignmentsBody>;
