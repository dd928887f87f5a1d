/**
 * Input of `POST /api/v1/sts/credentials` (reference/ncloud-model.md §3 "STS": durationSec
 * 600-43200, default 3600; serialNumber; tokenCode).
 */
import { z } from 'zod';

export const STS_MIN_DURATION_SEC = 600;
export const STS_MAX_DURATION_SEC = 43_200;
export const STS_DEFAULT_DURATION_SEC = 3600;

export const stsCredentialsBody = z
  .object({
    durationSec: z.number().int().min(STS_MIN_DURATION_SEC).max(STS_MAX_DURATION_SEC).default(STS_DEFAULT_DURATION_SEC),
    /** The MFA device: a sub account has one TOTP device, named by the sub account's NRN. */
    serialNumber: z.string().min(1).max(128).optional(),
    tokenCode: z
      .string()
      .regex(/^\d{6}$/, 'must be the 6-digit code of the MFA device')
      .optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    if (b.serialNumber !== undefined && b.tokenCode === undefined) {
      ctx.addIssue({ code: 'custom', path: ['tokenCode'], message: 'give the code of the MFA device named by serialNumber' });
    }
  });
export type StsCredentialsInput = z.infer<typeof stsCredentialsBody>;
