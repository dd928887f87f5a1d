import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.js';

const KEY = 'a'.repeat(64);

function errorOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected loadConfig to throw');
}

describe('config', () => {
  it('has working defaults with no environment at all (bundled engine)', () => {
    const c = loadConfig({});
    expect(c.port).to.equal(3000);
    expect(c.baseUrl).to.equal('http://localhost:3000');
    expect(c.mongodbUri).to.equal(undefined);
    expect(c.trustProxy).to.equal(false);
    expect(c.masterKey).to.equal(undefined);
    expect(c.root.loginId).to.equal('admin');
  });

  it('derives the base URL from PORT and strips a trailing slash from GATEHOUSE_BASE_URL', () => {
    expect(loadConfig({ PORT: '8080' }).baseUrl).to.equal('http://localhost:8080');
    expect(loadConfig({ GATEHOUSE_BASE_URL: 'https://sso.example.com/' }).baseUrl).to.equal('https://sso.example.com');
  });

  it('names the variable and what is allowed when a value is bad', () => {
    const msg = errorOf({ PORT: 'abc' });
    expect(msg).to.match(/^Invalid configuration: PORT must be an integer between 1 and 65535 \(got "abc"\)$/);
    expect(errorOf({ PORT: '70000' })).to.contain('PORT');
    expect(errorOf({ LOG_LEVEL: 'loud' })).to.match(/LOG_LEVEL must be one of fatal, error/);
    expect(errorOf({ GATEHOUSE_BASE_URL: 'javascript:alert(1)' })).to.contain('GATEHOUSE_BASE_URL must be an absolute http(s) URL');
    expect(errorOf({ MONGODB_URI: 'postgres://x' })).to.contain('MONGODB_URI must start with mongodb://');
  });

  it('is one line and never echoes a secret value', () => {
    const msg = errorOf({ GATEHOUSE_MASTER_KEY: 'short-secret-value' });
    expect(msg).to.contain('GATEHOUSE_MASTER_KEY must be 32 random bytes');
    expect(msg).not.to.contain('short-secret-value');
    expect(msg).not.to.contain('\n');
  });

  it('requires a master key with an external MongoDB', () => {
    expect(errorOf({ MONGODB_URI: 'mongodb://db:27017/gh' })).to.contain('GATEHOUSE_MASTER_KEY is required when MONGODB_URI is set');
    const c = loadConfig({ MONGODB_URI: 'mongodb://db:27017/gh', GATEHOUSE_MASTER_KEY: KEY });
    expect(c.masterKey?.length).to.equal(32);
  });

  it('accepts a master key as hex or base64 and rejects other lengths', () => {
    expect(loadConfig({ GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }).masterKey).to.deep.equal(Buffer.alloc(32, 7));
    expect(errorOf({ GATEHOUSE_MASTER_KEY: Buffer.alloc(16, 7).toString('base64') })).to.contain('GATEHOUSE_MASTER_KEY');
  });

  describe('TRUST_PROXY', () => {
    it('refuses true, which would let clients forge X-Forwarded-For', () => {
      expect(errorOf({ TRUST_PROXY: 'true' })).to.match(/TRUST_PROXY must not be "true"/);
    });
    it('takes a hop count or a list of addresses and CIDRs', () => {
      expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).to.equal(1);
      expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).to.equal(false);
      expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, loopback,2001:db8::/32' }).trustProxy).to.deep.equal(['10.0.0.0/8', 'loopback', '2001:db8::/32']);
    });
    it('rejects malformed entries, naming them', () => {
      expect(errorOf({ TRUST_PROXY: '10.0.0.0/33' })).to.contain('not valid: 10.0.0.0/33');
      expect(errorOf({ TRUST_PROXY: 'example.com' })).to.contain('not valid: example.com');
    });
  });

  it('requires the root access key and secret together', () => {
    expect(errorOf({ GATEHOUSE_ROOT_ACCESS_KEY: 'AKIAEXAMPLE0000001' })).to.contain('GATEHOUSE_ROOT_SECRET_KEY must be set together');
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '' }).port).to.equal(3000);
  });
});
