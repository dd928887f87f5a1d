/**
 * Single-document atomicity of concurrent writes, which MongoDB guarantees and Gatehouse relies on
 * (quota and lockout counters, the TOTP replay guard's compare-and-set, refresh-token rotation).
 *
 * FerretDB v1 alone applies update/findAndModify/delete as an unlocked read-modify-write, so
 * concurrent writes to one document lost updates (20 concurrent $inc left n = 18; guarded updates
 * all reported success). The bundled engine serializes writes per collection in its wire-protocol
 * proxy (engine/proxy.go); these tests hold it (and any real MongoDB) to MongoDB's behaviour.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import mongoose from 'mongoose';
import { testMongoUri } from '../helpers/engine.js';

type Client = InstanceType<typeof mongoose.mongo.MongoClient>;
type Db = ReturnType<Client['db']>;

interface Counter {
  _id: string;
  n: number;
}

const times = <T>(n: number, fn: (i: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: n }, (_, i) => fn(i)));

describe('bundled engine: atomicity of concurrent writes', () => {
  let client: Client;
  let db: Db;

  before(async function () {
    this.timeout(240_000); // the first file may wait for the engine to build and start
    // A pool large enough that every concurrent operation has its own connection.
    client = new mongoose.mongo.MongoClient(await testMongoUri(), { maxPoolSize: 64 });
    await client.connect();
    db = client.db(`t_atomicity_${randomBytes(4).toString('hex')}`);
  });

  after(async () => {
    if (!client) return;
    await db.dropDatabase();
    await client.close();
  });

  it('applies every one of 50 concurrent $inc of one document', async () => {
    const c = db.collection<Counter>('inc');
    await c.insertOne({ _id: 'k', n: 0 });
    const res = await times(50, () => c.updateOne({ _id: 'k' }, { $inc: { n: 1 } }));
    expect(res.reduce((sum, r) => sum + r.modifiedCount, 0)).to.equal(50);
    expect((await c.findOne({ _id: 'k' }))?.n).to.equal(50);
  });

  it('lets exactly 5 of 40 concurrent guarded updates ({n: {$lt: 5}}) through', async () => {
    const c = db.collection<Counter>('guarded');
    await c.insertOne({ _id: 'k', n: 0 });
    const res = await times(40, () => c.updateOne({ _id: 'k', n: { $lt: 5 } }, { $inc: { n: 1 } }));
    expect(res.reduce((sum, r) => sum + r.modifiedCount, 0)).to.equal(5);
    expect((await c.findOne({ _id: 'k' }))?.n).to.equal(5);
  });

  it('lets exactly one of 30 concurrent compare-and-set writers win (TOTP replay guard)', async () => {
    const c = db.collection<{ _id: string; lastStep: number }>('cas');
    await c.insertOne({ _id: 'k', lastStep: 41 });
    const res = await times(30, () => c.updateOne({ _id: 'k', lastStep: { $lt: 42 } }, { $set: { lastStep: 42 } }));
    expect(res.filter((r) => r.modifiedCount === 1)).to.have.length(1);
  });

  it('findOneAndUpdate with upsert and a guard: 5 of 30 succeed, the rest fail with E11000', async () => {
    const c = db.collection<Counter>('upsert');
    const out = await Promise.allSettled(
      Array.from({ length: 30 }, () =>
        c.findOneAndUpdate({ _id: 'k', n: { $lt: 5 } }, { $inc: { n: 1 } }, { upsert: true, returnDocument: 'after' }),
      ),
    );
    const ok = out.filter((o) => o.status === 'fulfilled');
    const failed = out.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(ok).to.have.length(5);
    expect(failed).to.have.length(25);
    for (const f of failed) expect((f.reason as { code?: number }).code).to.equal(11000);
    expect(ok.map((o) => o.value?.n).sort()).to.deep.equal([1, 2, 3, 4, 5]);
    expect((await c.findOne({ _id: 'k' }))?.n).to.equal(5);
  });

  it('lands concurrent writes to different documents and collections', async () => {
    const names = ['spread_a', 'spread_b', 'spread_c'];
    const docs = 8;
    const incs = 5;
    await times(names.length, (ci) =>
      db.collection<Counter>(names[ci] ?? '').insertMany(Array.from({ length: docs }, (_, d) => ({ _id: `d${d}`, n: 0 }))),
    );
    await times(names.length * docs * incs, (i) => {
      const name = names[i % names.length] ?? '';
      const doc = Math.floor(i / names.length) % docs;
      return db.collection<Counter>(name).updateOne({ _id: `d${doc}` }, { $inc: { n: 1 } });
    });
    for (const name of names) {
      const all = await db.collection<Counter>(name).find({}).sort({ _id: 1 }).toArray();
      expect(
        all.map((d) => d.n),
        name,
      ).to.deep.equal(Array.from({ length: docs }, () => incs));
    }
  });

  it('neither blocks reads nor loses an update during a long multi-document write', async function () {
    this.timeout(120_000);
    const big = db.collection<{ _id: number; v: number; pad: string }>('long');
    await big.insertMany(Array.from({ length: 1500 }, (_, i) => ({ _id: i, v: 0, pad: 'x'.repeat(200) })));
    const t0 = Date.now();
    const longWrite = big.updateMany({}, { $inc: { v: 1 } }).then(() => Date.now() - t0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const readAt = await big.findOne({ _id: 7 }).then(() => Date.now() - t0);
    const otherAt = await db
      .collection<Counter>('long_other')
      .updateOne({ _id: 'k' }, { $inc: { n: 1 } }, { upsert: true })
      .then(() => Date.now() - t0);
    // A document the long write reaches late (FerretDB reads it before this update and wrote
    // its stale copy back afterwards): both increments must land.
    await big.updateOne({ _id: 1400 }, { $inc: { v: 10 } });
    const writeMs = await longWrite;
    expect((await big.findOne({ _id: 1400 }))?.v).to.equal(11);
    expect(await big.countDocuments({ v: 1 })).to.equal(1499);
    if (writeMs < 400) this.skip(); // too fast to tell whether the read waited for it
    expect(readAt, 'read finished before the long write').to.be.below(writeMs);
    expect(otherAt, 'write to another collection finished before the long write').to.be.below(writeMs);
  });
});
