/**
 * `gatehouse oidc …` (issue 8 "Keys"):
 *   rotate-keys --tenant ID|ALIAS [--json]   rotates the tenant's OpenID Provider signing keys
 * Talks to the database the server uses (MONGODB_URI and GATEHOUSE_MASTER_KEY, as the server);
 * the running servers pick the new keys up at their next change-stamp poll.
 * Exit: 0 done, 1 failed (no such tenant, database error), 2 bad arguments.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { connectDatabase } from '../db/connection.js';
import { Keyring } from '../db/encryption.js';
import { ChangeStamps } from '../iam/change-stamps.js';
import { rotateSigningKeys } from '../oidc/keys/signing-keys.js';
import { createLogger } from '../shared/logger.js';
import { findTenantByRef } from '../sso/tenant/tenant.service.js';

const USAGE = `usage:
  gatehouse oidc rotate-keys --tenant ID|ALIAS [--json]

Makes the published "next" signing keys current, retires the current ones (still published until
the tokens they signed expire) and publishes new "next" keys. Needs MONGODB_URI and
GATEHOUSE_MASTER_KEY as the server has them.
`;

export async function runOidc(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (sub !== 'rotate-keys') {
    process.stderr.write(USAGE);
    return 2;
  }
  let values: { tenant?: string | undefined; json?: boolean | undefined };
  try {
    ({ values } = parseArgs({ args: [...rest], options: { tenant: { type: 'string' }, json: { type: 'boolean' } }, strict: true }));
  } catch (err) {
    process.stderr.write(`gatehouse oidc: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (!values.tenant) {
    process.stderr.write(`gatehouse oidc rotate-keys: --tenant is required\n${USAGE}`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (!config.mongodbUri || !config.masterKey) {
    process.stderr.write('gatehouse oidc rotate-keys: set MONGODB_URI and GATEHOUSE_MASTER_KEY to the database and key the server uses\n');
    return 2;
  }
  const logger = createLogger({ ...config, logLevel: 'warn' });
  const db = await connectDatabase(config.mongodbUri, { logger });
  try {
    const tenant = await findTenantByRef(values.tenant);
    if (!tenant) {
      process.stderr.write(`gatehouse oidc rotate-keys: there is no tenant "${values.tenant}"\n`);
      return 1;
    }
    process.stdout.write(`rotating the signing keys of tenant ${tenant.tenantId} (generating RSA 2048 and P-256 keys)…\n`);
    const report = await rotateSigningKeys(tenant, { keyring: new Keyring(config.masterKey, config.previousMasterKeys), stamps: new ChangeStamps() });
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } else {
      process.stdout.write(
        [
          `now signing with: ${report.activated.join(', ') || '(none)'}`,
          `retired (published until ${report.retiredUntil.toISOString()}): ${report.retired.join(', ') || '(none)'}`,
          `published as next: ${report.created.join(', ')}`,
          `removed (expired): ${report.removed.join(', ') || '(none)'}`,
          '',
        ].join('\n'),
      );
    }
    return 0;
  } finally {
    await db.close();
  }
}
