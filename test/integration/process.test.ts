/**
 * The real entry point, as a process: configuration errors, first start and bootstrap, a second
 * start keeping its data, and graceful shutdown draining in-flight requests.
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { runMain, startMain, stopMain } from '../helpers/process.js';
import { testMongoUri } from '../helpers/engine.js';
import { TEST_MASTER_KEY } from '../helpers/app.js';

describe('gatehouse process (src/main.ts)', function () {
  this.timeout(120_000);

  it('stops at start-up with one line naming a bad variable', async () => {
    const run = runMain({ PORT: 'not-a-port' });
    const code = await run.exited;
    expect(code).to.equal(1);
    // On Node.js 20 (still supported for starting) oidc-provider prints its own runtime warning when loaded; Node 24 prints nothing else.
    const output = run.output().replace(/^oidc-provider WARNING: Unsupported runtime\..*\n/m, '');
    expect(output.trim()).to.equal('Invalid configuration: PORT must be an integer between 1 and 65535 (got "not-a-port")');
  });

  it('requires the master key with an external MongoDB, naming the variable', async () => {
    const run = runMain({ MONGODB_URI: 'mongodb://127.0.0.1:1/x' });
    expect(await run.exited).to.equal(1);
    expect(run.output()).to.contain('GATEHOUSE_MASTER_KEY is required when MONGODB_URI is set');
  });

  describe('with MONGODB_URI', () => {
    let uri: string;
    const dbName = `t_process_${randomBytes(4).toString('hex')}`;
    before(async function () {
      this.timeout(240_000);
      const base = await testMongoUri();
      uri = base.replace(/\/?$/, '/') + dbName;
    });
    after(async () => {
      const conn = await mongoose.createConnection(uri).asPromise();
      await conn.dropDatabase();
      await conn.close();
    });

    const env = () => ({ MONGODB_URI: uri, GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY, LOG_LEVEL: 'info' });

    it('first start: bootstraps the main account, prints the generated password once, serves health', async () => {
      const g = await startMain(env());
      try {
        expect(g.output()).to.match(/Password: {2}[A-Za-z0-9_-]{24}\n/);
        const health = await fetch(`${g.baseUrl}/healthz`);
        expect(health.status).to.equal(200);
        const ready = await fetch(`${g.baseUrl}/readyz`);
        expect(ready.status).to.equal(200);
      } finally {
        expect(await stopMain(g)).to.equal(0);
      }
      const conn = await mongoose.createConnection(uri).asPromise();
      try {
        const accounts = await conn.db!.collection('accounts').find().toArray();
        expect(accounts).to.have.length(1);
        expect(accounts[0]!.memberNo).to.equal(1000001);
        expect(accounts[0]!.rootPasswordHash).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      } finally {
        await conn.close();
      }
    });

    it('second start keeps the data of the first and prints no password', async () => {
      const g = await startMain({ ...env(), GATEHOUSE_ROOT_ACCESS_KEY: 'GHROOTKEY0000000001', GATEHOUSE_ROOT_SECRET_KEY: 'S'.repeat(40) });
      try {
        expect(g.output()).not.to.contain('Password:');
        expect((await fetch(`${g.baseUrl}/readyz`)).status).to.equal(200);
      } finally {
        expect(await stopMain(g)).to.equal(0);
      }
      const conn = await mongoose.createConnection(uri).asPromise();
      try {
        expect(await conn.db!.collection('accounts').countDocuments()).to.equal(1);
        const key = await conn.db!.collection('access_keys').findOne({ accessKey: 'GHROOTKEY0000000001' });
        expect(key?.accountId).to.equal(1000001);
        expect(key?.secretEncrypted).to.match(/^gh1\./);
        expect(JSON.stringify(key)).not.to.contain('S'.repeat(40));
      } finally {
        await conn.close();
      }
    });

    it('SIGTERM lets an in-flight request finish, then exits 0', async () => {
      const g = await startMain(env());
      // A request whose body is still arriving when SIGTERM lands: it must complete.
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port: g.port, method: 'POST', path: '/api/v1/drain-probe', headers: { 'Content-Type': 'application/json', 'Content-Length': '13' } },
          (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (c: string) => (body += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.write('{"slow":');
        setTimeout(() => {
          g.child.kill('SIGTERM');
          setTimeout(() => req.end('true}'), 500);
        }, 200);
      });
      const res = await response;
      expect(res.status).to.equal(404);
      expect(JSON.parse(res.body).error.errorCode).to.equal('NOT_FOUND');
      expect(await g.exited).to.equal(0);
      expect(g.output()).to.contain('shutting down: finishing in-flight requests');
      // no new connections are accepted after the signal
      let refused = false;
      try {
        await fetch(`${g.baseUrl}/healthz`);
      } catch {
        refused = true;
      }
      expect(refused).to.equal(true);
    });
  });
});
