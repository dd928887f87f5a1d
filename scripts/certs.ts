/**
 * `npm run certs`: development TLS and signing certificates in certs/ (private keys are
 * git-ignored, mode 0600). Re-running keeps existing files unless --force is given.
 * Production keys are generated per tenant by Gatehouse itself and stored encrypted.
 */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../src/db/bundled.js';
import { createSelfSigned } from '../src/shared/x509.js';

const dir = path.join(PROJECT_ROOT, 'certs');
const force = process.argv.includes('--force');

const targets = [
  { name: 'dev-tls', opts: { commonName: 'localhost', usage: 'tls' as const, validDays: 365, keyType: 'ec' as const, altNames: { dns: ['localhost'], ip: ['127.0.0.1', '::1'] } } },
  { name: 'dev-signing', opts: { commonName: 'Gatehouse development signing key', usage: 'signing' as const, validDays: 730, keyType: 'rsa' as const } },
];

mkdirSync(dir, { recursive: true });
for (const t of targets) {
  const certFile = path.join(dir, `${t.name}.crt`);
  const keyFile = path.join(dir, `${t.name}.key`);
  if (!force && existsSync(certFile) && existsSync(keyFile)) {
    console.log(`kept     ${path.relative(PROJECT_ROOT, certFile)} (use --force to replace)`);
    continue;
  }
  const made = await createSelfSigned(t.opts);
  writeFileSync(keyFile, made.privateKeyPem, { mode: 0o600 });
  chmodSync(keyFile, 0o600);
  writeFileSync(certFile, made.certificatePem);
  console.log(`created  ${path.relative(PROJECT_ROOT, certFile)} and ${path.basename(keyFile)} (valid until ${made.notAfter.toISOString().slice(0, 10)}, SHA-256 ${made.sha256Fingerprint.slice(0, 16)}…)`);
}
