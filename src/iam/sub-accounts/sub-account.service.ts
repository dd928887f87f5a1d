/**
 * Sub accounts (seed S1 "SubAccount" actions; reference/ncloud-model.md §3). Services take
 * validated input and the caller's account; they never see HTTP. Every change that affects
 * authorization bumps the account's change stamp; suspension and password resets also move the
 * sub account's credential generation, which ends its console sessions and STS credentials at
 * once.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { hashPassword } from '../../shared/password-hash.js';
import { pageOf, type Page, type PageQuery } from '../../shared/pagination.js';
import { acquireQuota, releaseQuota } from '../../shared/quota.js';
import type { Tag } from '../../shared/tags.js';
import { AccessKey } from '../access-keys/access-key.model.js';
import { accountScope, type ChangeStamps } from '../change-stamps.js';
import { buildSubAccountNrn } from '../nrn.js';
import { assertPoliciesExist } from '../policies/policy-refs.js';
import { endSubAccountSessions } from '../sessions/session.service.js';
import { StsCredential } from '../sts/sts-credential.model.js';
import { SUB_ACCOUNT_LIMIT, SubAccount, type SubAccountDoc } from './sub-account.model.js';
import type { CreateSubAccountInput, UpdateSubAccountInput } from './sub-account.schemas.js';
import { escapeRegex } from '../../shared/query.js';

export interface SubAccountView {
  subAccountId: string;
  nrn: string;
  loginId: string;
  name: string;
  email: string | null;
  memo: string;
  status: 'active' | 'suspended';
  canConsoleAccess: boolean;
  canAPIGatewayAccess: boolean;
  consolePermitIps: string[];
  useApiAllowSource: boolean;
  apiAllowSources: string[];
  isMfaMandatory: boolean;
  mfaEnabled: boolean;
  needPasswordReset: boolean;
  policyIds: string[];
  groupIds: string[];
  tags: Tag[];
  lastLoginAt: string | null;
  createdAt: string;
  updatedAt: string;
}

type Stored = SubAccountDoc & { createdAt?: Date; updatedAt?: Date };

export function toSubAccountView(d: Stored): SubAccountView {
  return {
    subAccountId: d.subAccountId,
    nrn: buildSubAccountNrn(d.accountId, d.subAccountId),
    loginId: d.loginId,
    name: d.name,
    email: d.email ?? null,
    memo: d.memo ?? '',
    status: d.status,
    canConsoleAccess: d.canConsoleAccess,
    canAPIGatewayAccess: d.canAPIGatewayAccess,
    consolePermitIps: [...d.consolePermitIps],
    useApiAllowSource: d.useApiAllowSource,
    apiAllowSources: [...d.apiAllowSources],
    isMfaMandatory: d.isMfaMandatory,
    mfaEnabled: d.mfaEnabled,
    needPasswordReset: d.needPasswordReset,
    policyIds: [...d.policyIds],
    groupIds: [...d.groupIds],
    tags: d.tags.map((t) => ({ key: t.key, value: t.value })),
    lastLoginAt: d.lastLoginAt ? d.lastLoginAt.toISOString() : null,
    createdAt: (d.createdAt ?? new Date(0)).toISOString(),
    updatedAt: (d.updatedAt ?? new Date(0)).toISOString(),
  };
}

const quotaKey = (accountId: number) => `subAccounts:${accountId}`;

function generatePassword(): string {
  return randomBytes(15).toString('base64url');
}


export async function findSubAccount(accountId: number, subAccountId: string): Promise<Stored | null> {
  return SubAccount.findOne({ accountId, subAccountId }).lean<Stored>();
}

async function mustFind(accountId: number, subAccountId: string): Promise<Stored> {
  const d = await findSubAccount(accountId, subAccountId);
  if (!d) throw new AppError('NOT_FOUND', `sub account ${subAccountId} does not exist`);
  return d;
}

export async function listSubAccounts(accountId: number, q: PageQuery & { searchLoginId?: string | undefined }): Promise<Page<SubAccountView>> {
  const filter: Record<string, unknown> = { accountId };
  if (q.searchLoginId) filter.loginIdKey = { $regex: `^${escapeRegex(q.searchLoginId.toLowerCase())}` };
  return pageOf(SubAccount.find(filter).sort({ loginIdKey: 1 }).lean<Stored[]>(), SubAccount.countDocuments(filter), q, toSubAccountView);
}

export async function getSubAccount(accountId: number, subAccountId: string): Promise<SubAccountView> {
  return toSubAccountView(await mustFind(accountId, subAccountId));
}

export async function createSubAccount(
  accountId: number,
  input: CreateSubAccountInput,
  stamps: ChangeStamps,
): Promise<{ subAccount: SubAccountView; generatedPassword?: string }> {
  const password = input.password ?? generatePassword();
  const passwordHash = await hashPassword(password);
  await acquireQuota(quotaKey(accountId), SUB_ACCOUNT_LIMIT, 'sub accounts per account');
  try {
    const doc = await SubAccount.create({
      accountId,
      subAccountId: randomUUID(),
      loginId: input.loginId,
      loginIdKey: input.loginId.toLowerCase(),
      name: input.name,
      email: input.email ?? null,
      memo: input.memo ?? '',
      canConsoleAccess: input.canConsoleAccess,
      canAPIGatewayAccess: input.canAPIGatewayAccess,
      consolePermitIps: input.consolePermitIps,
      useApiAllowSource: input.useApiAllowSource,
      apiAllowSources: input.apiAllowSources,
      isMfaMandatory: input.isMfaMandatory,
      passwordHash,
      needPasswordReset: input.needPasswordReset,
      tags: input.tags,
    });
    await stamps.bump(accountScope(accountId));
    const view = toSubAccountView(doc.toObject() as Stored);
    return input.needPasswordGenerate ? { subAccount: view, generatedPassword: password } : { subAccount: view };
  } catch (err) {
    await releaseQuota(quotaKey(accountId));
    if (isDuplicateKeyError(err)) throw new AppError('CONFLICT', `a sub account with login id "${input.loginId}" already exists`);
    throw err;
  }
}

export async function updateSubAccount(accountId: number, subAccountId: string, input: UpdateSubAccountInput, stamps: ChangeStamps): Promise<SubAccountView> {
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) set[k] = v;
  const d = await SubAccount.findOneAndUpdate({ accountId, subAccountId }, { $set: set }, { returnDocument: 'after' }).lean<Stored>();
  if (!d) throw new AppError('NOT_FOUND', `sub account ${subAccountId} does not exist`);
  // Tags are principal tags (ncp:principalTag) and feed compiled policy sets.
  if (input.tags !== undefined) await stamps.bump(accountScope(accountId));
  return toSubAccountView(d);
}

export async function deleteSubAccount(accountId: number, subAccountId: string, stamps: ChangeStamps): Promise<void> {
  const d = await SubAccount.findOneAndDelete({ accountId, subAccountId }).lean();
  if (!d) throw new AppError('NOT_FOUND', `sub account ${subAccountId} does not exist`);
  await releaseQuota(quotaKey(accountId));
  await Promise.all([
    AccessKey.deleteMany({ accountId, 'owner.type': 'subAccount', 'owner.id': subAccountId }),
    StsCredential.deleteMany({ accountId, subAccountId }).setOptions({ includeExpired: true }),
    endSubAccountSessions(accountId, subAccountId),
  ]);
  await stamps.bump(accountScope(accountId));
}

/** Suspend ("temporarily suspend and disconnect", seed S1) or reactivate. */
export async function setSubAccountStatus(accountId: number, subAccountId: string, status: 'active' | 'suspended', stamps: ChangeStamps): Promise<SubAccountView> {
  const update = status === 'suspended' ? { $set: { status }, $inc: { credentialGeneration: 1 } } : { $set: { status } };
  const d = await SubAccount.findOneAndUpdate({ accountId, subAccountId }, update, { returnDocument: 'after' }).lean<Stored>();
  if (!d) throw new AppError('NOT_FOUND', `sub account ${subAccountId} does not exist`);
  if (status === 'suspended') await endSubAccountSessions(accountId, subAccountId);
  await stamps.bump(accountScope(accountId));
  return toSubAccountView(d);
}

