import { pino } from 'pino';
import { createApp, type GatehouseApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { ReadinessProbe } from '../../src/http/health.js';
import { Keyring } from '../../src/db/encryption.js';

/** Silent unless TEST_LOG_LEVEL is set (e.g. TEST_LOG_LEVEL=debug npx mocha file). */
export const silentLogger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A fixed key for tests only (64 hex digits). */
export const TEST_MASTER_KEY = '5578c0666bc8b357ee84ce4decfb25997ce72b353529f59093097833dbcfd245';

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    MONGODB_URI: 'mongodb://127.0.0.1:1/unused',
    GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY,
    ...env,
  });
}

export function testKeyring(): Keyring {
  return new Keyring(Buffer.from(TEST_MASTER_KEY, 'hex'));
}

export function testApp(options: { env?: Record<string, string>; db?: ReadinessProbe } = {}): GatehouseApp {
  return createApp({ config: testConfig(options.env), logger: silentLogger, db: options.db, keyring: testKeyring() });
}
