/**
 * Input of the certificate API (reference/ncloud-model.md §1 "Certificates": `certificateExpireDays`,
 * `keySize`, `algorithm`; expiry notifications as a recipient list of ≤20). Gatehouse differs where
 * the issue says so: key sizes 2048/3072/4096 (Ncloud's 1024 is too weak to offer), any validity
 * of 1-3650 days (Ncloud's fixed list is a subset), recipients as e-mail addresses (Gatehouse has
 * no NCP manager directory) and configurable lead days.
 */
import { z } from 'zod';
import { CERTIFICATE_KEY_SIZES } from './certificate.model.js';
import { DEFAULT_LEAD_DAYS, DEFAULT_VALIDITY_DAYS } from './certificate.service.js';

export const certificateIdParams = z.object({ certificateId: z.uuid('must be a certificate id') }).strict();

export const createCertificateBody = z
  .object({
    keySize: z
      .number()
      .int()
      .refine((n): n is (typeof CERTIFICATE_KEY_SIZES)[number] => (CERTIFICATE_KEY_SIZES as readonly number[]).includes(n), { message: `must be one of ${CERTIFICATE_KEY_SIZES.join(', ')}` })
      .default(2048),
    certificateExpireDays: z.number().int().min(1, 'must be 1-3650').max(3650, 'must be 1-3650').default(DEFAULT_VALIDITY_DAYS),
    /** The certificate's own signature algorithm; SHA-1 is never offered (security-bar §2 "Algorithm downgrade"). */
    algorithm: z.literal('RSA_SHA256').default('RSA_SHA256'),
  })
  .strict();
export type CreateCertificateInput = { keySize: (typeof CERTIFICATE_KEY_SIZES)[number]; certificateExpireDays: number; algorithm: 'RSA_SHA256' };

export const notificationSettingBody = z
  .object({
    recipients: z
      .array(z.email('must be an e-mail address').max(254))
      .max(20, 'at most 20 recipients')
      .transform((list) => [...new Set(list.map((e) => e.toLowerCase()))]),
    leadDays: z
      .array(z.number().int().min(1, 'must be 1-365').max(365, 'must be 1-365'))
      .min(1, 'at least one lead day')
      .max(10, 'at most 10 lead days')
      .default(DEFAULT_LEAD_DAYS)
      .transform((list) => [...new Set(list)].sort((a, b) => b - a)),
  })
  .strict();
export type NotificationSettingInput = z.infer<typeof notificationSettingBody>;
