/**
 * The attribute mapper applied at a federated sign-in (reference/ncloud-model.md §1 "Attribute
 * mapper"; src/sso/tenant/attribute-mapper.ts): for each profile field whose `syncMode` is
 * `import` (the user's first federated sign-in only) or `force` (every federated sign-in), the
 * first value of the asserted attribute named `idpValue` is copied into the SSO user's profile.
 *
 * Only values from the verified assertion reach here. A field whose attribute is absent from the
 * assertion is left as it is (an IdP that stops releasing an attribute does not blank the
 * profile). `emailVerified` takes the boolean spellings IdPs use; other values are bounded to the
 * profile's own limits (src/sso/users: 100 characters for names and department, 50 for numbers).
 *
 * "First federated sign-in" is recorded in `FederatedLink` (upsert: the insert that creates the
 * link is the first sign-in, concurrent first sign-ins race on the unique index and one wins).
 */
import { isDuplicateKeyError } from '../shared/errors.js';
import type { AttributeMapper } from '../sso/tenant/attribute-mapper.js';
import { userProfileSchema } from '../sso/users/user.schemas.js';
import { PROFILE_FIELDS } from '../sso/tenant/attribute-mapper.js';
import { SsoUser } from '../sso/users/user.model.js';
import { FederatedLink } from './signin.models.js';

function booleanOf(v: string): boolean | null {
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === '1') return true;
  if (s === 'false' || s === '0') return false;
  return null;
}

/** Records the sign-in and says whether it is the user's first federated one. */
export async function recordFederatedSignIn(user: { accountId: number; tenantId: string; userId: string }, now = new Date()): Promise<boolean> {
  try {
    const res = await FederatedLink.updateOne(
      { tenantId: user.tenantId, userId: user.userId },
      { $set: { lastSignInAt: now }, $setOnInsert: { accountId: user.accountId, firstSignInAt: now } },
      { upsert: true },
    );
    return res.upsertedCount === 1;
  } catch (err) {
    // Two first sign-ins at once: the other one inserted; this one is not the first.
    if (isDuplicateKeyError(err)) return false;
    throw err;
  }
}

/** The `$set` of profile fields the mapper copies from these attributes (empty when nothing applies). */
export function mappedProfileChanges(mapper: AttributeMapper, attributes: Map<string, string[]>, firstSignIn: boolean): Record<string, string | boolean> {
  const set: Record<string, string | boolean> = {};
  for (const field of PROFILE_FIELDS) {
    const m = mapper[field];
    if (m.syncMode === 'none' || m.idpValue === '') continue;
    if (m.syncMode === 'import' && !firstSignIn) continue;
    const value = attributes.get(m.idpValue)?.[0];
    if (value === undefined) continue;
    if (field === 'emailVerified') {
      const b = booleanOf(value);
      if (b !== null) set[`userProfile.${field}`] = b;
      continue;
    }
    const clean = value.trim();
    if (!userProfileSchema.safeParse({ [field]: clean }).success) continue;
    set[`userProfile.${field}`] = clean;
  }
  return set;
}

/** Applies the mapper to the user (one atomic update; the revision moves like any profile write). */
export async function syncProfile(
  user: { accountId: number; tenantId: string; userId: string },
  mapper: AttributeMapper,
  attributes: Map<string, string[]>,
  firstSignIn: boolean,
): Promise<string[]> {
  const set = mappedProfileChanges(mapper, attributes, firstSignIn);
  const fields = Object.keys(set);
  if (fields.length === 0) return [];
  await SsoUser.updateOne({ tenantId: user.tenantId, userId: user.userId }, { $set: set, $inc: { revision: 1 } });
  return fields.map((f) => f.replace('userProfile.', ''));
}
