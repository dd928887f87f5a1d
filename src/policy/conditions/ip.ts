/**
 * `IpAddress` / `NotIpAddress` over `ncp:SourceIp` (ARCHITECTURE.md global keys). Values are IPv4 or IPv6
 * addresses or CIDR blocks; an IPv4-mapped IPv6 client address (`::ffff:203.0.113.7`, what a dual-stack socket
 * reports) is compared as IPv4. Context addresses are parsed by hand into scratch buffers: no allocation.
 */
import type { ContextScalar } from '../types.js';
import type { FamilyModule, ScalarTest } from './types.js';

/** Parses dotted IPv4 in s[start, end) to an unsigned 32-bit number, or -1. Leading zeros are refused (octal ambiguity). */
function parseV4(s: string, start: number, end: number): number {
  let parts = 0;
  let digits = 0;
  let val = 0;
  let result = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && val === 0) return -1;
      val = val * 10 + (c - 48);
      if (val > 255) return -1;
      digits++;
    } else if (c === 46) {
      if (digits === 0 || parts === 3) return -1;
      result = result * 256 + val;
      parts++;
      val = 0;
      digits = 0;
    } else return -1;
  }
  if (digits === 0 || parts !== 3) return -1;
  return result * 256 + val;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

const groups = new Int32Array(8);

/** Parses IPv6 in s[0, end) into four 32-bit words; false when malformed. */
function parseV6(s: string, end: number, out: Uint32Array): boolean {
  let n = 0;
  let dbl = -1;
  let i = 0;
  if (end >= 2 && s.charCodeAt(0) === 58 && s.charCodeAt(1) === 58) {
    dbl = 0;
    i = 2;
  } else if (end > 0 && s.charCodeAt(0) === 58) return false;
  while (i < end) {
    if (n >= 8) return false;
    const groupStart = i;
    let v = 0;
    let d = 0;
    while (i < end) {
      const h = hexVal(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      d++;
      i++;
    }
    if (i < end && s.charCodeAt(i) === 46) {
      // Embedded IPv4 in the last 32 bits.
      if (n > 6) return false;
      const v4 = parseV4(s, groupStart, end);
      if (v4 < 0) return false;
      groups[n++] = Math.floor(v4 / 65536);
      groups[n++] = v4 % 65536;
      break; // the IPv4 tail runs to the end of the string
    }
    if (d === 0 || d > 4) return false;
    groups[n++] = v;
    if (i === end) break;
    if (s.charCodeAt(i) !== 58) return false;
    i++;
    if (i < end && s.charCodeAt(i) === 58) {
      if (dbl >= 0) return false;
      dbl = n;
      i++;
    } else if (i === end) return false; // trailing single colon
  }
  if (dbl < 0) {
    if (n !== 8) return false;
  } else {
    if (n > 7) return false;
    const tail = n - dbl;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[n - 1 - k] as number;
    for (let k = dbl; k < 8 - tail; k++) groups[k] = 0;
  }
  for (let w = 0; w < 4; w++) out[w] = ((groups[2 * w] as number) * 65536 + (groups[2 * w + 1] as number)) >>> 0;
  return true;
}

const scratch = new Uint32Array(4);

/** Kind of a parsed address: 4 with `v4` set, 6 with `scratch`/`out` set, 0 when unreadable. */
let lastV4 = 0;
function classify(s: string, out: Uint32Array): 0 | 4 | 6 {
  if (s.indexOf(':') < 0) {
    const v = parseV4(s, 0, s.length);
    if (v < 0) return 0;
    lastV4 = v;
    return 4;
  }
  if (!parseV6(s, s.length, out)) return 0;
  if (out[0] === 0 && out[1] === 0 && out[2] === 0xffff) {
    lastV4 = out[3] as number;
    return 4;
  }
  return 6;
}

interface V4Range {
  readonly net: number;
  readonly mask: number;
}
interface V6Range {
  readonly words: Uint32Array;
  readonly masks: Uint32Array;
}

function maskOf(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

type ParsedRange = { readonly v: 4; readonly r: V4Range } | { readonly v: 6; readonly r: V6Range };

function parseRange(raw: string): ParsedRange | undefined {
  const slash = raw.indexOf('/');
  const addr = slash < 0 ? raw : raw.slice(0, slash);
  const bitsText = slash < 0 ? undefined : raw.slice(slash + 1);
  if (bitsText !== undefined && !/^\d{1,3}$/.test(bitsText)) return undefined;
  const out = new Uint32Array(4);
  const kind = classify(addr, out);
  if (kind === 0) return undefined;
  if (kind === 4 && addr.indexOf(':') < 0) {
    const bits = bitsText === undefined ? 32 : Number(bitsText);
    if (bits > 32) return undefined;
    const mask = maskOf(bits);
    return { v: 4, r: { net: (lastV4 & mask) >>> 0, mask } };
  }
  const bits = bitsText === undefined ? 128 : Number(bitsText);
  if (bits > 128) return undefined;
  if (kind === 4) {
    // A mapped address written in a policy (::ffff:10.0.0.0/104) means the IPv4 block.
    if (bits < 96) return undefined;
    const mask = maskOf(bits - 96);
    return { v: 4, r: { net: (lastV4 & mask) >>> 0, mask } };
  }
  const masks = new Uint32Array(4);
  for (let w = 0; w < 4; w++) masks[w] = maskOf(Math.min(32, Math.max(0, bits - 32 * w)));
  for (let w = 0; w < 4; w++) out[w] = ((out[w] as number) & (masks[w] as number)) >>> 0;
  return { v: 6, r: { words: out, masks } };
}

export function isIpOrCidr(raw: string): boolean {
  return parseRange(raw) !== undefined;
}

function ipTest(values: readonly string[]): ScalarTest {
  const v4: V4Range[] = [];
  const v6: V6Range[] = [];
  for (const raw of values) {
    const r = parseRange(raw);
    if (r?.v === 4) v4.push(r.r);
    else if (r?.v === 6) v6.push(r.r);
  }
  return (v: ContextScalar) => {
    if (typeof v !== 'string') return false;
    const kind = classify(v, scratch);
    if (kind === 4) {
      const ip = lastV4;
      for (let i = 0; i < v4.length; i++) {
        const r = v4[i] as V4Range;
        if ((ip & r.mask) >>> 0 === r.net) return true;
      }
      return false;
    }
    if (kind === 6) {
      outer: for (let i = 0; i < v6.length; i++) {
        const r = v6[i] as V6Range;
        for (let w = 0; w < 4; w++) {
          if (((scratch[w] as number) & (r.masks[w] as number)) >>> 0 !== r.words[w]) continue outer;
        }
        return true;
      }
    }
    return false;
  };
}

export const ipFamily: FamilyModule = {
  family: 'Ip',
  operators: ['IpAddress', 'NotIpAddress'],
  negated: ['NotIpAddress'],
  templateMode: () => null,
  checkValue: (_op, raw) => (isIpOrCidr(raw) ? undefined : `"${raw}" is not an IPv4/IPv6 address or CIDR block`),
  compile: (_op, values) => ipTest(values.map((v) => (typeof v === 'string' ? v : v.join('')))),
};
