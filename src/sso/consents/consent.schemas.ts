/**
 * Input of the consent-status admin API (seed S4 `view/getConsentStatusList`,
 * `view/getConsentStatusDetail`): a page of consents filtered by application, user and status.
 */
import { z } from 'zod';
import { ssoIdSchema, ssoPageQuery } from '../shared/schemas.js';

export const consentIdParams = z.object({ consentId: ssoIdSchema }).strict();

export const listConsentsQuery = ssoPageQuery.extend({
  applicationId: ssoIdSchema.optional(),
  userId: ssoIdSchema.optional(),
  /** CONSENTED (standing), WITHDRAWN, or both when left out. */
  status: z.enum(['CONSENTED', 'WITHDRAWN']).optional(),
});
export type ListConsentsQuery = z.infer<typeof listConsentsQuery>;
