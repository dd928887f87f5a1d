/**
 * What the container runs: `npm run build` (tsc → dist/) and `node dist/main.js`, against the
 * real engine. Keeps the Dockerfile's command honest on a machine without Docker.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { PROJECT_ROOT } from '../../src/db/bundled.js';
import { TEST_MASTER_KEY } from '../helpers/app.js';
import { testMongoUri } from '../helpers/engine.js';
import { freePort } from '../helpers/process.js';

describe('production build (npm run build, node dist/main.js)', function () {
  this.timeout(300_000);
  let uri: string;

  before(async () => {
    uri = (await testMongoUri()).replace(/\/?$/, '/') + `t_dist_${randomBytes(4).toString('hex')}`;
    const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
    expect(build.status, build.stdout + build.stderr).to.equal(0);
  });
  after(async () => {
    const conn = await mongoose.createConnection(uri).asPromise();
    await conn.dropDatabase();
    await conn.close();
  });

  it('serves /readyz from the compiled output in production mode', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'main.js')], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production', PORT: String(port), HOST: '127.0.0.1', MONGODB_URI: uri, GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.on('exit', r));
    try {
      const deadline = Date.now() + 60_000;
      while (!out.includes('Gatehouse is listening') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      expect(out, out).to.contain('Gatehouse is listening');
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(res.status).to.equal(200);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).to.equal(0);
  });
});
