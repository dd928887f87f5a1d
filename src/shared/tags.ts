/**
 * Resource tags (Ncloud: at most 20 key/value pairs per resource). Stored as a list of
 * `{ key, value }` so the order a user gave is kept; the policy engine reads them as a record
 * (`ncp:resourceTag/{key}`, `ncp:TagKeys`).
 */
import { z } from 'zod';

export const TAG_LIMIT = 20;

// Printable characters only: tags end up in logs, consoles and policy conditions.
const hasControl = (s: string): boolean => [...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);

export const tagSchema = z.object({
  key: z.string().trim().min(1).max(128).refine((s) => !hasControl(s), 'must not contain control characters'),
  value: z.string().trim().max(256).refine((s) => !hasControl(s), 'must not contain control characters'),
});

export const tagsSchema = z
  .array(tagSchema)
  .max(TAG_LIMIT, `at most ${TAG_LIMIT} tags`)
  .refine((tags) => new Set(tags.map((t) => t.key)).size === tags.length, 'tag keys must be unique');

export type Tag = z.infer<typeof tagSchema>;

export function tagRecord(tags: readonly Tag[] | undefined | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) out[t.key] = t.value;
  return out;
}

/** Context keys for the policy engine describing a resource's tags. */
export function resourceTagContext(tags: readonly Tag[] | undefined | null): Record<string, string | string[]> {
  const ctx: Record<string, string | string[]> = {};
  for (const t of tags ?? []) ctx[`ncp:resourceTag/${t.key}`] = t.value;
  return ctx;
}

/** Context keys for the tags a request sets (`ncp:requestTag/{key}`, `ncp:TagKeys`). */
export function requestTagContext(tags: readonly Tag[] | undefined | null): Record<string, string | string[]> {
  const ctx: Record<string, string | string[]> = {};
  if (!tags) return ctx;
  for (const t of tags) ctx[`ncp:requestTag/${t.key}`] = t.value;
  ctx['ncp:TagKeys'] = tags.map((t) => t.key);
  return ctx;
}
