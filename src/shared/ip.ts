/**
 * IP allow-lists (consolePermitIps, apiAllowSources, SSO IP ACLs): entries are single IPv4/IPv6
 * addresses or CIDR ranges, validated and normalised on input and matched with node:net's
 * BlockList (which also matches IPv4-mapped IPv6 correctly).
 */
import { BlockList, isIP } from 'node:net';

export interface ParsedIpEntry {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses `203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`; undefined when invalid. */
export function parseIpEntry(raw: string): ParsedIpEntry | undefined {
  const [addr, bits, ...rest] = raw.trim().split('/');
  if (rest.length || !addr) return undefined;
  const fam = isIP(addr);
  if (!fam) return undefined;
  const max = fam === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return undefined;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return undefined;
  return { address: addr.toLowerCase(), prefix, family: fam === 4 ? 'ipv4' : 'ipv6' };
}

/** The canonical text of an entry (`/32` and `/128` dropped). */
export function normalizeIpEntry(raw: string): string | undefined {
  const p = parseIpEntry(raw);
  if (!p) return undefined;
  return (p.family === 'ipv4' && p.prefix === 32) || (p.family === 'ipv6' && p.prefix === 128) ? p.address : `${p.address}/${p.prefix}`;
}

export class IpAllowList {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(entries: readonly string[]) {
    let n = 0;
    for (const e of entries) {
      const p = parseIpEntry(e);
      if (!p) continue;
      this.list.addSubnet(p.address, p.prefix, p.family);
      n++;
    }
    this.size = n;
  }

  /** True when the address is inside one of the entries; false for anything unparsable. */
  allows(ip: string): boolean {
    const addr = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
    const fam = isIP(addr);
    if (!fam) return false;
    return this.list.check(addr, fam === 4 ? 'ipv4' : 'ipv6');
  }
}
