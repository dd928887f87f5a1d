/**
 * The client's address as seen through the trusted proxies only (TRUST_PROXY). Express applies
 * the setting to `req.ip`; this normalises IPv4-mapped IPv6 (`::ffff:203.0.113.7`) so allow-lists
 * and rate-limit keys see one form.
 */
import type { Request } from 'express';

export function clientIp(req: Request): string {
  const ip = req.ip ?? req.socket.remoteAddress ?? '';
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}
