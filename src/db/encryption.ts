/**
 * Envelope encryption for secrets at rest (TOTP secrets, private keys, client secrets where the
 * protocol needs them back, access-key secrets). Each value gets its own random 256-bit data key;
 * the value is sealed with AES-256-GCM under the data key, and the data key is wrapped with
 * AES-256-GCM under the master key (GATEHOUSE_MASTER_KEY). The master key never touches the
 * database; rotating it re-wraps data keys only (previous keys stay readable through
 * GATEHOUSE_MASTER_KEY_PREVIOUS until re-wrapped).
 *
 * Stored form (one string, ASCII): `gh1.<kid>.<wrapIv>.<wrappedKey>.<wrapTag>.<iv>.<ciphertext>.<tag>`,
 * base64url parts; `kid` names the master key (first 8 bytes of its SHA-256). An optional
 * context string (e.g. `Account:1000001:accessKey:AKxxx`) is bound as additional authenticated
 * data, so a ciphertext copied into another record does not decrypt.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { AppError } from '../shared/errors.js';

const VERSION = 'gh1';

function kidOf(key: Buffer): string {
  return createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url');
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): { iv: Buffer; ct: Buffer; tag: Buffer } {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, ct, tag: cipher.getAuthTag() };
}

function open(key: Buffer, iv: Buffer, ct: Buffer, tag: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]);
}

export class Keyring {
  private readonly current: { kid: string; key: Buffer };
  private readonly byKid = new Map<string, Buffer>();

  constructor(masterKey: Buffer, previous: Buffer[] = []) {
    if (masterKey.length !== 32) throw new Error('master key must be 32 bytes');
    this.current = { kid: kidOf(masterKey), key: masterKey };
    for (const k of [masterKey, ...previous]) {
      if (k.length !== 32) throw new Error('master key must be 32 bytes');
      this.byKid.set(kidOf(k), k);
    }
  }

  get currentKid(): string {
    return this.current.kid;
  }

  encrypt(plaintext: string | Buffer, context = ''): string {
    const aad = Buffer.from(`${VERSION}|${context}`, 'utf8');
    const dataKey = randomBytes(32);
    try {
      const wrapped = seal(this.current.key, dataKey, aad);
      const body = seal(dataKey, Buffer.isBuffer(plaintext) ? plaintext : Buffer.from(plaintext, 'utf8'), aad);
      return [VERSION, this.current.kid, wrapped.iv, wrapped.ct, wrapped.tag, body.iv, body.ct, body.tag]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
        .join('.');
    } finally {
      dataKey.fill(0);
    }
  }

  decryptToBuffer(sealed: string, context = ''): Buffer {
    const parts = sealed.split('.');
    if (parts.length !== 8 || parts[0] !== VERSION) throw new AppError('INTERNAL', 'encrypted value has an unknown format');
    const [, kid, ...rest] = parts as [string, string, ...string[]];
    const master = this.byKid.get(kid);
    if (!master) {
      throw new AppError('INTERNAL', 'encrypted value was sealed with a master key that is not configured (set GATEHOUSE_MASTER_KEY_PREVIOUS)');
    }
    const [wIv, wCt, wTag, iv, ct, tag] = rest.map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
    const aad = Buffer.from(`${VERSION}|${context}`, 'utf8');
    let dataKey: Buffer | undefined;
    try {
      dataKey = open(master, wIv, wCt, wTag, aad);
      return open(dataKey, iv, ct, tag, aad);
    } catch (cause) {
      // One generic error for every failure: no oracle on which part was wrong.
      throw new AppError('INTERNAL', 'encrypted value could not be decrypted', { cause });
    } finally {
      dataKey?.fill(0);
    }
  }

  decrypt(sealed: string, context = ''): string {
    return this.decryptToBuffer(sealed, context).toString('utf8');
  }

  /** True when the value was sealed under an older master key and should be re-wrapped. */
  needsRewrap(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current.kid;
  }

  /** Re-seals a value under the current master key (key rotation). */
  rewrap(sealed: string, context = ''): string {
    const plain = this.decryptToBuffer(sealed, context);
    try {
      return this.encrypt(plain, context);
    } finally {
      plain.fill(0);
    }
  }
}