export async function resetSubAccountPassword(
  accountId: number,
  subAccountId: string,
  input: { password?: string | undefined; needPasswordGenerate: boolean; needPasswordReset: boolean },
): Promise<{ generatedPassword?: string }> {
  const password = input.password ?? generatePassword();
  const d = await SubAccount.findOneAndUpdate(
    { accountId, subAccountId },
    { $set: { passwordHash: await hashPassword(password), needPasswordReset: input.needPasswordReset, passwordChangedAt: new Date() }, $inc: { credentialGeneration: 1 } },
  ).lean();
  if (!d) throw new AppError('NOT_FOUND', `sub account ${subAccountId} does not exist`);
  await endSubAccountSessions(accountId, subAccountId);
  return input.needPasswordGenerate ? { generatedPassword: password } : {};
}

export async function setAllowSources(
  accountId: number,
  subAccountId: string,
  input: { consolePermitIps?: string[] | undefined; useApiAllowSource?: boolean | undefined; apiAllowSources?: string[] | undefined },
): Promise<SubAccountView> {
  const set: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) if (v !== undefined) set[k] = v;
  const d = await SubAccount.findOneAndUpdate({ accountId, subAccountId }, { $set: set }, { returnDocument: 'after' }).lean<Stored>();
  if (!d) throw new AppError('NOT_FOUND', `sub account ${subAccountId} does not exist`);
  return toSubAccountView(d);
}

export async function resetSubAccountMfa(accountId: number, subAccountId: string): Promise<SubAccountView> {
  const d = await SubAccount.findOneAndUpdate(
    { accountId, subAccountId },
    { $set: { mfaSecretEncrypted: null, mfaEnabled: false, mfaLastStep: 0 } },
    { returnDocument: 'after' },
  ).lean<Stored>();
  if (!d) throw new AppError('NOT_FOUND', `sub account ${subAccountId} does not exist`);
  return toSubAccountView(d);
}

export async function addPoliciesToSubAccount(accountId: number, subAccountId: string, policyIds: string[], stamps: ChangeStamps): Promise<SubAccountView> {
  await assertPoliciesExist(accountId, policyIds);
  const d = await SubAccount.findOneAndUpdate({ accountId, subAccountId }, { $addToSet: { policyIds: { $each: policyIds } } }, { returnDocument: 'after' }).lean<Stored>();
  if (!d) throw new AppError('NOT_FOUND', `sub account ${subAccountId} does not exist`);
  await stamps.bump(accountScope(accountId));
  return toSubAccountView(d);
}

export async function removePolicyFromSubAccount(accountId: number, subAccountId: string, policyId: string, stamps: ChangeStamps): Promise<SubAccountView> {
  const d = await SubAccount.findOneAndUpdate({ accountId, subAccountId, policyIds: policyId }, { $pull: { policyIds: policyId } }, { returnDocument: 'after' }).lean<Stored>();
  if (!d) {
    await mustFind(accountId, subAccountId);
    throw new AppError('NOT_FOUND', `policy ${policyId} is not attached to sub account ${subAccountId}`);
  }
  await stamps.bump(accountScope(accountId));
  return toSubAccountView(d);
}
