/**
 * Input of the policy API (reference/ncloud-model.md §3 "User-created policies" and "Policy
 * document"). Every rule lives in a zod schema, so a create reports all of its problems in one
 * 400 VALIDATION_FAILED, and `View/validatePolicy` answers with exactly the same field errors
 * (it runs the same schema) without storing anything.
 *   - policyName: `validatePolicyName` (3-30 Korean/English/Japanese letters, digits, `. _ -`,
 *     starting with a letter), never a system-managed policy's name or id (case-insensitively:
 *     a user policy called "ncp_administrator" would read as the managed one in every list).
 *   - description: at most 300 bytes of UTF-8 (`validatePolicyDescription`).
 *   - tags: at most 20 (src/shared/tags.ts).
 *   - document: `validatePolicyDocument`; its field errors come back under `body.document.`.
 *   - includeRelatedActions (default true): the console adds related actions when a policy is
 *     created or edited and "won't forcibly include them" when deselected (seed S1 "Caution").
 */
import { z } from 'zod';
import {
  managedPolicies,
  validatePolicyDescription,
  validatePolicyDocument,
  validatePolicyName,
  type PolicyDocument,
} from '../../policy/index.js';
import { pageQuery } from '../../shared/pagination.js';
import { tagsSchema } from '../../shared/tags.js';

/** Names and ids of system-managed policies, lowercased: no user policy may take one. */
const RESERVED_NAME_KEYS = new Set(managedPolicies.flatMap((p) => [p.name, p.id]).map((s) => policyNameKey(s)));

/** The case-insensitive key of a policy name (NFC first, so composed and decomposed Hangul collide). */
export function policyNameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

export const policyNameSchema = z
  .string()
  .transform((s) => s.normalize('NFC'))
  .superRefine((name, ctx) => {
    const checked = validatePolicyName(name);
    if (!checked.ok) for (const e of checked.fieldErrors) ctx.addIssue({ code: 'custom', message: e.message });
    else if (RESERVED_NAME_KEYS.has(policyNameKey(name))) {
      ctx.addIssue({ code: 'custom', message: `"${name}" is the name or id of a system-managed policy; choose another name` });
    }
  });

export const policyDescriptionSchema = z.string().superRefine((d, ctx) => {
  for (const e of validatePolicyDescription(d)) ctx.addIssue({ code: 'custom', message: e.message });
});

/** Condition keys become MongoDB field names of the stored document; FerretDB refuses `.` in them. */
function unstorableKeys(doc: PolicyDocument): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = [];
  doc.permissions.forEach((p, i) => {
    for (const [op, keys] of Object.entries(p.condition ?? {})) {
      for (const key of Object.keys(keys)) {
        if (key.includes('.')) {
          out.push({
            path: `permissions[${i}].condition[${JSON.stringify(op)}][${JSON.stringify(key)}]`,
            message: 'condition keys containing "." cannot be stored; use a tag key without "."',
          });
        }
      }
    }
  });
  return out;
}

/** The policy document, validated and normalized by the engine; errors keep the engine's paths. */
export const policyDocumentSchema = z.unknown().transform((raw, ctx): PolicyDocument => {
  const checked = validatePolicyDocument(raw);
  if (!checked.ok) {
    // The engine names a non-object document "document"; that is this field itself.
    for (const e of checked.fieldErrors)
      ctx.addIssue({ code: 'custom', path: e.field === 'document' ? [] : [e.field], message: e.message });
    return z.NEVER;
  }
  const unstorable = unstorableKeys(checked.document);
  if (unstorable.length) {
    for (const u of unstorable) ctx.addIssue({ code: 'custom', path: [u.path], message: u.message });
    return z.NEVER;
  }
  return checked.document;
});

export const createPolicyBody = z
  .object({
    policyName: policyNameSchema,
    description: policyDescriptionSchema.default(''),
    tags: tagsSchema.default([]),
    document: policyDocumentSchema,
    includeRelatedActions: z.boolean().default(true),
  })
  .strict();
export type CreatePolicyInput = z.infer<typeof createPolicyBody>;

export const updatePolicyBody = z
  .object({
    policyName: policyNameSchema.optional(),
    description: policyDescriptionSchema.optional(),
    tags: tagsSchema.optional(),
    document: policyDocumentSchema.optional(),
    includeRelatedActions: z.boolean().default(true),
  })
  .strict()
  .refine((b) => b.policyName !== undefined || b.description !== undefined || b.tags !== undefined || b.document !== undefined, {
    message: 'give at least one of policyName, description, tags, document',
  });
export type UpdatePolicyInput = z.infer<typeof updatePolicyBody>;

/**
 * `View/validatePolicy` takes what a create takes, with policyName optional (the console checks a
 * document while it is being written). The route accepts any JSON object so that every problem,
 * unknown fields included, comes back as `{ valid: false, fieldErrors }` rather than a 400.
 */
export const validatePolicyBody = z.record(z.string(), z.unknown());
export const validatePolicyRules = createPolicyBody.extend({ policyName: policyNameSchema.optional() }).strict();

export const policyIdParams = z.object({
  // User policy ids are UUIDs; system-managed policies are addressed by id or by name.
  policyId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be a policy id or a system-managed policy name'),
});

export const listPoliciesQuery = pageQuery.extend({
  /** `user` (default): the account's user-created policies; `system`: the system-managed ones. */
  type: z.enum(['user', 'system']).default('user'),
  /** Name prefix, case-insensitive. */
  searchName: z.string().max(64).optional(),
});
export type ListPoliciesQuery = z.infer<typeof listPoliciesQuery>;
