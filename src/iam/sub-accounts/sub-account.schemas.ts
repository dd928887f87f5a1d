/**
 * Input of the sub-account API (reference/ncloud-model.md §3 "Sub account": loginId 3-60, name
 * 2-30, email 6-100, memo; access flags; allow-lists). Passwords: Ncloud asks for 8-16 mixed
 * characters; Gatehouse follows NIST SP 800-63B instead (length over composition): 12-128
 * characters, any characters, never trimmed.
 */
import { z } from 'zod';
import { normalizeIpEntry } from '../../shared/ip.js';
import { tagsSchema } from '../../shared/tags.js';

export const passwordSchema = z.string().min(12, 'must be at least 12 characters').max(128, 'must be at most 128 characters');

export const ipListSchema = (max: number) =>
  z
    .array(z.string().max(64))
    .max(max, `at most ${max} entries`)
    .transform((list, ctx) => {
      const out: string[] = [];
      list.forEach((raw, i) => {
        const n = normalizeIpEntry(raw);
        if (!n) ctx.addIssue({ code: 'custom', path: [i], message: `"${raw}" is not an IPv4/IPv6 address or CIDR range` });
        else if (!out.includes(n)) out.push(n);
      });
      return out;
    });

export const subAccountIdParams = z.object({ subAccountId: z.string().uuid('must be a sub account id') });

export const createSubAccountBody = z
  .object({
    loginId: z.string().trim().min(3).max(60).regex(/^[A-Za-z0-9._@-]+$/, 'letters, digits and . _ @ - only'),
    name: z.string().trim().min(2).max(30),
    email: z.string().trim().min(6).max(100).email().optional(),
    memo: z.string().max(300).optional(),
    canConsoleAccess: z.boolean().default(true),
    canAPIGatewayAccess: z.boolean().default(false),
    consolePermitIps: ipListSchema(50).default([]),
    useApiAllowSource: z.boolean().default(false),
    apiAllowSources: ipListSchema(50).default([]),
    isMfaMandatory: z.boolean().default(false),
    needPasswordGenerate: z.boolean().default(false),
    password: passwordSchema.optional(),
    needPasswordReset: z.boolean().default(true),
    tags: tagsSchema.default([]),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.needPasswordGenerate === (b.password !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'give a password, or set needPasswordGenerate (not both)' });
    }
  });
export type CreateSubAccountInput = z.infer<typeof createSubAccountBody>;

export const updateSubAccountBody = z
  .object({
    name: z.string().trim().min(2).max(30).optional(),
    email: z.string().trim().min(6).max(100).email().nullable().optional(),
    memo: z.string().max(300).optional(),
    canConsoleAccess: z.boolean().optional(),
    canAPIGatewayAccess: z.boolean().optional(),
    isMfaMandatory: z.boolean().optional(),
    tags: tagsSchema.optional(),
  })
  .strict();
export type UpdateSubAccountInput = z.infer<typeof updateSubAccountBody>;

export const listSubAccountsQuery = z.object({
  pageNo: z.coerce.number().int().min(0).max(1_000_000).default(0),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
  searchLoginId: z.string().trim().max(60).optional(),
});

export const statusBody = z.object({ status: z.enum(['active', 'suspended']) }).strict();

export const resetPasswordBody = z
  .object({
    needPasswordGenerate: z.boolean().default(false),
    password: passwordSchema.optional(),
    needPasswordReset: z.boolean().default(true),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.needPasswordGenerate === (b.password !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['password'], message: 'give a password, or set needPasswordGenerate (not both)' });
    }
  });

export const allowSourceBody = z
  .object({
    consolePermitIps: ipListSchema(50).optional(),
    useApiAllowSource: z.boolean().optional(),
    apiAllowSources: ipListSchema(50).optional(),
  })
  .strict();

export const policyIdsBody = z.object({ policyIds: z.array(z.string().min(1).max(64)).min(1).max(20) }).strict();
export const policyParams = subAccountIdParams.extend({ policyId: z.string().min(1).max(64) });
