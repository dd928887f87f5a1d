/**
 * The canonical form of an IP ACL entry (reference/ncloud-model.md §1 "IP ACL": IPv4, IPv6 or
 * CIDR). Validation is `src/shared/ip.ts`'s; on top of it an ACL entry is stored as what it
 * matches, so two spellings of one range are one entry and the list an admin reads back says
 * exactly what is allowed:
 * - host bits are cleared (`10.1.2.3/8` → `10.0.0.0/8`), as PostgreSQL's `cidr` and AWS's
 *   security-group rules print ranges;
 * - IPv6 is printed as RFC 5952 §4 recommends (lowercase, no leading zeros, the longest run of
 *   two or more zero groups compressed, the first one on a tie);
 * - an IPv4-mapped IPv6 entry (`::ffff:203.0.113.7`) becomes the IPv4 entry it denotes: clients
 *   reaching a dual-stack listener over IPv4 are matched as IPv4 (`IpAllowList.allows`);
 * - single addresses lose `/32` and `/128`;
 * - zone ids (`fe80::1%eth0`) are refused: they name an interface of one host, not an address.
 */
import { parseIpEntry } from '../../shared/ip.js';

function ipv4ToInt(address: string): number {
  return address.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** Eight 16-bit groups of an IPv6 address (node:net has validated it already). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const groups: number[] = [];
  // A trailing dotted quad (`::ffff:1.2.3.4`) is two groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tail: number[] = [];
  if (dotted?.[1]) {
    const v4 = ipv4ToInt(dotted[1]);
    tail = [Math.floor(v4 / 65536), v4 % 65536];
    text = text.slice(0, -dotted[1].length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head = '', rest] = text.split('::');
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => parseInt(h, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const missing = 8 - left.length - right.length - tail.length;
  groups.push(...left, ...Array<number>(rest === undefined ? 0 : missing).fill(0), ...right, ...tail);
  return groups;
}

function formatIpv6(groups: readonly number[]): string {
  // Longest run of ≥2 zero groups (RFC 5952 §4.2.2, §4.2.3).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function maskGroups(groups: readonly number[], prefix: number): number[] {
  return groups.map((g, i) => {
    const bits = Math.max(0, Math.min(16, prefix - i * 16));
    const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    return g & mask;
  });
}

/** The canonical text of an ACL entry, or undefined when it is not an IPv4/IPv6 address or CIDR range. */
export function canonicalIpAclEntry(raw: string): string | undefined {
  if (raw.trim() !== raw || raw.includes('%')) return undefined;
  const parsed = parseIpEntry(raw);
  if (!parsed) return undefined;
  const { prefix } = parsed;
  if (parsed.family === 'ipv6') {
    const groups = ipv6Groups(parsed.address);
    if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined;
    const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
    if (mapped && prefix >= 96) return formatIpv4((groups[6] ?? 0) * 65536 + (groups[7] ?? 0), prefix - 96);
    const text = formatIpv6(maskGroups(groups, prefix));
    return prefix === 128 ? text : `${text}/${prefix}`;
  }
  return formatIpv4(ipv4ToInt(parsed.address), prefix);
}

function formatIpv4(value: number, prefix: number): string {
  const size = 2 ** (32 - prefix);
  const network = Math.floor(value / size) * size;
  const text = intToIpv4(network);
  return prefix === 32 ? text : `${text}/${prefix}`;
}
