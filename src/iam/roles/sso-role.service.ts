/**
 * SSO roles, for the Single Sign-On module (ARCHITECTURE.md "Domain": "An Assignment provisions
 * one SSO role (Sub Account role of type SSO) in its target account, whose policies are the
 * permission set's"). The Sub Account API lists and shows SSO roles but never creates, changes or
 * deletes them (reference/ncloud-model.md §3: SSO roles are "managed by Ncloud SSO").
 *
 * Idempotent per assignment without a unique index on `ssoAssignmentId` (null for every other
 * role, and FerretDB has no partial indexes): the role id is derived from (account, assignment),
 * so the unique `roleId` index lets a retry, or a concurrent provisioning of the same assignment,
 * update the one role instead of duplicating it.
 */
import { createHash } from 'node:crypto';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { accountScope, type ChangeStamps } from '../change-stamps.js';
import { assertPoliciesExist } from '../policies/policy-refs.js';
import { endRoleSessions } from '../sessions/session.service.js';
import { StsCredential } from '../sts/sts-credential.model.js';
import { Role } from './role.model.js';
import { normalizePolicyIds, toRoleView, type RoleView, type StoredRole } from './role.service.js';

/** Permission-set session length: AWS IAM Identity Center allows 1-12 h; Gatehouse 10 min-12 h like STS durations. */
export const SSO_SESSION_MIN_SEC = 600;
export const SSO_SESSION_MAX_SEC = 43_200;
/** Ncloud permission sets hold at most 10 policies (reference §1); a little headroom, never unbounded. */
const SSO_POLICY_LIMIT = 20;

export interface ProvisionSsoRoleInput {
  accountId: number;
  assignmentId: string;
  roleName: string;
  /** System-managed ids or names, and user policy ids of the target account. */
  policyIds: readonly string[];
  sessionExpirationSec: number;
}

/** The role id of an assignment's SSO role: a UUIDv8 (RFC 9562 §5.8) from SHA-256 of (account, assignment). */
export function ssoRoleId(accountId: number, assignmentId: string): string {
  const h = createHash('sha256').update(`gatehouse:sso-role:${accountId}:${assignmentId}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function invalid(field: string, message: string): AppError {
  return new AppError('VALIDATION_FAILED', `the SSO role is not valid: ${field} ${message}`, { fieldErrors: [{ field, message }] });
}

function checkInput(input: ProvisionSsoRoleInput): void {
  const name = input.roleName;
  // Names come from permission sets, not from this API's naming rule; they share the account's
  // role names (unique case-insensitively) and must print safely.
  if (name.trim() !== name || name.length < 1 || name.length > 64 || [...name].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    throw invalid('roleName', 'must be 1-64 printable characters without leading or trailing spaces');
  }
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(input.assignmentId)) throw invalid('assignmentId', 'must be an assignment id');
  if (!Number.isInteger(input.sessionExpirationSec) || input.sessionExpirationSec < SSO_SESSION_MIN_SEC || input.sessionExpirationSec > SSO_SESSION_MAX_SEC) {
    throw invalid('sessionExpirationSec', `must be a whole number of seconds from ${SSO_SESSION_MIN_SEC} to ${SSO_SESSION_MAX_SEC}`);
  }
  if (input.policyIds.length > SSO_POLICY_LIMIT) throw invalid('policyIds', `must hold at most ${SSO_POLICY_LIMIT} policies`);
}

/**
 * Creates the assignment's SSO role, or brings it in line with the assignment (name, policies,
 * session length) when it exists. Status and credential generation are left alone: suspension
 * belongs to whoever suspended it. Bumps the account's change stamp (the role's policies may have
 * changed).
 */
export async function provisionSsoRole(input: ProvisionSsoRoleInput, stamps: ChangeStamps): Promise<RoleView> {
  checkInput(input);
  const { accountId, assignmentId } = input;
  const policyIds = normalizePolicyIds(input.policyIds);
  await assertPoliciesExist(accountId, policyIds);
  const roleId = ssoRoleId(accountId, assignmentId);
  const fields = { roleName: input.roleName, roleNameKey: input.roleName.toLowerCase(), policyIds, sessionExpirationSec: input.sessionExpirationSec };
  // Insert first, update on collision; not an upsert, because the bundled engine (FerretDB 1.24)
  // drops empty arrays and nulls of $setOnInsert, leaving the new role without its defaults.
  let doc: StoredRole | null;
  try {
    doc = (await Role.create({ accountId, roleId, roleType: 'SSO', ssoAssignmentId: assignmentId, ...fields })).toObject() as StoredRole;
  } catch (err) {
    if (!isDuplicateKeyError(err)) throw err;
    // The assignment's role exists (a retry, or a concurrent provisioning won): bring it in line.
    // No such role means the collision was on the name: another role of the account uses it.
    try {
      doc = await Role.findOneAndUpdate({ accountId, roleId, roleType: 'SSO' }, { $set: fields }, { returnDocument: 'after' }).lean<StoredRole>();
    } catch (again) {
      if (!isDuplicateKeyError(again)) throw again;
      doc = null;
    }
    if (!doc) throw new AppError('CONFLICT', `a role named "${input.roleName}" already exists in account ${accountId}`);
  }
  await stamps.bump(accountScope(accountId));
  return toRoleView(doc);
}

/**
 * Removes the assignment's SSO role: its console sessions end and its STS credentials are
 * deleted. Returns false when there was none (removal is idempotent).
 */
export async function removeSsoRole(accountId: number, assignmentId: string, stamps: ChangeStamps): Promise<boolean> {
  const roleId = ssoRoleId(accountId, assignmentId);
  const d = await Role.findOneAndDelete({ accountId, roleId, roleType: 'SSO' }).lean();
  if (!d) return false;
  await Promise.all([StsCredential.deleteMany({ accountId, roleId }).setOptions({ includeExpired: true }), endRoleSessions(roleId)]);
  await stamps.bump(accountScope(accountId));
  return true;
}
