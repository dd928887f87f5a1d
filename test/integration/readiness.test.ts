/**
 * /readyz follows the database: 503 while it is unreachable, 200 again once it is back, without
 * restarting Gatehouse (the driver reconnects). Uses a private engine instance so stopping it
 * does not disturb the other tests.
 */
import { expect } from 'chai';
import request from 'supertest';
import { connectDatabase, type Database } from '../../src/db/connection.js';
import { silentLogger, testApp } from '../helpers/app.js';
import { startPrivateEngine } from '../helpers/engine.js';

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

describe('readiness follows the database', function () {
  this.timeout(240_000);
  let engine: Awaited<ReturnType<typeof startPrivateEngine>>;
  let db: Database;

  before(async () => {
    engine = await startPrivateEngine();
    db = await connectDatabase(engine.uri, { logger: silentLogger, dbName: 'readiness', serverSelectionTimeoutMS: 2000 });
  });
  after(async () => {
    await db?.close().catch(() => undefined);
    await engine?.remove();
  });

  it('is 200, then 503 while the engine is stopped, then 200 again after it restarts', async () => {
    const app = testApp({ db });
    await request(app).get('/readyz').expect(200);

    await engine.stop();
    const down = await eventually(async () => (await request(app).get('/readyz')).status === 503, 15_000);
    expect(down, '/readyz turned 503').to.equal(true);
    const body = (await request(app).get('/readyz')).body as { checks: { database: string } };
    expect(body.checks.database).to.equal('unreachable');
    // liveness is unaffected
    await request(app).get('/healthz').expect(200);

    const uriAfter = await engine.start();
    expect(uriAfter, 'the engine keeps its port across restarts').to.equal(engine.uri);
    const up = await eventually(async () => (await request(app).get('/readyz')).status === 200, 60_000);
    expect(up, '/readyz turned 200 again').to.equal(true);
  });
});
