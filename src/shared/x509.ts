/**
 * Self-signed X.509 certificates for signing keys (SAML IdP/SP, development TLS), built with
 * @peculiar/x509 over Node's WebCrypto. Private keys are returned as PKCS#8 PEM for the caller
 * to encrypt (src/db/encryption.ts) or write with mode 0600; never logged.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

// `Parameters<>` of an overloaded method reads the last overload, `set(key, crypto)`: its second parameter is the Crypto type in any lib setup.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[1]);

export interface SelfSignedOptions {
  commonName: string;
  /** DNS names and IPs for a TLS certificate. */
  altNames?: { dns?: string[]; ip?: string[] };
  validDays: number;
  /** RSA-2048 (SAML interop default) or P-256. */
  keyType?: 'rsa' | 'ec';
  /** RSA modulus length (default 2048; tenant signing certificates offer 3072 and 4096). */
  rsaModulusLength?: 2048 | 3072 | 4096;
  usage?: 'signing' | 'tls';
}

export interface CertificateAndKey {
  certificatePem: string;
  privateKeyPem: string;
  notAfter: Date;
  sha256Fingerprint: string;
}

export async function createSelfSigned(opts: SelfSignedOptions): Promise<CertificateAndKey> {
  const alg =
    opts.keyType === 'ec'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: opts.rsaModulusLength ?? 2048 };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + opts.validDays * 86_400_000);
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
  if (opts.usage === 'tls') {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true));
    extensions.push(new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]));
    const names = [
      ...(opts.altNames?.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(opts.altNames?.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
    ];
    if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  } else {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${opts.commonName.replace(/[,=+<>#;\\"]/g, '_')}`,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys,
    extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const privateKeyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  const thumb = Buffer.from(await cert.getThumbprint('SHA-256')).toString('hex');
  return { certificatePem: cert.toString('pem') + '\n', privateKeyPem, notAfter, sha256Fingerprint: thumb };
}
