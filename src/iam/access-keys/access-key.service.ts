/**
 * Access keys of sub accounts (seed S1 "SubAccount" group: View/getSubAccountAccessKey,
 * Change/createSubAccountAccessKey, Change/deleteSubAccountAccessKey,
 * Change/manageSubAccountAccessKeyState; reference/ncloud-model.md §3 and §5).
 *
 * - At most 2 keys per sub account, held by the unique slot index of the model (no counter).
 * - The secret is generated here, returned once by create, and stored only envelope-encrypted
 *   under a context naming its key id; no read ever returns it again (AWS IAM and Ncloud
 *   behave the same way: a lost secret means a new key).
 * - Key ids are 20 upper-case letters and digits, as Ncloud's are, starting with
 *   ACCESS_KEY_PREFIX so a key is recognisable in logs and can never be mistaken for temporary
 *   credentials (STS_KEY_PREFIX), which authenticate.ts tells apart by prefix.
 * Status changes need no cache invalidation: authenticate.ts reads the key on every request.
 */
import { randomInt } from 'node:crypto';
import type { Keyring } from '../../db/encryption.js';
import { AppError, isDuplicateKeyError } from '../../shared/errors.js';
import { pageOf, type Page, type PageQuery } from '../../shared/pagination.js';
import { STS_KEY_PREFIX } from '../sts/sts-credential.model.js';
import { SubAccount } from '../sub-accounts/sub-account.model.js';
import {
  AccessKey,
  SUB_ACCOUNT_ACCESS_KEY_LIMIT,
  SUB_ACCOUNT_KEY_SLOTS,
  accessKeySecretContext,
  type AccessKeyDoc,
} from './access-key.model.js';

/** Prefix of long-term access key ids ("GateHouse Access Key"). */
export const ACCESS_KEY_PREFIX = 'GHAK';
export const ACCESS_KEY_LENGTH = 20;
/** Ncloud secret keys are 40 characters; 40 base-62 characters carry 238 bits. */
export const SECRET_LENGTH = 40;

