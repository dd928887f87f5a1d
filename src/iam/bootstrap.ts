/**
 * First start: create the main account and its root credentials, once. Safe to run on every
 * start and from several processes at once: the account is inserted against a unique index
 * (never check-then-insert), and a lost race simply finds the winner's account.
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Keyring } from '../db/encryption.js';
import { isDuplicateKeyError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { hashPassword } from '../shared/password-hash.js';
import { AccessKey, accessKeySecretContext } from './access-keys/access-key.model.js';
import { Account } from './accounts/account.model.js';

export const MAIN_ACCOUNT_MEMBER_NO = 1_000_001;

export interface BootstrapResult {
  memberNo: number;
  created: boolean;
  /** Only when generated on this start: shown once, never stored in clear. */
  generatedPassword?: string;
  accessKeyConfigured: boolean;
}

function generatePassword(): string {
  // 18 random bytes → 24 base64url characters (~144 bits).
  return randomBytes(18).toString('base64url');
}

export async function bootstrap(config: Config, keyring: Keyring, logger: Logger): Promise<BootstrapResult> {
  const memberNo = MAIN_ACCOUNT_MEMBER_NO;
  let created = false;
  let generatedPassword: string | undefined;

  const existing = await Account.exists({ memberNo });
  if (!existing) {
    const password = config.root.password ?? generatePassword();
    try {
      await Account.create({
        memberNo,
        name: config.root.accountName,
        type: 'main',
        rootLoginId: config.root.loginId,
        rootPasswordHash: await hashPassword(password),
        rootPasswordGenerated: config.root.password === undefined,
      });
      created = true;
      if (config.root.password === undefined) generatedPassword = password;
      logger.info({ memberNo, rootLoginId: config.root.loginId }, 'created the main account');
    } catch (err) {
      if (!isDuplicateKeyError(err)) throw err;
      // Another process bootstrapped first: its account stands.
    }
  }

  let accessKeyConfigured = false;
  const { accessKey, secretKey } = config.root;
  if (accessKey && secretKey) {
    // Upsert on the unique key id: the operator's values win, so rotating the environment
    // variables rotates the automation key.
    const res = await AccessKey.updateOne(
      { accountId: memberNo, accessKey },
      {
        $set: { secretEncrypted: keyring.encrypt(secretKey, accessKeySecretContext(accessKey)), status: 'active' },
        $setOnInsert: { owner: { type: 'root', id: null } },
      },
      { upsert: true },
    );
    accessKeyConfigured = true;
    if (res.upsertedCount > 0) logger.info({ accessKey }, 'created the root API access key from GATEHOUSE_ROOT_ACCESS_KEY');
  }

  return { memberNo, created, accessKeyConfigured, ...(generatedPassword ? { generatedPassword } : {}) };
}
