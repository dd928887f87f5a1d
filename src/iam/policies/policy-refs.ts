/** Checks that attached policy ids exist: system-managed ids, or user policies of the account. */
import { findManagedPolicy } from '../../policy/index.js';
import { AppError } from '../../shared/errors.js';
import { Policy } from './policy.model.js';

export async function assertPoliciesExist(accountId: number, policyIds: readonly string[]): Promise<void> {
  const userIds = policyIds.filter((id) => !findManagedPolicy(id));
  if (userIds.length === 0) return;
  const found = await Policy.find({ accountId, policyId: { $in: userIds } }).select('policyId').lean();
  const missing = userIds.filter((id) => !found.some((f) => f.policyId === id));
  if (missing.length) {
    throw new AppError('VALIDATION_FAILED', 'unknown policies', {
      fieldErrors: missing.map((id) => ({ field: 'policyIds', message: `policy ${id} does not exist` })),
    });
  }
}
