import { expect } from 'chai';
import mongoose, { Schema } from 'mongoose';
import { expiryPlugin } from '../../src/db/plugins/expiry.js';
import { scopePlugin, UnscopedQueryError } from '../../src/db/plugins/scope.js';
import { secretPlugin } from '../../src/db/plugins/secret.js';
import { allModels } from '../../src/db/connection.js';
import { sweepExpired } from '../../src/db/sweep.js';
import { Account } from '../../src/iam/accounts/account.model.js';
import { useTestDatabase } from '../helpers/db.js';

// Test-only models exercising each plugin on the real engine.
const widgetSchema = new Schema({ tenantId: { type: String }, name: String, apiKeyHash: { type: String, secret: true } });
widgetSchema.index({ tenantId: 1, name: 1 }, { unique: true });
widgetSchema.plugin(scopePlugin, { key: 'tenantId' });
widgetSchema.plugin(secretPlugin);
const Widget = mongoose.model('TestWidget', widgetSchema);

const ticketSchema = new Schema({ tenantId: { type: String }, code: String, expiresAt: { type: Date, required: true } });
ticketSchema.plugin(scopePlugin, { key: 'tenantId' });
ticketSchema.plugin(expiryPlugin);
const Ticket = mongoose.model('TestTicket', ticketSchema);

