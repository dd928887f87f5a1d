/**
 * Policy documents in Ncloud's API shape (ncloud-model.md §3 "Policy document"; ARCHITECTURE.md "Document"):
 * `{ permissions: [{ effect, targets: [{ product, actions, resourceNrns }], condition }] }`.
 * Validation returns field errors as data, with paths such as `permissions[0].targets[1].actions[2]`.
 */
import { parseActionPattern, parseProduct } from './catalog/index.js';
import { parseOperator } from './conditions/index.js';
import { parseConditionKey } from './conditions/keys.js';
import { checkNrnPattern } from './nrn.js';
import { PRODUCTS, type Effect, type FieldError, type ProductCode, type ValidationResult } from './types.js';
import { parseTemplate } from './variables.js';

export interface PolicyTarget {
  readonly product: ProductCode;
  /** Exact names, `View*`, `Change*` or `*`, compared case-insensitively. */
  readonly actions: readonly string[];
  /** NRN patterns or `*`; validation fills `["*"]` when omitted (S2: "If no specific resource is selected, all resources within the resource type are applied"). */
  readonly resourceNrns: readonly string[];
}

/** `{ "StringEquals": { "ncp:resourceTag/env": ["prod"] } }`: operator → key → values (normalized to strings). */
export type ConditionBlock = Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;

export interface PolicyPermission {
  readonly effect: Effect;
  readonly targets: readonly PolicyTarget[];
  readonly condition?: ConditionBlock;
}

export interface PolicyDocument {
  readonly permissions: readonly PolicyPermission[];
}

type Json = unknown;

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `a.b` for identifiers, `a["ncp:resourceTag/env"]` otherwise. */
export function fieldPath(base: string, key: string): string {
  if (IDENT.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

function unknownFields(obj: Record<string, Json>, allowed: readonly string[], base: string, errors: FieldError[]): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) errors.push({ field: fieldPath(base, k), message: `unknown field (allowed: ${allowed.join(', ')})` });
  }
}

function validateTarget(raw: Json, path: string, errors: FieldError[]): PolicyTarget | undefined {
  if (!isObject(raw)) {
    errors.push({ field: path, message: 'must be an object with product, actions and resourceNrns' });
    return undefined;
  }
  unknownFields(raw, ['product', 'actions', 'resourceNrns'], path, errors);
  const before = errors.length;
  let product: ProductCode | undefined;
  if (typeof raw.product !== 'string') {
    errors.push({ field: `${path}.product`, message: `is required: one of ${PRODUCTS.join(', ')}` });
  } else {
    product = parseProduct(raw.product);
    if (!product) errors.push({ field: `${path}.product`, message: `unknown product "${raw.product}" (one of ${PRODUCTS.join(', ')})` });
  }
  const actions: string[] = [];
  if (!Array.isArray(raw.actions) || raw.actions.length === 0) {
    errors.push({ field: `${path}.actions`, message: 'must be a non-empty array of action names, "View*", "Change*" or "*"' });
  } else {
    raw.actions.forEach((a: Json, i: number) => {
      const p = `${path}.actions[${i}]`;
      if (typeof a !== 'string') errors.push({ field: p, message: 'must be a string' });
      else if (product && !parseActionPattern(product, a)) {
        errors.push({
          field: p,
          message: `unknown action "${a}" for product ${product} (exact names from the catalog, "View*", "Change*" or "*")`,
        });
      } else actions.push(a);
    });
  }
  let resourceNrns: string[] = ['*'];
  if (raw.resourceNrns !== undefined) {
    if (!Array.isArray(raw.resourceNrns) || raw.resourceNrns.length === 0) {
      errors.push({
        field: `${path}.resourceNrns`,
        message: 'must be a non-empty array of NRN patterns or "*" (omit it for all resources)',
      });
    } else {
      resourceNrns = [];
      raw.resourceNrns.forEach((r: Json, i: number) => {
        const p = `${path}.resourceNrns[${i}]`;
        if (typeof r !== 'string') {
          errors.push({ field: p, message: 'must be a string' });
          return;
        }
        const problem = checkNrnPattern(r);
        if (problem) errors.push({ field: p, message: problem });
        else resourceNrns.push(r);
      });
    }
  }
  if (errors.length > before || !product) return undefined;
  return { product, actions, resourceNrns };
}

