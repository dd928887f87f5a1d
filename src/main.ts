/**
 * Boot: config → database → bootstrap → app → listen; graceful shutdown on SIGTERM/SIGINT that
 * stops accepting connections, lets in-flight requests finish (bounded by SHUTDOWN_TIMEOUT_MS),
 * then closes the database and, if this process started it, the bundled engine.
 */
import { createServer, type Server } from 'node:http';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { BundledEngineError, loadOrCreateMasterKeyFile, startBundledEngine, type BundledEngine } from './db/bundled.js';
import { connectDatabase, type Database } from './db/connection.js';
import { Keyring } from './db/encryption.js';
import type { SweepHandle } from './db/sweep.js';
import { ChangeStamps } from './iam/change-stamps.js';
import { bootstrap } from './iam/bootstrap.js';
import { notifierFromConfig } from './notifications/select.js';
import { createLogger, type Logger } from './shared/logger.js';
import { reconcileAllTenants } from './sso/assignments/assignment-provisioning.js';
import { startCertificateExpiryJob } from './sso/certificates/expiry-job.js';
import { startDemo } from './sso/demo.js';

const NO_DATABASE_HELP =
  'Gatehouse needs a MongoDB-compatible database. Point it at MongoDB 6+ with MONGODB_URI=mongodb://HOST:27017/gatehouse ' +
  '(and GATEHOUSE_MASTER_KEY=$(openssl rand -base64 32)), or start the one in docker-compose.yml with ' +
  '`docker compose up -d mongo` and use MONGODB_URI=mongodb://127.0.0.1:27017/gatehouse?directConnection=true';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

async function openDatabase(config: Config, logger: Logger): Promise<{ uri: string; engine?: BundledEngine; masterKey: Buffer }> {
  if (config.mongodbUri) {
    // config.ts guarantees a master key whenever MONGODB_URI is set.
    return { uri: config.mongodbUri, masterKey: config.masterKey! };
  }
  logger.info({ dataDir: config.dataDir }, 'MONGODB_URI is not set: starting the bundled engine (FerretDB on PostgreSQL)');
  let engine: BundledEngine;
  try {
    engine = await startBundledEngine(config.dataDir);
  } catch (err) {
    const reason = err instanceof BundledEngineError ? err.message : String(err);
    fail(`Could not start the bundled database (${reason}). ${NO_DATABASE_HELP}`);
  }
  let masterKey = config.masterKey;
  if (!masterKey) {
    const file = loadOrCreateMasterKeyFile(config.dataDir);
    if (file.created) logger.warn({ file: file.file }, 'generated a master key for secrets at rest; back it up with the data directory');
    masterKey = file.key;
  }
  logger.info({ uri: engine.uri, dataDir: config.dataDir }, `using the bundled engine with data in ${config.dataDir}`);
  return { uri: engine.uri, engine, masterKey };
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const logger = createLogger(config);

  const nodeMajor = Number(process.versions.node.split('.')[0]);
  if (nodeMajor < 24) {
    logger.warn(`running on Node.js ${process.versions.node}; Node.js 24 LTS is recommended (it is what Gatehouse is tested on)`);
  }

  const { uri, engine, masterKey } = await openDatabase(config, logger);
  let db: Database;
  try {
    db = await connectDatabase(uri, { logger });
  } catch (err) {
    await engine?.stop();
    fail(`Could not connect to the database at ${redactUri(uri)}: ${err instanceof Error ? err.message : String(err)}. ${NO_DATABASE_HELP}`);
  }
  await db.syncIndexes();
  const sweep: SweepHandle | undefined = db.startSweep(config.expirySweepIntervalSec);

  const keyring = new Keyring(masterKey, config.previousMasterKeys);
  const boot = await bootstrap(config, keyring, logger);
  if (boot.generatedPassword) {
    // Printed once, on the console only (not in the JSON log stream that may be shipped elsewhere).
    process.stdout.write(
      [
        '',
        '  Gatehouse created the main account.',
        `  Console:   ${config.baseUrl}/console/login`,
        `  Login ID:  ${config.root.loginId}`,
        `  Password:  ${boot.generatedPassword}`,
        '  This password is shown only once. Set GATEHOUSE_ROOT_PASSWORD before the first start to choose it.',
        '',
      ].join('\n') + '\n',
    );
  }

  const stamps = new ChangeStamps();
  stamps.start(1000, logger);
  // SSO role provisioning a crash left half-done is finished or rolled back before serving
  // (src/sso/assignments/assignment-provisioning.ts); a failure here is retried on reads.
  try {
    const reconciled = await reconcileAllTenants(stamps);
    if (reconciled.size > 0) logger.info({ tenants: Object.fromEntries(reconciled) }, 'SSO assignments reconciled');
  } catch (err) {
    logger.warn({ err }, 'SSO assignment reconciliation failed; unfinished assignments are finished when read');
  }
  await startDemo(config, stamps, logger);
  const notifier = notifierFromConfig(config, logger);
  const app = createApp({ config, logger, db, keyring, stamps, notifier });
  // Daily SAML certificate expiry notices, idempotent across processes (src/sso/certificates/expiry-job.ts).
  const expiryJob = startCertificateExpiryJob({ notifier, logger, baseUrl: config.baseUrl });
  const server: Server = createServer(app);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  logger.info({ port: config.port, host: config.host, baseUrl: config.baseUrl }, `Gatehouse is listening on ${config.baseUrl}`);

  let shuttingDown = false;
  const shutdown = (signal: string): void => {
    if (shuttingDown) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    shuttingDown = true;
    logger.info({ signal, timeoutMs: config.shutdownTimeoutMs }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      logger.warn('shutdown timeout reached: closing remaining connections');
      server.closeAllConnections();
    }, config.shutdownTimeoutMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      sweep?.stop();
      expiryJob.stop();
      stamps.stop();
      db.close()
        .catch((err: unknown) => logger.warn({ err }, 'closing the database failed'))
        .then(() => engine?.stop())
        .catch((err: unknown) => logger.warn({ err }, 'stopping the bundled engine failed'))
        .finally(() => {
          logger.info('stopped');
          logger.flush();
          process.exit(0);
        });
    });
    // Idle keep-alive sockets would hold close() open; busy ones finish their request first.
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function redactUri(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//***@');
}

main().catch((err: unknown) => {
  process.stderr.write(`Gatehouse failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
