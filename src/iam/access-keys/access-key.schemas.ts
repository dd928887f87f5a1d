/** Input of the sub-account access-key API (seed S1; key ids as authenticate.ts accepts them). */
import { z } from 'zod';
import { subAccountIdParams } from '../sub-accounts/sub-account.schemas.js';

export const accessKeyParams = subAccountIdParams.extend({
  accessKey: z.string().regex(/^[A-Za-z0-9]{16,64}$/, 'must be an access key id'),
});

export const accessKeyStatusBody = z.object({ status: z.enum(['active', 'inactive']) }).strict();