function conditionValues(raw: Json): string[] | undefined {
  const scalar = (v: Json): string | undefined =>
    typeof v === 'string' ? v : typeof v === 'boolean' ? String(v) : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined;
  if (Array.isArray(raw)) {
    if (raw.length === 0) return undefined;
    const out: string[] = [];
    for (const v of raw) {
      const s = scalar(v);
      if (s === undefined) return undefined;
      out.push(s);
    }
    return out;
  }
  const s = scalar(raw);
  return s === undefined ? undefined : [s];
}

function validateCondition(raw: Json, path: string, errors: FieldError[]): ConditionBlock | undefined {
  if (!isObject(raw)) {
    errors.push({ field: path, message: 'must be an object: { "<Operator>": { "<condition key>": ["value", ...] } }' });
    return undefined;
  }
  const before = errors.length;
  const out: Record<string, Record<string, readonly string[]>> = {};
  for (const [opName, block] of Object.entries(raw)) {
    const opPath = fieldPath(path, opName);
    const parsed = parseOperator(opName);
    if (!parsed.ok) {
      errors.push({ field: opPath, message: parsed.message });
      continue;
    }
    const op = parsed.op;
    if (!isObject(block) || Object.keys(block).length === 0) {
      errors.push({ field: opPath, message: 'must be a non-empty object: { "<condition key>": ["value", ...] }' });
      continue;
    }
    const keys: Record<string, readonly string[]> = {};
    for (const [keyName, rawValues] of Object.entries(block)) {
      const keyPath = fieldPath(opPath, keyName);
      const key = parseConditionKey(keyName);
      if (!key.ok) {
        errors.push({ field: keyPath, message: key.message });
        continue;
      }
      if (Object.hasOwn(keys, key.key.canonical)) {
        errors.push({ field: keyPath, message: `duplicate condition key: "${key.key.canonical}" appears twice under ${opName}` });
        continue;
      }
      const values = conditionValues(rawValues);
      if (!values) {
        errors.push({ field: keyPath, message: 'must be a value or a non-empty array of strings, numbers or booleans' });
        continue;
      }
      const mode = op.family.templateMode(op.base);
      values.forEach((v, i) => {
        const vPath = Array.isArray(rawValues) ? `${keyPath}[${i}]` : keyPath;
        if (mode === null) {
          if (v.includes('${'))
            errors.push({
              field: vPath,
              message: `policy variables are allowed only in String operators and resourceNrns, not in ${op.base}`,
            });
          else {
            const problem = op.family.checkValue(op.base, v);
            if (problem) errors.push({ field: vPath, message: problem });
          }
        } else {
          const t = parseTemplate(v, mode);
          if (!t.ok) errors.push({ field: vPath, message: t.message });
        }
      });
      keys[key.key.canonical] = values;
    }
    out[opName] = keys;
  }
  return errors.length > before ? undefined : out;
}

function validatePermission(raw: Json, path: string, errors: FieldError[]): PolicyPermission | undefined {
  if (!isObject(raw)) {
    errors.push({ field: path, message: 'must be an object with effect, targets and an optional condition' });
    return undefined;
  }
  unknownFields(raw, ['effect', 'targets', 'condition'], path, errors);
  const before = errors.length;
  if (raw.effect !== 'Allow' && raw.effect !== 'Deny') {
    errors.push({ field: `${path}.effect`, message: 'must be "Allow" or "Deny"' });
  }
  const targets: PolicyTarget[] = [];
  if (!Array.isArray(raw.targets) || raw.targets.length === 0) {
    errors.push({ field: `${path}.targets`, message: 'must be a non-empty array of targets' });
  } else {
    raw.targets.forEach((t: Json, i: number) => {
      const target = validateTarget(t, `${path}.targets[${i}]`, errors);
      if (target) targets.push(target);
    });
  }
  const condition = raw.condition === undefined ? undefined : validateCondition(raw.condition, `${path}.condition`, errors);
  if (errors.length > before) return undefined;
  const effect = raw.effect as Effect;
  return condition === undefined || Object.keys(condition).length === 0 ? { effect, targets } : { effect, targets, condition };
}

/**
 * Validates a policy document. On success the document comes back normalized: product codes in their canonical
 * spelling, `resourceNrns` defaulted to `["*"]`, condition keys in canonical spelling, condition values as arrays
 * of strings. Unknown products, actions, operators and condition keys are errors naming their path.
 */
