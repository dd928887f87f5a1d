/**
 * An independent verifier for what Gatehouse signs (security-bar case 8): Debian's `xmlsec1`
 * (libxmlsec1 over OpenSSL), pinned to one certificate. `.ci/run` installs it; where it is
 * missing, `xmlsec1Available()` is false and callers say so instead of passing silently.
 *
 *   xmlsec1 --verify --enabled-key-data key-name,rsa --pubkey-cert-pem CERT
 *           --id-attr:ID urn:oasis:names:tc:SAML:2.0:assertion:Assertion
 *           --id-attr:ID urn:oasis:names:tc:SAML:2.0:protocol:Response FILE
 *
 * `--enabled-key-data` leaves out `x509`, so a certificate inside the signature's KeyInfo is never
 * used as the key: the signature must verify with the pinned certificate's public key alone
 * (xml-crypto CVE-2024-32962: trusting KeyInfo lets anyone re-sign). Passing `x509` back in (the
 * `keyData` option) reproduces the command line the issue names.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const SAML_ID_ATTRS = ['urn:oasis:names:tc:SAML:2.0:assertion:Assertion', 'urn:oasis:names:tc:SAML:2.0:protocol:Response'] as const;

let available: boolean | undefined;

/** Whether `xmlsec1` can be run here. */
export function xmlsec1Available(): boolean {
  if (available === undefined) {
    try {
      execFileSync('xmlsec1', ['--version'], { stdio: 'pipe', timeout: 10_000 });
      available = true;
    } catch {
      available = false;
    }
  }
  return available;
}

export interface XmlsecResult {
  ok: boolean;
  /** xmlsec1's stderr/stdout, for the assertion message when verification fails. */
  output: string;
}

export interface XmlsecOptions {
  /** Elements whose `ID` attribute names a signed reference (default: Assertion and Response). */
  idAttrs?: readonly string[];
  /** `--enabled-key-data` list (default `key-name,rsa`: the pinned key only, never one from KeyInfo). */
  keyData?: string;
}

/**
 * Verifies every signature of `xml` with `certPem`'s public key. Resolves `{ ok: true }` only when
 * xmlsec1 prints OK and exits 0.
 */
export async function verifyWithXmlsec1(xml: string, certPem: string, options: XmlsecOptions | string = {}): Promise<XmlsecResult> {
  const opts: XmlsecOptions = typeof options === 'string' ? { idAttrs: [options] } : options;
  if (!xmlsec1Available()) throw new Error('xmlsec1 is not installed (apt-get install xmlsec1; .ci/run installs it)');
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-xmlsec-'));
  try {
    const doc = path.join(dir, 'signed.xml');
    const cert = path.join(dir, 'cert.pem');
    writeFileSync(doc, xml);
    writeFileSync(cert, certPem);
    const args = ['--verify', '--enabled-key-data', opts.keyData ?? 'key-name,rsa', '--pubkey-cert-pem', cert];
    for (const id of opts.idAttrs ?? SAML_ID_ATTRS) args.push('--id-attr:ID', id);
    args.push(doc);
    return await new Promise<XmlsecResult>((resolve) => {
      execFile('xmlsec1', args, { timeout: 20_000 }, (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        resolve({ ok: !err && /^OK\b/m.test(output), output });
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
