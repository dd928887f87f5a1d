/**
 * STS temporary credentials (reference/ncloud-model.md §3 "STS"): a sub account exchanges its
 * long-term credentials for an access key and secret valid `durationSec` seconds, optionally
 * backed by its TOTP device. The credentials sign requests like an access key (authenticate.ts
 * tells them apart by STS_KEY_PREFIX), carry `ncp:MultiFactorAuthPresent` = useMfa, and die at
 * expiry (the expiry plugin filters them out on read) and when the sub account's credential
 * generation moves (suspension, password reset) or the sub account is deleted.
 *
 * Who may call it, where the reference is silent, follows AWS STS GetSessionToken:
 * - the main account: refused. Ncloud: "Only sub accounts can call it"; the root key already
 *   signs requests, and temporary root credentials would only widen what a leak exposes.
 * - a role session (switched role, role STS credentials): refused. AWS allows role chaining
 *   only through AssumeRole with a one-hour cap; GetSessionToken itself refuses role sessions.
 *   Credentials minted from a role would outlive the switch-back and need their own revocation
 *   story, for no use case the console has.
 * - a sub account signing with temporary credentials: refused, as AWS refuses GetSessionToken
 *   with session credentials; otherwise credentials could be renewed forever past their expiry.
 * - a sub account with a console session or its access key: allowed.
 */
import type { Keyring } from '../../db/encryption.js';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { newKeyId, newKeySecret } from '../access-keys/access-key.service.js';
import { consumeTotp } from '../mfa/totp.js';
import { buildSubAccountNrn } from '../nrn.js';
import type { AdminPrincipal } from '../principal.js';
import { SubAccount, subAccountMfaContext } from '../sub-accounts/sub-account.model.js';
import { STS_KEY_PREFIX, StsCredential, stsSecretContext } from './sts-credential.model.js';
import type { StsCredentialsInput } from './sts.schemas.js';
import { clearTotpAttempts, markTotpStepUsed, subAccountFactor, takeTotpAttempt } from './totp-guard.model.js';

/** Ncloud's response (reference/ncloud-model.md §3 "STS"). */
export interface StsCredentialsView {
  accessKey: string;
  /** Shown once; stored only envelope-encrypted. */
  keySecret: string;
  createTime: string;
  expireTime: string;
  useMfa: boolean;
}

/** Checks the caller may hold temporary credentials; returns its sub account id. */
export function stsCaller(principal: AdminPrincipal): string {
  if (principal.kind === 'Root') {
    throw new AppError(
      'FORBIDDEN',
      'STS temporary credentials are issued to sub accounts only; the main account signs requests with its own access key',
    );
  }
  if (principal.kind === 'Role') {
    throw new AppError('FORBIDDEN', 'temporary credentials cannot be issued to a role session; return to the sub account first');
  }
  if (principal.via === 'sts') {
    throw new AppError('FORBIDDEN', 'temporary credentials cannot be used to obtain new ones; sign with the sub account’s access key');
  }
  return principal.subAccountId;
}

const invalidCode = () => new AppError('UNAUTHENTICATED', 'the MFA code is not valid, or was already used');

/**
 * Verifies and consumes the sub account's TOTP code: an attempt slot first (per-factor limit),
 * then the code, consumed by the compare-and-set on `mfaLastStep` (src/iam/mfa/totp.ts; refuses
 * the same or an older step) plus a used-step marker (refuses a concurrent second use on
 * engines whose updates are not atomic; see totp-guard.model.ts).
 */
async function verifyMfa(
  accountId: number,
  sub: { subAccountId: string; mfaEnabled: boolean; mfaSecretEncrypted?: string | null },
  tokenCode: string,
  keyring: Keyring,
  logger: Logger,
): Promise<void> {
  const { subAccountId } = sub;
  if (!sub.mfaEnabled || !sub.mfaSecretEncrypted) throw new AppError('UNAUTHENTICATED', 'the sub account has no MFA device');
  const factor = subAccountFactor(subAccountId);
  const { lockedUntil } = await takeTotpAttempt(accountId, factor);
  if (lockedUntil) {
    logger.warn({ accountId, subAccountId }, 'TOTP factor locked after too many wrong codes (STS)');
    throw new AppError('RATE_LIMITED', `too many wrong MFA codes; the device is locked until ${lockedUntil.toISOString()}`);
  }
  const secret = keyring.decrypt(sub.mfaSecretEncrypted, subAccountMfaContext(subAccountId));
  let matchedStep: number | undefined;
  const ok = await consumeTotp(secret, tokenCode, async (step) => {
    matchedStep = step;
    const cas = await SubAccount.updateOne(
      { accountId, subAccountId, mfaEnabled: true, mfaLastStep: { $lt: step } },
      { $set: { mfaLastStep: step } },
    );
    if (cas.modifiedCount !== 1) return false;
    return markTotpStepUsed(accountId, factor, step);
  });
  if (!ok) {
    // A code that matched but could not be consumed was used before (RFC 6238 §5.2; ASVS 2.8.5: log it).
    if (matchedStep !== undefined) logger.warn({ accountId, subAccountId, step: matchedStep }, 'replayed TOTP code refused (STS)');
    throw invalidCode();
  }
  await clearTotpAttempts(accountId, factor);
}

