/**
 * The attribute mapper, Ncloud's "user profile settings" (`GET|POST /tenant/saml-idp/profile-mapping`,
 * reference/ncloud-model.md §1 "Attribute mapper"): for each field of the SSO user profile, the
 * label shown to admins, where the value comes from in the external IdP's assertion
 * (`idpValue`, the SAML AttributeName or OIDC claim name, ≤200 characters, `""` when none), and
 * when it is copied: `none` never, `import` at the user's first sign-in only, `force` at every
 * sign-in. Ncloud documents firstName, lastName, email and emailVerified "and presumably the rest
 * of userProfile" [I]: Gatehouse maps every profile field of the SSO user.
 */
import { z } from 'zod';

export const PROFILE_FIELDS = ['firstName', 'lastName', 'email', 'emailVerified', 'empNo', 'phoneCountryCode', 'phoneNo', 'deptName'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export const SYNC_MODES = ['none', 'import', 'force'] as const;
export type SyncMode = (typeof SYNC_MODES)[number];

export interface FieldMapping {
  displayName: string;
  syncMode: SyncMode;
  idpValue: string;
}

export type AttributeMapper = Record<ProfileField, FieldMapping>;

const DEFAULT_LABELS: Record<ProfileField, string> = {
  firstName: 'First name',
  lastName: 'Last name',
  email: 'Email',
  emailVerified: 'Email verified',
  empNo: 'Employee number',
  phoneCountryCode: 'Phone country code',
  phoneNo: 'Phone number',
  deptName: 'Department',
};

/**
 * A new tenant copies nothing from an IdP until an admin names the attribute: Ncloud's default is
 * an empty `idpValue`, and guessing claim names would import data no one asked for.
 */
export function defaultAttributeMapper(): AttributeMapper {
  const out = {} as AttributeMapper;
  for (const f of PROFILE_FIELDS) out[f] = { displayName: DEFAULT_LABELS[f], syncMode: 'none', idpValue: '' };
  return out;
}

const fieldMappingSchema = z
  .object({
    displayName: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
    syncMode: z.enum(SYNC_MODES, { message: 'must be none, import or force' }),
    // The SAML AttributeName / claim name is matched exactly: never trimmed.
    idpValue: z
      .string()
      .max(200, 'must be at most 200 characters')
      .refine((s) => ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), 'must not contain control characters'),
  })
  .strict()
  .superRefine((m, ctx) => {
    // Copying "from nothing" would blank the profile field at every sign-in (force) or at the first (import).
    if (m.syncMode !== 'none' && m.idpValue === '') ctx.addIssue({ code: 'custom', path: ['idpValue'], message: `is required when syncMode is ${m.syncMode}` });
  });

/** PUT body: any subset of the profile fields, each replaced as a whole; at least one. */
export const updateAttributeMapperBody = z
  .object(Object.fromEntries(PROFILE_FIELDS.map((f) => [f, fieldMappingSchema.optional()])) as Record<ProfileField, z.ZodOptional<typeof fieldMappingSchema>>)
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'give at least one profile field');
export type UpdateAttributeMapperInput = Partial<Record<ProfileField, FieldMapping>>;

/** The stored mapper over the defaults (a field never written reads as its default). */
export function readAttributeMapper(stored: unknown): AttributeMapper {
  const out = defaultAttributeMapper();
  if (typeof stored !== 'object' || stored === null) return out;
  for (const f of PROFILE_FIELDS) {
    const v = (stored as Record<string, unknown>)[f];
    const parsed = fieldMappingSchema.safeParse(v);
    if (parsed.success) out[f] = parsed.data;
  }
  return out;
}
