/**
 * Input of the tenant API (reference/ncloud-model.md §1 "Tenant", §5 "SSO v1 paths"). Bodies are
 * strict: an unknown field (`tenantId`, `accountId`, `organizationEnabled`, …) is a 400, never
 * silently stored (security-bar §4 "Mass assignment").
 */
import { z } from 'zod';
import { ssoDescriptionSchema, ssoPageQuery, ssoTagKeySchema, ssoTagsSchema } from '../shared/schemas.js';

/**
 * The alias is the changeable URL segment of the tenant (`/tenants/{alias}/login`). Lowercase
 * letters, digits and hyphens, 3-30, starting and ending with a letter or digit (like a DNS
 * label, so it reads well in a URL); never 36 characters, so it can never look like a tenant id.
 * Not lowercased for the caller: Ncloud's login alias rule is "lowercase", and a URL segment that
 * differs from what was typed would surprise.
 */
export const tenantAliasSchema = z
  .string()
  .min(3, 'must be at least 3 characters')
  .max(30, 'must be at most 30 characters')
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'lowercase letters, digits and hyphens only, starting and ending with a letter or digit');

export const MEMBER_LOGIN_POLICIES = ['UNUSED', 'ALLOW', 'DENY'] as const;
export type MemberLoginPolicy = (typeof MEMBER_LOGIN_POLICIES)[number];
const memberLoginPolicySchema = z.enum(MEMBER_LOGIN_POLICIES, { message: 'must be UNUSED, ALLOW or DENY' });

/**
 * `termsAgreed` must be `true` (reference §1: "Creating a tenant requires accepting terms").
 * No tags at creation: `change/createTenant` supports no `ncp:requestTag` (seed S4), so tags set
 * here could not be governed by policy; tag with `POST /tenant/tags` (`change/tagTenant`) instead.
 */
export const createTenantBody = z
  .object({
    termsAgreed: z.literal(true, { message: 'you must agree to the terms of service (termsAgreed: true)' }),
    tenantAlias: tenantAliasSchema.optional(),
    memberLoginPolicy: memberLoginPolicySchema.default('UNUSED'),
    description: ssoDescriptionSchema.default(''),
  })
  .strict();
export type CreateTenantInput = z.infer<typeof createTenantBody>;

export const updateTenantBody = z
  .object({
    tenantAlias: tenantAliasSchema.optional(),
    memberLoginPolicy: memberLoginPolicySchema.optional(),
    description: ssoDescriptionSchema.optional(),
  })
  .strict()
  .refine((b) => b.tenantAlias !== undefined || b.memberLoginPolicy !== undefined || b.description !== undefined, 'give at least one of tenantAlias, memberLoginPolicy, description');
export type UpdateTenantInput = z.infer<typeof updateTenantBody>;

export const organizationBody = z.object({ enable: z.boolean({ message: 'must be true or false' }) }).strict();

export const tagTenantBody = z.object({ tags: ssoTagsSchema.min(1, 'give at least one tag') }).strict();
export const untagTenantParams = z.object({ tagKey: ssoTagKeySchema });

export const accountListQuery = ssoPageQuery;

export const policyListQuery = ssoPageQuery.extend({
  policyType: z.enum(['SystemManaged', 'UserCreated'], { message: 'must be SystemManaged or UserCreated' }).optional(),
});
export type PolicyListQuery = z.infer<typeof policyListQuery>;
