/**
 * `npm start` with no configuration at all: Gatehouse starts the bundled engine in its data
 * directory, generates a master key there, serves /healthz and /readyz, stops the engine it
 * started on SIGTERM, and a second start keeps the data of the first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PROJECT_ROOT } from '../../src/db/bundled.js';
import { tempEngineDir } from '../helpers/engine.js';
import { startMain, stopMain } from '../helpers/process.js';

function engineStatus(dataDir: string): number | null {
  return spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'db.sh'), 'status'], { env: { ...process.env, GATEHOUSE_DATA_DIR: dataDir }, stdio: 'ignore' }).status;
}

describe('first start with no configuration (bundled engine)', function () {
  this.timeout(300_000);
  const dataDir = tempEngineDir('gatehouse-npm-start-');
  after(() => {
    spawnSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'db.sh'), 'stop'], { env: { ...process.env, GATEHOUSE_DATA_DIR: dataDir }, stdio: 'ignore' });
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts the engine, serves health and readiness, and stops the engine on SIGTERM', async () => {
    const g = await startMain({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_DB_FSYNC: 'off' });
    try {
      expect(g.output()).to.contain('MONGODB_URI is not set: starting the bundled engine');
      expect(g.output()).to.match(/Password: {2}\S{24}/);
      expect((await fetch(`${g.baseUrl}/healthz`)).status).to.equal(200);
      expect((await fetch(`${g.baseUrl}/readyz`)).status).to.equal(200);
      const keyFile = path.join(dataDir, 'master.key');
      expect(existsSync(keyFile)).to.equal(true);
      expect(statSync(keyFile).mode & 0o777).to.equal(0o600);
      expect(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64')).to.have.length(32);
      expect(engineStatus(dataDir)).to.equal(0);
    } finally {
      expect(await stopMain(g)).to.equal(0);
    }
    expect(engineStatus(dataDir), 'engine stopped with Gatehouse').to.equal(3);
  });

  it('a second start keeps the data and the key of the first', async () => {
    const keyBefore = readFileSync(path.join(dataDir, 'master.key'), 'utf8');
    const g = await startMain({ GATEHOUSE_DATA_DIR: dataDir, GATEHOUSE_DB_FSYNC: 'off' });
    try {
      expect(g.output(), 'no new account, so no new password').not.to.contain('Password:');
      expect((await fetch(`${g.baseUrl}/readyz`)).status).to.equal(200);
    } finally {
      expect(await stopMain(g)).to.equal(0);
    }
    expect(readFileSync(path.join(dataDir, 'master.key'), 'utf8')).to.equal(keyBefore);
  });
});
