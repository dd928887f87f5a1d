import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { expect } from 'chai';
import { createSelfSigned } from '../../src/shared/x509.js';

describe('self-signed certificates', () => {
  it('makes an RSA-2048 SHA-256 signing certificate whose key matches, verified by node:crypto', async () => {
    const made = await createSelfSigned({ commonName: 'idp, evil=1', validDays: 30 });
    const cert = new X509Certificate(made.certificatePem);
    expect(cert.subject).to.equal('CN=idp_ evil_1');
    expect(cert.checkPrivateKey(createPrivateKey(made.privateKeyPem))).to.equal(true);
    expect(cert.verify(createPublicKey(made.certificatePem))).to.equal(true);
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).to.equal(2048);
    expect(new Date(cert.validTo).getTime()).to.be.closeTo(Date.now() + 30 * 86_400_000, 120_000);
    expect(cert.fingerprint256.replace(/:/g, '').toLowerCase()).to.equal(made.sha256Fingerprint);
  });

  it('makes a P-256 TLS certificate with the requested names', async () => {
    const made = await createSelfSigned({ commonName: 'localhost', usage: 'tls', keyType: 'ec', validDays: 1, altNames: { dns: ['localhost'], ip: ['127.0.0.1'] } });
    const cert = new X509Certificate(made.certificatePem);
    expect(cert.publicKey.asymmetricKeyType).to.equal('ec');
    expect(cert.subjectAltName).to.contain('DNS:localhost').and.contain('IP Address:127.0.0.1');
    expect(cert.checkHost('localhost')).to.equal('localhost');
  });
});
