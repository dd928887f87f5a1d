/**
 * The public keys of a `private_key_jwt` client (RFC 7523 §2.2; OIDC Core §9): a JWKS document
 * given as JSON text. Only public keys are accepted: a private or symmetric member (`d`, `p`,
 * `q`, `dp`, `dq`, `qi`, `oth`, `k`) means the client pasted its secret, which Gatehouse must
 * neither store nor use. Each key must be importable by Node's crypto and be RSA ≥2048 bits or EC
 * on P-256/P-384/P-521 (or Ed25519): what oidc-provider verifies client assertions with.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';

export const JWKS_MAX_CHARS = 65_536;
export const JWKS_MAX_KEYS = 10;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Why the text is not an acceptable client JWKS, or null; `canonical` is the JSON that is stored. */
export function checkClientJwks(text: string): { ok: true; canonical: string } | { ok: false; message: string } {
  if (text.length > JWKS_MAX_CHARS) return { ok: false, message: `must be at most ${JWKS_MAX_CHARS} characters` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, message: 'must be JSON text of a JWKS ({"keys": [...]})' };
  }
  if (!doc || typeof doc !== 'object' || !Array.isArray((doc as { keys?: unknown }).keys)) return { ok: false, message: 'must be a JWKS: an object with a "keys" array' };
  const keys = (doc as { keys: unknown[] }).keys;
  if (keys.length === 0 || keys.length > JWKS_MAX_KEYS) return { ok: false, message: `must hold 1 to ${JWKS_MAX_KEYS} keys` };
  const kids = new Set<string>();
  for (const [i, key] of keys.entries()) {
    if (!key || typeof key !== 'object' || Array.isArray(key)) return { ok: false, message: `key ${i} is not a JSON object` };
    const jwk = key as Record<string, unknown>;
    const priv = PRIVATE_MEMBERS.filter((m) => m in jwk);
    if (priv.length) return { ok: false, message: `key ${i} holds private or symmetric key material (${priv.join(', ')}): register public keys only` };
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') return { ok: false, message: `key ${i}: kty must be RSA, EC or OKP` };
    if (typeof jwk.kid === 'string') {
      if (kids.has(jwk.kid)) return { ok: false, message: `key ${i}: kid "${jwk.kid}" appears more than once` };
      kids.add(jwk.kid);
    }
    if (jwk.use !== undefined && jwk.use !== 'sig') return { ok: false, message: `key ${i}: use must be "sig" (client authentication signs)` };
    let details: { modulusLength?: number; namedCurve?: string } | undefined;
    let type: string | undefined;
    try {
      const pub = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
      details = pub.asymmetricKeyDetails;
      type = pub.asymmetricKeyType;
    } catch {
      return { ok: false, message: `key ${i} is not a valid ${String(jwk.kty)} public key` };
    }
    if (type === 'rsa' && (details?.modulusLength ?? 0) < 2048) return { ok: false, message: `key ${i}: RSA keys need at least 2048 bits` };
    if (type === 'ec' && !['prime256v1', 'secp384r1', 'secp521r1'].includes(details?.namedCurve ?? '')) return { ok: false, message: `key ${i}: EC keys must be on P-256, P-384 or P-521` };
    if (type !== 'rsa' && type !== 'ec' && type !== 'ed25519') return { ok: false, message: `key ${i}: only RSA, EC and Ed25519 keys are accepted` };
  }
  return { ok: true, canonical: JSON.stringify({ keys }) };
}
