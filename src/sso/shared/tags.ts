/**
 * Tags of Single Sign-On resources (reference/ncloud-model.md §1 "Common conventions"): at most
 * 20 per resource, key 1-128 and value 0-256 characters from `[A-Za-z0-9_./=+\-@]`, one value
 * per key. Stricter than the account-wide `src/shared/tags.ts` (which allows any printable
 * character): SSO tags feed `ncp:resourceTag/{key}` and `ncp:requestTag/{key}` conditions, so a
 * key outside this alphabet could never be named in a policy anyway. Values are never trimmed:
 * the alphabet has no whitespace, so a padded value is refused rather than silently changed.
 * The output shape is the shared `Tag` (`{ key, value }`), so `resourceTagContext` and
 * `requestTagContext` read it unchanged.
 */
import { z } from 'zod';
import type { Tag } from '../../shared/tags.js';

export const SSO_TAG_LIMIT = 20;
export const SSO_TAG_KEY_MAX = 128;
export const SSO_TAG_VALUE_MAX = 256;

const TAG_KEY = /^[A-Za-z0-9_./=+\-@]+$/;
const TAG_VALUE = /^[A-Za-z0-9_./=+\-@]*$/;

export const ssoTagKeySchema = z
  .string()
  .min(1, 'must not be empty')
  .max(SSO_TAG_KEY_MAX, `must be at most ${SSO_TAG_KEY_MAX} characters`)
  .regex(TAG_KEY, 'letters, digits and _ . / = + - @ only');

export const ssoTagValueSchema = z
  .string()
  .max(SSO_TAG_VALUE_MAX, `must be at most ${SSO_TAG_VALUE_MAX} characters`)
  .regex(TAG_VALUE, 'letters, digits and _ . / = + - @ only');

export const ssoTagSchema = z.object({ key: ssoTagKeySchema, value: ssoTagValueSchema.default('') }).strict();

/** A resource's full tag list (create bodies, tag requests): ≤20, keys unique (one value per key). */
export const ssoTagsSchema = z
  .array(ssoTagSchema)
  .max(SSO_TAG_LIMIT, `at most ${SSO_TAG_LIMIT} tags`)
  .superRefine((tags, ctx) => {
    const seen = new Set<string>();
    tags.forEach((t, i) => {
      if (seen.has(t.key)) ctx.addIssue({ code: 'custom', path: [i, 'key'], message: `tag key "${t.key}" appears more than once` });
      seen.add(t.key);
    });
  });

export type SsoTag = Tag;

/**
 * Merges tags into an existing list (a tag request): a key already present takes the new value,
 * new keys are appended in the order given. The caller checks the result against the limit.
 */
export function mergeTags(current: readonly Tag[], added: readonly Tag[]): Tag[] {
  const out = current.map((t) => ({ key: t.key, value: t.value }));
  for (const t of added) {
    const existing = out.find((o) => o.key === t.key);
    if (existing) existing.value = t.value;
    else out.push({ key: t.key, value: t.value });
  }
  return out;
}
