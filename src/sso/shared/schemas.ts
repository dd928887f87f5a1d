/**
 * Input rules every Single Sign-On resource shares (reference/ncloud-model.md §1 "Common
 * conventions"): names of groups, permission sets, assignments and IP ACLs are 2-30 characters
 * matching `^[A-Za-z0-9]+[A-Za-z0-9_-]*$` (unique per tenant case-insensitively, immutable: the
 * uniqueness is the owning model's lowercased key + unique index), descriptions ≤300 characters,
 * tags as in `./tags.ts`, ids are UUIDs, lists page with pageNo/pageSize.
 */
import { z } from 'zod';

export { ssoTagKeySchema, ssoTagSchema, ssoTagsSchema, ssoTagValueSchema, mergeTags, SSO_TAG_LIMIT, type SsoTag } from './tags.js';
export { pageQuery as ssoPageQuery } from '../../shared/pagination.js';

export const SSO_NAME_PATTERN = /^[A-Za-z0-9]+[A-Za-z0-9_-]*$/;

/** Names are not trimmed: a leading or trailing space fails the pattern instead of being dropped. */
export const ssoNameSchema = z
  .string()
  .min(2, 'must be at least 2 characters')
  .max(30, 'must be at most 30 characters')
  .regex(SSO_NAME_PATTERN, 'must start with a letter or digit and contain only letters, digits, _ and -');

/** The lowercased key a model's unique index holds (case-insensitive uniqueness without collations). */
export function ssoNameKey(name: string): string {
  return name.toLowerCase();
}

export const ssoDescriptionSchema = z.string().max(300, 'must be at most 300 characters');

export const ssoIdSchema = z.string().uuid('must be a UUID');
