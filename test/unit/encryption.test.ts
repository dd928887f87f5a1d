import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { Keyring } from '../../src/db/encryption.js';
import { AppError } from '../../src/shared/errors.js';

describe('envelope encryption (Keyring)', () => {
  const key = randomBytes(32);
  const ring = new Keyring(key);

  it('round-trips a secret and never stores it in clear', () => {
    const sealed = ring.encrypt('JBSWY3DPEHPK3PXP', 'User:42:totp');
    expect(sealed).to.match(/^gh1\./);
    expect(sealed).not.to.contain('JBSWY3DPEHPK3PXP');
    expect(ring.decrypt(sealed, 'User:42:totp')).to.equal('JBSWY3DPEHPK3PXP');
  });

  it('uses a fresh data key and IV each time', () => {
    expect(ring.encrypt('same', 'c')).not.to.equal(ring.encrypt('same', 'c'));
  });

  it('refuses a value moved to another record (context is authenticated)', () => {
    const sealed = ring.encrypt('secret', 'User:42:totp');
    expect(() => ring.decrypt(sealed, 'User:43:totp')).to.throw(AppError).with.property('detail', 'encrypted value could not be decrypted');
  });

  it('detects tampering with any part', () => {
    const sealed = ring.encrypt('secret', 'ctx');
    const parts = sealed.split('.');
    for (let i = 2; i < parts.length; i++) {
      const copy = [...parts];
      const buf = Buffer.from(copy[i]!, 'base64url');
      buf[0] = buf[0]! ^ 1;
      copy[i] = buf.toString('base64url');
      expect(() => ring.decrypt(copy.join('.'), 'ctx'), `part ${i}`).to.throw(AppError);
    }
  });

  it('fails with a clear error for another master key, and rotates with the previous one', () => {
    const sealed = ring.encrypt('secret', 'ctx');
    const other = new Keyring(randomBytes(32));
    expect(() => other.decrypt(sealed, 'ctx')).to.throw(AppError).with.property('detail').that.contains('GATEHOUSE_MASTER_KEY_PREVIOUS');
    const rotated = new Keyring(randomBytes(32), [key]);
    expect(rotated.needsRewrap(sealed)).to.equal(true);
    const rewrapped = rotated.rewrap(sealed, 'ctx');
    expect(rotated.needsRewrap(rewrapped)).to.equal(false);
    expect(rotated.decrypt(rewrapped, 'ctx')).to.equal('secret');
    expect(() => ring.decrypt(rewrapped, 'ctx')).to.throw(AppError);
  });

  it('rejects unknown formats', () => {
    expect(() => ring.decrypt('plaintext', 'ctx')).to.throw(AppError).with.property('detail', 'encrypted value has an unknown format');
  });
});
