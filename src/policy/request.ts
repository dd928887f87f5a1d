/**
 * Authorization requests as data (the policy simulator's request file, issue 4 "CLI"): validation with field
 * errors, and canonical spelling of context keys. The HTTP layer builds requests in code and need not use this.
 */
import { catalog, splitQualified } from './catalog/index.js';
import { parseDate } from './conditions/date.js';
import { isIpOrCidr } from './conditions/ip.js';
import { parseConditionKey } from './conditions/keys.js';
import { fieldPath } from './document.js';
import { isRequestResource } from './nrn.js';
import type { AuthorizationRequest, ContextScalar, ContextValue, FieldError, Principal, PrincipalType } from './types.js';

export type RequestValidation =
  { readonly ok: true; readonly request: AuthorizationRequest } | { readonly ok: false; readonly fieldErrors: readonly FieldError[] };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const PRINCIPAL_TYPES: readonly PrincipalType[] = ['SubAccount', 'Role', 'Root'];
const PRINCIPAL_STRINGS = ['id', 'name', 'uuid', 'sourceIdentityId', 'sourceIdentityType'] as const;

function validatePrincipal(raw: unknown, errors: FieldError[]): Principal | undefined {
  if (!isObject(raw)) {
    errors.push({ field: 'principal', message: 'must be an object with at least "type"' });
    return undefined;
  }
  for (const k of Object.keys(raw)) {
    if (k !== 'type' && k !== 'tags' && !(PRINCIPAL_STRINGS as readonly string[]).includes(k)) {
      errors.push({ field: fieldPath('principal', k), message: `unknown field (allowed: type, ${PRINCIPAL_STRINGS.join(', ')}, tags)` });
    }
  }
  const type = raw.type;
  if (typeof type !== 'string' || !(PRINCIPAL_TYPES as readonly string[]).includes(type)) {
    errors.push({ field: 'principal.type', message: `must be one of ${PRINCIPAL_TYPES.join(', ')}` });
  }
  const out: Record<string, unknown> = { type };
  for (const k of PRINCIPAL_STRINGS) {
    const v = raw[k];
    if (v === undefined) continue;
    if (typeof v !== 'string') errors.push({ field: `principal.${k}`, message: 'must be a string' });
    else out[k] = v;
  }
  if (raw.tags !== undefined) {
    if (!isObject(raw.tags)) errors.push({ field: 'principal.tags', message: 'must be an object of tag key → string value' });
    else {
      const tags: Record<string, string> = {};
      for (const [k, v] of Object.entries(raw.tags)) {
        if (typeof v !== 'string') errors.push({ field: fieldPath('principal.tags', k), message: 'must be a string' });
        else Object.defineProperty(tags, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
      out.tags = tags;
    }
  }
  return out as unknown as Principal;
}

function scalarOk(v: unknown): v is ContextScalar {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

function validateContext(raw: unknown, errors: FieldError[]): Record<string, ContextValue> | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    errors.push({ field: 'context', message: 'must be an object of condition key → value' });
    return undefined;
  }
  const out: Record<string, ContextValue> = {};
  for (const [k, v] of Object.entries(raw)) {
    const path = fieldPath('context', k);
    const key = parseConditionKey(k);
    if (!key.ok) {
      errors.push({ field: path, message: key.message });
      continue;
    }
    if (key.key.fromPrincipal) {
      errors.push({ field: path, message: 'principal properties come from "principal", not from the context' });
      continue;
    }
    const values = Array.isArray(v) ? v : [v];
    if (!values.every(scalarOk)) {
      errors.push({ field: path, message: 'must be a string, number, boolean or an array of them' });
      continue;
    }
    const family = key.key.family;
    if (family === 'SourceIp' && !values.every((x) => typeof x === 'string' && !x.includes('/') && isIpOrCidr(x))) {
      errors.push({ field: path, message: 'must be an IPv4 or IPv6 address' });
      continue;
    }
    if (family === 'CurrentTime' && !values.every((x) => typeof x === 'number' || (typeof x === 'string' && !Number.isNaN(parseDate(x))))) {
      errors.push({ field: path, message: 'must be an ISO-8601 date-time with a zone (2026-01-31T09:00:00Z) or epoch milliseconds' });
      continue;
    }
    if (family === 'MultiFactorAuthPresent' && !values.every((x) => typeof x === 'boolean')) {
      errors.push({ field: path, message: 'must be true or false' });
      continue;
    }
    Object.defineProperty(out, key.key.canonical, { value: v as ContextValue, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * Validates a request: a known principal type, a catalog action (`SSO:Change/createUser`), `*` or an NRN as the
 * resource (`*` for actions whose resource type is `-`), and a context of known, non-principal condition keys.
 */
export function validateRequest(raw: unknown): RequestValidation {
  const errors: FieldError[] = [];
  if (!isObject(raw))
    return {
      ok: false,
      fieldErrors: [{ field: 'request', message: 'must be a JSON object with principal, action, resource and context' }],
    };
  for (const k of Object.keys(raw)) {
    if (!['principal', 'action', 'resource', 'context'].includes(k))
      errors.push({ field: fieldPath('', k), message: 'unknown field (allowed: principal, action, resource, context)' });
  }
  const principal = validatePrincipal(raw.principal, errors);
  let resourceless = false;
  if (typeof raw.action !== 'string')
    errors.push({ field: 'action', message: 'must be a qualified action such as "SSO:Change/createUser"' });
  else {
    const rows = catalog.find(raw.action);
    if (rows.length === 0) {
      const split = splitQualified(raw.action);
      errors.push({
        field: 'action',
        message: split
          ? `unknown action "${raw.action}"`
          : `"${raw.action}" must be qualified by its product, e.g. "SSO:Change/createUser"`,
      });
    } else resourceless = rows.every((r) => r.resourceless);
  }
  if (typeof raw.resource !== 'string' || !isRequestResource(raw.resource)) {
    errors.push({ field: 'resource', message: 'must be an NRN (nrn:PUB:SSO::1234567:User/…) or "*"' });
  } else if (resourceless && raw.resource !== '*') {
    errors.push({ field: 'resource', message: `${String(raw.action)} has no resource type: it is authorized against "*"` });
  }
  const context = validateContext(raw.context, errors);
  if (errors.length > 0 || !principal) return { ok: false, fieldErrors: errors };
  const request: AuthorizationRequest = { principal, action: raw.action as string, resource: raw.resource as string, context };
  return { ok: true, request };
}
