/**
 * Ncloud API Gateway request signatures, version 2 (reference/ncloud-model.md §5):
 *   x-ncp-apigw-timestamp:     milliseconds since the epoch, within ±5 minutes of the server clock
 *   x-ncp-iam-access-key:      the access key id
 *   x-ncp-apigw-signature-v2:  Base64(HMAC-SHA256(secret, "{METHOD} {path?query}\n{timestamp}\n{accessKey}"))
 * The path and query are signed exactly as sent (no re-encoding), and the comparison is
 * constant-time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADERS = {
  timestamp: 'x-ncp-apigw-timestamp',
  accessKey: 'x-ncp-iam-access-key',
  signature: 'x-ncp-apigw-signature-v2',
} as const;

export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

export function signRequest(secret: string, method: string, pathWithQuery: string, timestamp: string, accessKey: string): string {
  return createHmac('sha256', secret).update(`${method.toUpperCase()} ${pathWithQuery}\n${timestamp}\n${accessKey}`).digest('base64');
}

export function verifySignature(secret: string, method: string, pathWithQuery: string, timestamp: string, accessKey: string, signature: string): boolean {
  const expected = Buffer.from(signRequest(secret, method, pathWithQuery, timestamp, accessKey), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // Equal lengths for timingSafeEqual; a length mismatch still costs one comparison.
  if (given.length !== expected.length) {
    timingSafeEqual(expected, expected);
    return false;
  }
  return timingSafeEqual(expected, given);
}

/** Whether a timestamp header is well-formed and within the allowed skew. */
export function timestampIsFresh(timestamp: string, now = Date.now()): boolean {
  if (!/^\d{10,16}$/.test(timestamp)) return false;
  return Math.abs(now - Number(timestamp)) <= MAX_CLOCK_SKEW_MS;
}