export interface ValidateOptions {
  /**
   * Accept `permissions: []`. Authors must grant something, so the API and CLI leave this off; compile turns it on
   * because an empty document grants nothing and NCP_FINANCE_MANAGER is one (see catalog/managed.ts).
   */
  readonly allowEmpty?: boolean;
}

export function validatePolicyDocument(doc: unknown, options: ValidateOptions = {}): ValidationResult<PolicyDocument> {
  const errors: FieldError[] = [];
  if (!isObject(doc)) return { ok: false, fieldErrors: [{ field: 'document', message: 'must be a JSON object with "permissions"' }] };
  unknownFields(doc, ['permissions'], '', errors);
  const permissions: PolicyPermission[] = [];
  if (!Array.isArray(doc.permissions) || (doc.permissions.length === 0 && options.allowEmpty !== true)) {
    errors.push({ field: 'permissions', message: 'must be a non-empty array of permissions' });
  } else {
    doc.permissions.forEach((p: Json, i: number) => {
      const permission = validatePermission(p, `permissions[${i}]`, errors);
      if (permission) permissions.push(permission);
    });
  }
  return errors.length > 0 ? { ok: false, fieldErrors: errors } : { ok: true, document: { permissions } };
}

// Policy names (ncloud-model.md §3, R29 API rule): 3-30 characters of Korean/English/Japanese letters, digits and
// `. _ -`, starting with a letter. Japanese letters include kanji, hiragana, katakana and the prolonged-sound mark.
const LETTER = /\p{L}/u;
const CJK_LETTER = /[\p{Script_Extensions=Hangul}\p{Script_Extensions=Hiragana}\p{Script_Extensions=Katakana}\p{Script_Extensions=Han}]/u;

function isNameLetter(ch: string): boolean {
  return /^[A-Za-z]$/.test(ch) || (LETTER.test(ch) && CJK_LETTER.test(ch));
}

export const POLICY_NAME_MIN = 3;
export const POLICY_NAME_MAX = 30;
/** §3: "Description ≤300 bytes" (counted in UTF-8). */
export const POLICY_DESCRIPTION_MAX_BYTES = 300;

export type NameValidation =
  { readonly ok: true; readonly name: string } | { readonly ok: false; readonly fieldErrors: readonly FieldError[] };

export function validatePolicyName(name: unknown, field = 'policyName'): NameValidation {
  if (typeof name !== 'string') return { ok: false, fieldErrors: [{ field, message: 'is required and must be a string' }] };
  const chars = [...name];
  const errors: FieldError[] = [];
  if (chars.length < POLICY_NAME_MIN || chars.length > POLICY_NAME_MAX) {
    errors.push({ field, message: `must be ${POLICY_NAME_MIN}-${POLICY_NAME_MAX} characters (has ${chars.length})` });
  }
  const first = chars[0];
  if (first !== undefined && !isNameLetter(first)) errors.push({ field, message: 'must start with a letter (Latin, Korean or Japanese)' });
  const bad = chars.filter((c) => !isNameLetter(c) && !/^[0-9._-]$/.test(c));
  if (bad.length > 0) {
    errors.push({
      field,
      message: `may contain only letters (Latin, Korean, Japanese), digits, ".", "_" and "-" (found ${JSON.stringify([...new Set(bad)].join(''))})`,
    });
  }
  return errors.length > 0 ? { ok: false, fieldErrors: errors } : { ok: true, name };
}

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
  }
  return n;
}

export function validatePolicyDescription(description: unknown, field = 'description'): FieldError[] {
  if (description === undefined) return [];
  if (typeof description !== 'string') return [{ field, message: 'must be a string' }];
  const bytes = utf8Length(description);
  return bytes > POLICY_DESCRIPTION_MAX_BYTES
    ? [{ field, message: `must be at most ${POLICY_DESCRIPTION_MAX_BYTES} bytes in UTF-8 (has ${bytes})` }]
    : [];
}

/** Whether a (validated) document uses policy variables anywhere; such documents are bound per principal. */
export function documentHasVariables(doc: PolicyDocument): boolean {
  for (const p of doc.permissions) {
    for (const t of p.targets) for (const r of t.resourceNrns) if (r.includes('${')) return true;
    if (p.condition)
      for (const keys of Object.values(p.condition))
        for (const vs of Object.values(keys)) for (const v of vs) if (v.includes('${')) return true;
  }
  return false;
}