describe('database layer on the real engine', () => {
  const t = useTestDatabase('plugins');

  describe('scope plugin', () => {
    it('throws on a query without the owner key, before reaching the database', async () => {
      await Widget.create({ tenantId: 'ten-a', name: 'w1' });
      const unscoped = [
        () => Widget.find({ name: 'w1' }),
        () => Widget.findOne({}),
        () => Widget.findById(new mongoose.Types.ObjectId()),
        () => Widget.countDocuments({}),
        () => Widget.updateMany({}, { $set: { name: 'x' } }),
        () => Widget.deleteMany({ name: 'w1' }),
        () => Widget.findOneAndUpdate({ name: 'w1' }, { name: 'x' }),
        () => Widget.aggregate([{ $match: { name: 'w1' } }]),
        // "match anything" is not a scope
        () => Widget.find({ tenantId: { $exists: true } }),
        () => Widget.find({ tenantId: { $ne: 'ten-b' } }),
      ];
      for (const [i, q] of unscoped.entries()) {
        let caught: unknown;
        try {
          await q();
        } catch (err) {
          caught = err;
        }
        expect(caught, `query #${i}`).to.be.instanceOf(UnscopedQueryError);
      }
      // nothing was changed by the refused writes
      expect(await Widget.findOne({ tenantId: 'ten-a' }).lean()).to.include({ name: 'w1' });
    });

    it('allows scoped queries and keeps tenants apart', async () => {
      await Widget.create({ tenantId: 'ten-b', name: 'w1' });
      expect(await Widget.countDocuments({ tenantId: 'ten-a' })).to.equal(1);
      expect(await Widget.countDocuments({ tenantId: { $in: ['ten-a', 'ten-b'] } })).to.equal(2);
      const agg = await Widget.aggregate([{ $match: { tenantId: 'ten-b' } }]);
      expect(agg).to.have.length(1);
      expect(await Widget.find({ name: 'w1' }).setOptions({ unscoped: true })).to.have.length(2);
    });

    it('rejects a document without its owner and keeps the owner immutable', async () => {
      let err: unknown;
      try {
        await Widget.create({ name: 'orphan' });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(mongoose.Error.ValidationError);
      expect(await Widget.countDocuments({ tenantId: { $in: ['ten-a', 'ten-b'] }, name: 'orphan' })).to.equal(0);
      const w = await Widget.findOne({ tenantId: 'ten-a', name: 'w1' }).orFail();
      w.tenantId = 'ten-c';
      await w.save();
      expect(await Widget.countDocuments({ tenantId: 'ten-c' })).to.equal(0);
    });

    it('enforces uniqueness with the unique index (E11000), also under concurrency', async () => {
      const results = await Promise.allSettled(Array.from({ length: 10 }, () => Widget.create({ tenantId: 'ten-race', name: 'same' })));
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: number }).code).to.equal(11000);
      expect(await Widget.countDocuments({ tenantId: 'ten-race' })).to.equal(1);
    });

    it('rejects filters on unknown paths instead of silently widening them', async () => {
      let err: unknown;
      try {
        await Widget.find({ tenantId: 'ten-a', nmae: 'typo' });
      } catch (e) {
        err = e;
      }
      expect(err).to.be.instanceOf(Error);
      expect(String(err)).to.match(/nmae/);
    });
  });

  describe('secret-field plugin', () => {
    it('never serializes secret fields, and does not load them unless asked', async () => {
      await Widget.create({ tenantId: 'ten-s', name: 'secret', apiKeyHash: 'argon2-hash-value' });
      const loaded = await Widget.findOne({ tenantId: 'ten-s' }).orFail();
      expect(loaded.apiKeyHash).to.equal(undefined);
      const withSecret = await Widget.findOne({ tenantId: 'ten-s' }).select('+apiKeyHash').orFail();
      expect(withSecret.apiKeyHash).to.equal('argon2-hash-value');
      expect(withSecret.toJSON()).not.to.have.property('apiKeyHash');
      expect(withSecret.toObject()).not.to.have.property('apiKeyHash');
      expect(JSON.stringify(withSecret)).not.to.contain('argon2-hash-value');
      // saving a document loaded with the secret keeps it stored
      withSecret.name = 'renamed';
      await withSecret.save();
      const raw = await t.db.connection.db!.collection(Widget.collection.name).findOne({ tenantId: 'ten-s' });
      expect(raw?.apiKeyHash).to.equal('argon2-hash-value');
    });

    it('applies to the real models: the root password hash never serializes', async () => {
      const acc = await Account.create({ memberNo: 4242, name: 'x', rootLoginId: 'root4242', rootPasswordHash: '$argon2id$fake' });
      expect(JSON.stringify(acc)).not.to.contain('argon2id');
      const reread = await Account.findOne({ memberNo: 4242 }).lean();
      expect(reread).not.to.have.property('rootPasswordHash');
    });
  });

  describe('expiry', () => {
    it('hides expired records on read, even before they are swept', async () => {
      const past = new Date(Date.now() - 1000);
      const future = new Date(Date.now() + 60_000);
      await Ticket.create([
        { tenantId: 'ten-e', code: 'old', expiresAt: past },
        { tenantId: 'ten-e', code: 'new', expiresAt: future },
      ]);
      expect((await Ticket.find({ tenantId: 'ten-e' })).map((d) => d.code)).to.deep.equal(['new']);
      expect(await Ticket.findOne({ tenantId: 'ten-e', code: 'old' })).to.equal(null);
      expect(await Ticket.countDocuments({ tenantId: 'ten-e' })).to.equal(1);
      expect(await Ticket.countDocuments({ tenantId: 'ten-e' }).setOptions({ includeExpired: true })).to.equal(2);
    });

    it('the sweep deletes documents past expiresAt on an engine without TTL, and only those', async function () {
      if (t.db.capabilities.ttlIndexes) {
        // On MongoDB the TTL index does this; the sweep is still harmless. Assert the index exists.
        const idx = await Ticket.collection.indexes();
        expect(idx.some((i) => i.expireAfterSeconds === 0)).to.equal(true);
      }
      const before = await Ticket.countDocuments({ tenantId: 'ten-e' }).setOptions({ includeExpired: true });
      expect(before).to.equal(2);
      const res = await sweepExpired(allModels());
      expect(res.TestTicket).to.equal(1);
      const raw = await t.db.connection.db!.collection(Ticket.collection.name).find({ tenantId: 'ten-e' }).toArray();
      expect(raw.map((d) => d.code)).to.deep.equal(['new']);
    });

    it('detects the engine and builds the expiresAt index either way', async () => {
      const idx = await Ticket.collection.indexes();
      expect(idx.some((i) => JSON.stringify(i.key) === '{"expiresAt":1}')).to.equal(true);
      expect(t.db.capabilities.engine).to.be.a('string').and.not.empty;
      expect(t.db.capabilities.transactions).to.be.a('boolean');
    });
  });
});
