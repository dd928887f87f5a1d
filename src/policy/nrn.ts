/**
 * NRN, Ncloud's resource name: `nrn:{domainCode}:{product}:{regionCode}:{memberNo}:{resourceType}/{resourceId}`,
 * at most 128 characters of `[A-Za-z0-9-_:./=]`; domain and region codes may be empty (ncloud-model.md §3 "NRN";
 * example `nrn:PUB:SSO::1234567:User/<uuid>`).
 */
import { parseTemplate } from './variables.js';

export interface Nrn {
  readonly domain: string;
  readonly product: string;
  readonly region: string;
  readonly memberNo: string;
  readonly resourceType: string;
  readonly resourceId: string;
}

export const NRN_MAX_LENGTH = 128;
const NRN_CHARS = /^[A-Za-z0-9\-_:./=]*$/;
const PATTERN_MAX_LENGTH = 256;

export interface NrnParts {
  readonly product: string;
  readonly memberNo: string | number;
  readonly resourceType: string;
  readonly resourceId: string;
  /** Defaults to `PUB` (every NRN in the docs is public-domain). */
  readonly domain?: string;
  /** Defaults to empty: SSO, Sub Account and Resource Manager are global (`nrn:PUB:SSO::…`). */
  readonly region?: string;
}

/** Builds an NRN; throws on characters outside the NRN alphabet (a caller bug, never user input). */
export function buildNrn(parts: NrnParts): string {
  const { product, resourceType, resourceId } = parts;
  const memberNo = String(parts.memberNo);
  const domain = parts.domain ?? 'PUB';
  const region = parts.region ?? '';
  for (const [name, v] of [
    ['product', product],
    ['memberNo', memberNo],
    ['resourceType', resourceType],
    ['domain', domain],
    ['region', region],
  ] as const) {
    if (!/^[A-Za-z0-9\-_.=]*$/.test(v)) throw new TypeError(`buildNrn: ${name} "${v}" has characters outside [A-Za-z0-9-_.=]`);
  }
  if (!product || !resourceType || !resourceId) throw new TypeError('buildNrn: product, resourceType and resourceId are required');
  const nrn = `nrn:${domain}:${product}:${region}:${memberNo}:${resourceType}/${resourceId}`;
  if (!NRN_CHARS.test(nrn) || nrn.length > NRN_MAX_LENGTH) throw new TypeError(`buildNrn: "${nrn}" is not a valid NRN`);
  return nrn;
}

/** Parses an NRN; undefined when it is not one. */
export function parseNrn(s: string): Nrn | undefined {
  if (s.length > NRN_MAX_LENGTH || !NRN_CHARS.test(s) || !s.startsWith('nrn:')) return undefined;
  const fields = s.split(':');
  // nrn, domain, product, region, memberNo, then the type/id (which may itself contain colons, e.g. server image paths).
  if (fields.length < 6) return undefined;
  const [, domain = '', product = '', region = '', memberNo = ''] = fields;
  const rest = fields.slice(5).join(':');
  const slash = rest.indexOf('/');
  if (!product || slash <= 0 || slash === rest.length - 1) return undefined;
  return { domain, product, region, memberNo, resourceType: rest.slice(0, slash), resourceId: rest.slice(slash + 1) };
}

/** Whether a request's resource is acceptable: an NRN or `*`. */
export function isRequestResource(s: string): boolean {
  return s === '*' || parseNrn(s) !== undefined;
}

/**
 * Checks a `resourceNrns` entry: `*`, or `nrn:` followed by NRN characters, `*` wildcards and policy variables.
 * Returns an error message, or undefined when the pattern is fine.
 */
export function checkNrnPattern(raw: string): string | undefined {
  if (raw === '*') return undefined;
  if (raw.length === 0) return 'must not be empty';
  if (raw.length > PATTERN_MAX_LENGTH) return `must be at most ${PATTERN_MAX_LENGTH} characters`;
  if (!raw.startsWith('nrn:'))
    return 'must be "*" or an NRN pattern starting with "nrn:" (nrn:PUB:{product}::{memberNo}:{resourceType}/{id})';
  const t = parseTemplate(raw, 'nrn');
  if (!t.ok) return t.message;
  for (const p of t.template.parts) {
    if (typeof p === 'string' && !NRN_CHARS.test(p)) {
      return 'may contain only letters, digits, "-", "_", ":", ".", "/", "=", "*" wildcards and ${…} policy variables';
    }
  }
  return undefined;
}
