/**
 * Admin API test helpers: signed requests (Ncloud signature v2, the way an API client signs
 * them), the main account's root key, and sub accounts with given policies and their own keys.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { AccessKey, accessKeySecretContext } from '../../src/iam/access-keys/access-key.model.js';
import { Account } from '../../src/iam/accounts/account.model.js';
import { MAIN_ACCOUNT_MEMBER_NO } from '../../src/iam/bootstrap.js';
import { signRequest } from '../../src/iam/authn/signature.js';
import { Policy } from '../../src/iam/policies/policy.model.js';
import { SubAccount } from '../../src/iam/sub-accounts/sub-account.model.js';
import { testKeyring } from './app.js';

export const ACCOUNT = MAIN_ACCOUNT_MEMBER_NO;

export interface Signer {
  accessKey: string;
  secret: string;
  call(method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, body?: unknown, headers?: Record<string, string>): request.Test;
}

export function signer(app: Express, accessKey: string, secret: string, opts: { timestampOffsetMs?: number } = {}): Signer {
  return {
    accessKey,
    secret,
    call(method, path, body, headers = {}) {
      const ts = String(Date.now() + (opts.timestampOffsetMs ?? 0));
      const sig = signRequest(secret, method.toUpperCase(), path, ts, accessKey);
      let t = request(app)[method](path)
        .set('x-ncp-apigw-timestamp', ts)
        .set('x-ncp-iam-access-key', accessKey)
        .set('x-ncp-apigw-signature-v2', sig);
      for (const [k, v] of Object.entries(headers)) t = t.set(k, v);
      return body === undefined ? t : t.send(body as object);
    },
  };
}

function newKeyId(prefix = 'GHTEST'): string {
  return (prefix + randomBytes(12).toString('hex').toUpperCase()).slice(0, 24);
}

/** The main account (if missing) and a root access key. */
export async function rootSigner(app: Express, accountId = ACCOUNT): Promise<Signer> {
  await Account.updateOne(
    { memberNo: accountId },
    { $setOnInsert: { memberNo: accountId, name: 'Test', type: 'main', rootLoginId: `root${accountId}`, rootPasswordHash: '$argon2id$unused' } },
    { upsert: true },
  );
  const accessKey = newKeyId('GHROOT');
  const secret = randomBytes(30).toString('base64url');
  await AccessKey.create({ accountId, accessKey, secretEncrypted: testKeyring().encrypt(secret, accessKeySecretContext(accessKey)), owner: { type: 'root', id: null } });
  return signer(app, accessKey, secret);
}

export interface TestSubAccount extends Signer {
  subAccountId: string;
  loginId: string;
}

/**
 * A sub account with API access, the given policies (managed ids, or documents stored as user
 * policies) and an access key. Created directly in the database: the tests of the API itself
 * create sub accounts through the API.
 */
export async function subAccountSigner(
  app: Express,
  policies: ({ managed: string } | { document: unknown })[],
  opts: { accountId?: number; apiAllowSources?: string[]; tags?: { key: string; value: string }[] } = {},
): Promise<TestSubAccount> {
  const accountId = opts.accountId ?? ACCOUNT;
  const policyIds: string[] = [];
  for (const p of policies) {
    if ('managed' in p) policyIds.push(p.managed);
    else {
      const policyId = randomUUID();
      const name = `p${randomBytes(6).toString('hex')}`;
      await Policy.create({ accountId, policyId, name, nameKey: name, document: p.document });
      policyIds.push(policyId);
    }
  }
  const subAccountId = randomUUID();
  const loginId = `sub-${randomBytes(4).toString('hex')}`;
  await SubAccount.create({
    accountId,
    subAccountId,
    loginId,
    loginIdKey: loginId,
    name: 'Test Sub',
    canAPIGatewayAccess: true,
    useApiAllowSource: opts.apiAllowSources !== undefined,
    apiAllowSources: opts.apiAllowSources ?? [],
    passwordHash: '$argon2id$unused',
    policyIds,
    tags: opts.tags ?? [],
  });
  const accessKey = newKeyId('GHSUB');
  const secret = randomBytes(30).toString('base64url');
  await AccessKey.create({ accountId, accessKey, secretEncrypted: testKeyring().encrypt(secret, accessKeySecretContext(accessKey)), owner: { type: 'subAccount', id: subAccountId } });
  return { ...signer(app, accessKey, secret), subAccountId, loginId };
}

/** A policy document allowing exactly these Sub Account actions on every resource. */
export function allow(actions: string[], product = 'SubAccount', resourceNrns = ['*']): { document: unknown } {
  return { document: { permissions: [{ effect: 'Allow', targets: [{ product, actions, resourceNrns }] }] } };
}
