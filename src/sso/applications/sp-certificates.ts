/**
 * Certificates a SAML service provider registers (issue 9: signing certificates for signed
 * AuthnRequests/LogoutRequests, an encryption certificate for encrypted assertions), parsed with
 * @peculiar/x509: PEM (or the bare base64 DER of metadata's ds:X509Certificate), not expired,
 * and a key Gatehouse will use: RSA of at least 2048 bits, or EC on P-256 / P-384.
 */
// First: loads reflect-metadata (which @peculiar/x509 needs before it loads) and installs Node's
// WebCrypto as its provider.
import '../../shared/x509.js';
import * as x509 from '@peculiar/x509';

export const SP_CERTIFICATE_MAX_CHARS = 16_384;

export type SpCertificateCheck = { ok: true; pem: string; notAfter: Date } | { ok: false; message: string };

function toPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}

/** Parses and checks one certificate; the stored form is a normalized PEM of its DER. */
export function checkSpCertificate(text: string, now = new Date()): SpCertificateCheck {
  if (text.length > SP_CERTIFICATE_MAX_CHARS) return { ok: false, message: `must be at most ${SP_CERTIFICATE_MAX_CHARS} characters` };
  const trimmed = text.trim();
  let der: Buffer;
  if (trimmed.startsWith('-----BEGIN CERTIFICATE-----')) {
    const m = /^-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----$/.exec(trimmed);
    if (!m) return { ok: false, message: 'must be one PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)' };
    der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  } else if (/^[A-Za-z0-9+/=\s]+$/.test(trimmed) && trimmed.length > 0) {
    der = Buffer.from(trimmed.replace(/\s+/g, ''), 'base64');
  } else {
    return { ok: false, message: 'must be a PEM certificate' };
  }
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(new Uint8Array(der));
  } catch {
    return { ok: false, message: 'is not a parsable X.509 certificate' };
  }
  if (cert.notAfter.getTime() <= now.getTime()) return { ok: false, message: `expired on ${cert.notAfter.toISOString()}` };
  const alg = cert.publicKey.algorithm as { name?: string; modulusLength?: number; namedCurve?: string };
  if (alg.name === 'RSASSA-PKCS1-v1_5' || alg.name === 'RSA-PSS' || alg.name === 'RSA-OAEP') {
    if ((alg.modulusLength ?? 0) < 2048) return { ok: false, message: `has a ${alg.modulusLength ?? '?'}-bit RSA key; at least 2048 bits are required` };
  } else if (alg.name === 'ECDSA' || alg.name === 'ECDH') {
    if (alg.namedCurve !== 'P-256' && alg.namedCurve !== 'P-384') return { ok: false, message: `uses the curve ${alg.namedCurve ?? '?'}; only P-256 and P-384 are accepted` };
  } else {
    return { ok: false, message: `has a ${alg.name ?? 'unknown'} key; only RSA (≥2048 bits) and EC P-256/P-384 are accepted` };
  }
  return { ok: true, pem: toPem(Buffer.from(cert.rawData)), notAfter: cert.notAfter };
}
