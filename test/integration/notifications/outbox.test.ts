/**
 * The outbox transport (development, tests, the demo): messages stored in MongoDB instead of
 * sent, read back newest first per address and kind, kept a day like every other
 * secret-bearing record (src/notifications/outbox.model.ts), and hidden once expired.
 */
import { expect } from 'chai';
import { OutboxNotifier, readOutbox } from '../../../src/notifications/notifier.js';
import { OutboxMessage, OUTBOX_RETENTION_MS } from '../../../src/notifications/outbox.model.js';
import { useTestDatabase } from '../../helpers/db.js';

describe('notifications: the outbox transport', function () {
  this.timeout(60_000);
  useTestDatabase('outbox');
  const outbox = new OutboxNotifier();

  it('stores messages and reads them back newest first, by address and kind, for a day', async () => {
    expect(outbox.transport).to.equal('outbox');
    await outbox.send({ to: 'a@example.com', subject: 'first', text: 'code 111111', kind: 'otp', tenantId: 't1' });
    await new Promise((r) => setTimeout(r, 5));
    await outbox.send({ to: 'a@example.com', subject: 'second', text: 'link', kind: 'passwordReset' });
    await new Promise((r) => setTimeout(r, 5));
    await outbox.send({ to: 'a@example.com', subject: 'third', text: 'code 222222', kind: 'otp' });
    await outbox.send({ to: 'b@example.com', subject: 'other', text: 'x', kind: 'otp' });

    expect((await readOutbox('a@example.com')).map((m) => m.subject)).to.deep.equal(['third', 'second', 'first']);
    expect((await readOutbox('a@example.com', 'otp')).map((m) => m.text)).to.deep.equal(['code 222222', 'code 111111']);
    const stored = await OutboxMessage.findOne({ to: 'a@example.com', subject: 'first' }).lean();
    expect(stored?.tenantId).to.equal('t1');
    expect(stored!.expiresAt.getTime() - stored!.createdAt.getTime()).to.be.closeTo(OUTBOX_RETENTION_MS, 5_000);
  });

  it('hides expired messages', async () => {
    await outbox.send({ to: 'old@example.com', subject: 'old', text: 'x', kind: 'otp' });
    await OutboxMessage.updateOne({ to: 'old@example.com' }, { $set: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await readOutbox('old@example.com')).to.deep.equal([]);
  });
});
