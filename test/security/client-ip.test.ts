/**
 * security-bar §4 "IP allow-list vs X-Forwarded-For": the client address comes through the
 * proxies the operator trusts only, so IP ACLs and rate limits cannot be dodged with a forged
 * header.
 */
import { expect } from 'chai';
import express from 'express';
import request from 'supertest';
import { clientIp } from '../../src/http/client-ip.js';
import { testApp } from '../helpers/app.js';

describe('security: client IP and TRUST_PROXY', () => {
  async function ipSeen(trustProxy: string, xff: string): Promise<string> {
    // The trust setting createApp derives from TRUST_PROXY, applied to a probe route that
    // reports clientIp(req) (createApp itself ends with the 404 handler).
    const app = testApp({ env: { TRUST_PROXY: trustProxy } });
    const probe = express();
    probe.set('trust proxy', app.get('trust proxy'));
    probe.get('/ip', (req, res) => {
      res.json({ ip: clientIp(req) });
    });
    const res = await request(probe).get('/ip').set('X-Forwarded-For', xff);
    return (res.body as { ip: string }).ip;
  }

  it('ignores X-Forwarded-For by default', async () => {
    expect(await ipSeen('false', '203.0.113.9')).to.equal('127.0.0.1');
  });
  it('takes exactly the hop the proxy appended with a hop count, not the client-supplied left-most entry', async () => {
    expect(await ipSeen('1', '198.51.100.66, 203.0.113.9')).to.equal('203.0.113.9');
  });
  it('trusts listed proxy addresses only', async () => {
    expect(await ipSeen('loopback', '198.51.100.66, 203.0.113.9')).to.equal('203.0.113.9');
    expect(await ipSeen('10.0.0.0/8', '203.0.113.9')).to.equal('127.0.0.1');
  });
  it('normalises IPv4-mapped IPv6 addresses', async () => {
    expect(await ipSeen('1', '::ffff:203.0.113.9')).to.equal('203.0.113.9');
  });
});
