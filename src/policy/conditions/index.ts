/**
 * Condition operators and clause compilation (ARCHITECTURE.md "Conditions"):
 * AND across operators and keys, OR across a key's values; negated operators hold when no value matches and
 * when the key is absent; other operators fail when the key is absent; `…IfExists` holds when the key is absent;
 * `Null` tests presence; `ForAnyValue:` / `ForAllValues:` say how a multi-valued key's values combine.
 */
import type { GlobPart } from '../glob.js';
import type { AuthorizationRequest, ContextScalar, ContextValue, Effect, Principal } from '../types.js';
import { bindLiteral, bindTemplate, parseTemplate } from '../variables.js';
import { boolFamily } from './bool.js';
import { dateFamily } from './date.js';
import { ipFamily } from './ip.js';
import { keyGetter, type ConditionKey } from './keys.js';
import { nullFamily, nullWants } from './null.js';
import { numericFamily } from './numeric.js';
import { stringFamily } from './string.js';
import type { BoundValue, FamilyModule, ScalarTest } from './types.js';

export const FAMILIES: readonly FamilyModule[] = [stringFamily, dateFamily, numericFamily, boolFamily, ipFamily, nullFamily];

const BY_BASE = new Map<string, FamilyModule>();
for (const f of FAMILIES) for (const op of f.operators) BY_BASE.set(op, f);

/** Every base operator name, for documentation and tests. */
export const BASE_OPERATORS: readonly string[] = [...BY_BASE.keys()];

export type Qualifier = 'ForAnyValue' | 'ForAllValues';

export interface ParsedOperator {
  readonly raw: string;
  readonly qualifier: Qualifier | null;
  readonly base: string;
  readonly ifExists: boolean;
  readonly negated: boolean;
  readonly family: FamilyModule;
}

export type OperatorParse = { readonly ok: true; readonly op: ParsedOperator } | { readonly ok: false; readonly message: string };

export function parseOperator(raw: string): OperatorParse {
  let rest = raw;
  let qualifier: Qualifier | null = null;
  if (rest.startsWith('ForAnyValue:')) {
    qualifier = 'ForAnyValue';
    rest = rest.slice('ForAnyValue:'.length);
  } else if (rest.startsWith('ForAllValues:')) {
    qualifier = 'ForAllValues';
    rest = rest.slice('ForAllValues:'.length);
  }
  let ifExists = false;
  if (rest.endsWith('IfExists')) {
    ifExists = true;
    rest = rest.slice(0, -'IfExists'.length);
  }
  const family = BY_BASE.get(rest);
  if (!family) {
    const hint = [...BY_BASE.keys()].find((k) => k.toLowerCase() === rest.toLowerCase());
    return {
      ok: false,
      message: hint ? `unknown operator "${raw}" (operator names are case-sensitive: ${hint})` : `unknown operator "${raw}"`,
    };
  }
  if (family.family === 'Null' && qualifier !== null) {
    return { ok: false, message: `"${raw}": Null tests whether a key is present and takes no ForAnyValue/ForAllValues qualifier` };
  }
  return { ok: true, op: { raw, qualifier, base: rest, ifExists, negated: family.negated.includes(rest), family } };
}

export type ClauseTest = (req: AuthorizationRequest) => boolean;

export interface CompiledClause {
  readonly operator: string;
  readonly key: string;
  readonly values: readonly string[];
  readonly test: ClauseTest;
}

function isAbsent(v: ContextValue | null | undefined): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0);
}

/**
 * Compiles one `Operator: { key: values }` entry. Variables in values are resolved for `principal` here; when a
 * value names a property the principal lacks, the clause fails closed: it never holds in an Allow statement and
 * always holds in a Deny statement.
 */