if (ACCESS_KEY_PREFIX.startsWith(STS_KEY_PREFIX) || STS_KEY_PREFIX.startsWith(ACCESS_KEY_PREFIX)) {
  throw new Error('access key ids and STS key ids must have distinct prefixes');
}

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `length` characters drawn uniformly (crypto.randomInt, no modulo bias) from `alphabet`. */
export function randomString(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** A fresh key id: `prefix` + upper-case letters and digits up to `ACCESS_KEY_LENGTH` characters. */
export function newKeyId(prefix: string): string {
  return prefix + randomString(UPPER_ALNUM, ACCESS_KEY_LENGTH - prefix.length);
}

export function newKeySecret(): string {
  return randomString(BASE62, SECRET_LENGTH);
}

export interface AccessKeyView {
  accessKey: string;
  status: 'active' | 'inactive';
  /** Ncloud's time field names (as on roles: createTime, lastUseTime). */
  createTime: string;
  lastUseTime: string | null;
}

export interface CreatedAccessKey extends AccessKeyView {
  /** Shown once, in the response to create; never stored in clear, never returned again. */
  secretKey: string;
}

type Stored = AccessKeyDoc & { createdAt?: Date };

function toView(d: Stored): AccessKeyView {
  return {
    accessKey: d.accessKey,
    status: d.status,
    createTime: (d.createdAt ?? new Date(0)).toISOString(),
    lastUseTime: d.lastUsedAt ? d.lastUsedAt.toISOString() : null,
  };
}

const ownedBy = (accountId: number, subAccountId: string) => ({ accountId, 'owner.type': 'subAccount' as const, 'owner.id': subAccountId });

function subAccountMissing(subAccountId: string): AppError {
  return new AppError('NOT_FOUND', `sub account ${subAccountId} does not exist`);
}

export async function listSubAccountAccessKeys(
  accountId: number,
  subAccountId: string,
  exists: boolean,
  q: PageQuery,
): Promise<Page<AccessKeyView>> {
  if (!exists) throw subAccountMissing(subAccountId);
  const filter = ownedBy(accountId, subAccountId);
  return pageOf(AccessKey.find(filter).sort({ createdAt: 1, accessKey: 1 }).lean<Stored[]>(), AccessKey.countDocuments(filter), q, toView);
}

/**
 * Creates a key in the first free slot. A slot taken concurrently shows up as a duplicate key
 * on the slot index and the next slot is tried; with every slot taken the limit is reached.
 * The sub account must exist (`exists` comes from the route's resource lookup); a sub account
 * deleted while its key was being written leaves no orphan key behind.
 */
export async function createSubAccountAccessKey(
  accountId: number,
  subAccountId: string,
  exists: boolean,
  keyring: Keyring,
): Promise<CreatedAccessKey> {
  if (!exists) throw subAccountMissing(subAccountId);
  const secretKey = newKeySecret();
  for (const slot of SUB_ACCOUNT_KEY_SLOTS) {
    const accessKey = newKeyId(ACCESS_KEY_PREFIX);
    let created: Stored;
    try {
      const doc = await AccessKey.create({
        accountId,
        accessKey,
        secretEncrypted: keyring.encrypt(secretKey, accessKeySecretContext(accessKey)),
        owner: { type: 'subAccount', id: subAccountId },
        slot,
      });
      created = doc.toObject() as Stored;
    } catch (err) {
      // Either this slot is taken (try the next) or, with odds of 36^-16, the key id exists:
      // the next attempt draws a new id either way.
      if (isDuplicateKeyError(err)) continue;
      throw err;
    }
    // deleteSubAccount removes keys with one deleteMany; a key written after it would outlive
    // its owner (it could never authenticate, but it would sit in the database).
    if (!(await SubAccount.exists({ accountId, subAccountId }))) {
      await AccessKey.deleteOne({ accountId, accessKey });
      throw subAccountMissing(subAccountId);
    }
    return { ...toView(created), secretKey };
  }
  throw new AppError('LIMIT_EXCEEDED', `a sub account can have at most ${SUB_ACCOUNT_ACCESS_KEY_LIMIT} access keys; delete one first`);
}

export async function deleteSubAccountAccessKey(
  accountId: number,
  subAccountId: string,
  accessKey: string,
  exists: boolean,
): Promise<void> {
  if (!exists) throw subAccountMissing(subAccountId);
  const d = await AccessKey.findOneAndDelete({ ...ownedBy(accountId, subAccountId), accessKey }).lean();
  if (!d) throw new AppError('NOT_FOUND', `access key ${accessKey} does not exist for sub account ${subAccountId}`);
}

export async function setSubAccountAccessKeyStatus(
  accountId: number,
  subAccountId: string,
  accessKey: string,
  status: 'active' | 'inactive',
  exists: boolean,
): Promise<AccessKeyView> {
  if (!exists) throw subAccountMissing(subAccountId);
  const d = await AccessKey.findOneAndUpdate(
    { ...ownedBy(accountId, subAccountId), accessKey },
    { $set: { status } },
    { returnDocument: 'after' },
  ).lean<Stored>();
  if (!d) throw new AppError('NOT_FOUND', `access key ${accessKey} does not exist for sub account ${subAccountId}`);
  return toView(d);
}

/** How often `lastUsedAt` is written at most, per key (authenticate.ts): one write a minute, not one per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Records that a key was used, at most once per LAST_USED_RESOLUTION_MS. The filter repeats the
 * staleness test, so concurrent requests on many processes write once.
 */
export async function touchAccessKey(
  accountId: number,
  accessKey: string,
  lastUsedAt: Date | null | undefined,
  now = new Date(),
): Promise<void> {
  if (lastUsedAt && now.getTime() - lastUsedAt.getTime() < LAST_USED_RESOLUTION_MS) return;
  const staleBefore = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
  await AccessKey.updateOne(
    { accountId, accessKey, $or: [{ lastUsedAt: null }, { lastUsedAt: { $lt: staleBefore } }] },
    { $set: { lastUsedAt: now } },
  );
}