export async function issueStsCredentials(
  principal: AdminPrincipal,
  input: StsCredentialsInput,
  deps: { keyring: Keyring; logger: Logger },
  now = new Date(),
): Promise<StsCredentialsView> {
  const subAccountId = stsCaller(principal);
  const { accountId } = principal;
  const sub = await SubAccount.findOne({ accountId, subAccountId }).select('+mfaSecretEncrypted').lean();
  if (!sub) throw new AppError('UNAUTHENTICATED', 'the sub account no longer exists');
  if (sub.status !== 'active') throw new AppError('FORBIDDEN', 'the sub account is suspended');
  // Temporary credentials work on the API only (authenticate.ts): refuse what could never be used.
  if (!sub.canAPIGatewayAccess) throw new AppError('FORBIDDEN', 'API access is not enabled for this sub account');
  if (input.serialNumber !== undefined && input.serialNumber !== buildSubAccountNrn(accountId, subAccountId)) {
    throw new AppError('VALIDATION_FAILED', 'the body is not valid', {
      fieldErrors: [{ field: 'body.serialNumber', message: 'must name the calling sub account’s MFA device (its sub account NRN)' }],
    });
  }
  const useMfa = input.tokenCode !== undefined;
  if (input.tokenCode !== undefined) await verifyMfa(accountId, sub, input.tokenCode, deps.keyring, deps.logger);

  const expiresAt = new Date(now.getTime() + input.durationSec * 1000);
  const keySecret = newKeySecret();
  // The generation read above: a suspension or password reset racing with this call moves it
  // past the one stored here, so the new credentials are born revoked rather than surviving.
  for (let attempt = 0; attempt < 3; attempt++) {
    const accessKey = newKeyId(STS_KEY_PREFIX);
    try {
      await StsCredential.create({
        accountId,
        accessKey,
        secretEncrypted: deps.keyring.encrypt(keySecret, stsSecretContext(accessKey)),
        subAccountId,
        subAccountGeneration: sub.credentialGeneration,
        useMfa,
        expiresAt,
      });
    } catch (err) {
      if (isDuplicateKeyError(err)) continue; // a key id drawn twice (36^-15): draw again
      throw err;
    }
    return { accessKey, keySecret, createTime: now.toISOString(), expireTime: expiresAt.toISOString(), useMfa };
  }
  throw new AppError('INTERNAL', 'could not allocate a temporary key id');
}

export interface SsoRoleStsInput {
  /** The account that owns the SSO role (the assignment's target account). */
  accountId: number;
  roleId: string;
  roleGeneration: number;
  ssoTenantId: string;
  ssoUserId: string;
  ssoUserGeneration: number;
  /** The role's session duration (src/iam/roles/sso-role.service.ts bounds it to 600-43200 s). */
  durationSec: number;
  /** The assignment's API IP ACL entries (empty: unrestricted). */
  allowSources: string[];
  /** The SSO session's last authentication used two factors. */
  useMfa: boolean;
}

/**
 * Temporary credentials for an SSO user acting as an SSO role, issued by the user portal's "switch
 * role, API" after its assignment and IP ACL checks (ARCHITECTURE.md "role switch"; reference
 * §2A step 8: "likely STS-style temporary keys"). Like AWS IAM Identity Center's "access keys"
 * of the access portal: they sign as the role (`ncp:principalType = IamRole`,
 * `ncp:sourceIdentityId` = the SSO user) for the role's duration, and die earlier when the role's
 * generation moves, the role or assignment goes away or is suspended, or the user is suspended.
 */
export async function issueSsoRoleStsCredentials(input: SsoRoleStsInput, deps: { keyring: Keyring }, now = new Date()): Promise<StsCredentialsView> {
  const expiresAt = new Date(now.getTime() + input.durationSec * 1000);
  const keySecret = newKeySecret();
  for (let attempt = 0; attempt < 3; attempt++) {
    const accessKey = newKeyId(STS_KEY_PREFIX);
    try {
      await StsCredential.create({
        accountId: input.accountId,
        accessKey,
        secretEncrypted: deps.keyring.encrypt(keySecret, stsSecretContext(accessKey)),
        subAccountId: null,
        roleId: input.roleId,
        roleGeneration: input.roleGeneration,
        sourceIdentityId: input.ssoUserId,
        sourceIdentityType: 'SsoUser',
        ssoTenantId: input.ssoTenantId,
        sourceIdentityGeneration: input.ssoUserGeneration,
        allowSources: input.allowSources,
        useMfa: input.useMfa,
        expiresAt,
      });
    } catch (err) {
      if (isDuplicateKeyError(err)) continue; // a key id drawn twice: draw again
      throw err;
    }
    return { accessKey, keySecret, createTime: now.toISOString(), expireTime: expiresAt.toISOString(), useMfa: input.useMfa };
  }
  throw new AppError('INTERNAL', 'could not allocate a temporary key id');
}