export function compileClause(
  op: ParsedOperator,
  key: ConditionKey,
  rawValues: readonly string[],
  principal: Principal | undefined,
  effect: Effect,
): CompiledClause {
  const base = { operator: op.raw, key: key.canonical, values: rawValues };
  const get = keyGetter(key);

  if (op.family.family === 'Null') {
    const wants = nullWants(rawValues);
    const ifExists = op.ifExists;
    return {
      ...base,
      test: (req) => {
        const absent = isAbsent(get(req));
        if (absent && ifExists) return true;
        return absent ? wants.absent : wants.present;
      },
    };
  }

  const mode = op.family.templateMode(op.base);
  const bound: BoundValue[] = [];
  for (const raw of rawValues) {
    if (mode === null) {
      bound.push(raw);
      continue;
    }
    const t = parseTemplate(raw, mode);
    if (!t.ok) throw new TypeError(`compile: ${t.message}`); // validated documents never get here
    const v: BoundValue | undefined =
      mode === 'like' ? (bindTemplate(t.template, principal) as readonly GlobPart[] | undefined) : bindLiteral(t.template, principal);
    if (v === undefined) {
      const constant = effect === 'Deny';
      return { ...base, test: () => constant };
    }
    bound.push(v);
  }

  const m: ScalarTest = op.family.compile(op.base, bound);
  const negated = op.negated;
  const onAbsent = op.ifExists || negated;

  switch (op.qualifier) {
    case 'ForAllValues':
      return {
        ...base,
        test: (req) => {
          const v = get(req);
          if (isAbsent(v)) return onAbsent;
          if (!Array.isArray(v)) return m(v as string) !== negated;
          for (let i = 0; i < v.length; i++) if (m(v[i]) === negated) return false;
          return true;
        },
      };
    case 'ForAnyValue':
      return {
        ...base,
        test: (req) => {
          const v = get(req);
          if (isAbsent(v)) return onAbsent;
          if (!Array.isArray(v)) return m(v as string) !== negated;
          for (let i = 0; i < v.length; i++) if (m(v[i]) !== negated) return true;
          return false;
        },
      };
    default:
      // Unqualified: a multi-valued key matches when any of its values does; a negated operator holds when
      // none does (ARCHITECTURE.md: "negated operators hold when no value matches").
      if (!key.fromPrincipal) {
        // The hot case (tag, IP, time and MFA keys): read the context in the same closure, one call per clause.
        const name = key.canonical;
        const single =
          op.family.family === 'String' && (op.base === 'StringEquals' || op.base === 'StringNotEquals') && bound.length === 1
            ? bound[0]
            : undefined;
        if (typeof single === 'string') {
          return {
            ...base,
            test: (req) => {
              const c = req.context;
              const v = c === undefined ? undefined : c[name];
              if (v === undefined || v === null) return onAbsent;
              if (typeof v === 'string') return (v === single) !== negated;
              return unqualified(m, v, negated, onAbsent);
            },
          };
        }
        return {
          ...base,
          test: (req) => {
            const c = req.context;
            const v = c === undefined ? undefined : c[name];
            if (v === undefined || v === null) return onAbsent;
            return unqualified(m, v, negated, onAbsent);
          },
        };
      }
      return {
        ...base,
        test: (req) => {
          const v = get(req);
          if (v === undefined || v === null) return onAbsent;
          if (!Array.isArray(v)) return m(v as string) !== negated;
          if (v.length === 0) return onAbsent;
          for (let i = 0; i < v.length; i++) if (m(v[i])) return !negated;
          return negated;
        },
      };
  }
}

function unqualified(m: ScalarTest, v: ContextValue, negated: boolean, onAbsent: boolean): boolean {
  if (!Array.isArray(v)) return m(v as ContextScalar) !== negated;
  if (v.length === 0) return onAbsent;
  for (let i = 0; i < v.length; i++) if (m(v[i] as ContextScalar)) return !negated;
  return negated;
}

/** AND of clauses, as one closure. */
export function allOf(clauses: readonly CompiledClause[]): ClauseTest | null {
  if (clauses.length === 0) return null;
  const tests = clauses.map((c) => c.test);
  const [a, b] = tests;
  if (tests.length === 1) return a as ClauseTest;
  if (tests.length === 2) {
    const x = a as ClauseTest;
    const y = b as ClauseTest;
    return (r) => x(r) && y(r);
  }
  return (r) => {
    for (let i = 0; i < tests.length; i++) if (!(tests[i] as ClauseTest)(r)) return false;
    return true;
  };
}

/** A readable account of why a clause failed, for explain output. */
export function describeFailure(c: CompiledClause, keyValue: ContextValue | null | undefined): string {
  const want = JSON.stringify(c.values);
  if (isAbsent(keyValue)) return `${c.operator} ${c.key}: the key is absent (policy values ${want})`;
  return `${c.operator} ${c.key}: request value ${JSON.stringify(keyValue)} does not satisfy ${want}`;
}

export { keyGetter };
