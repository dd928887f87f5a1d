/**
 * String operators (ARCHITECTURE.md "Conditions"; documented names StringEquals, StringNotEquals, StringLike,
 * StringNotLike in R27; IgnoreCase forms as in AWS). `StringLike`: `*` any run, `?` one character.
 */
import { compileAnyGlob, type GlobPart } from '../glob.js';
import type { ContextScalar } from '../types.js';
import type { BoundValue, FamilyModule, ScalarTest } from './types.js';

/** Numbers and booleans in the context compare by their JSON spelling. */
function asString(v: ContextScalar): string {
  return typeof v === 'string' ? v : typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
}

/** Case-insensitive equality against an already lower-cased value, without allocating for ASCII input. */
function equalsFolded(s: string, lower: string): boolean {
  if (s.length !== lower.length) return s.toLowerCase() === lower; // lengths can differ only outside ASCII
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c > 127) return s.toLowerCase() === lower;
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

function literals(values: readonly BoundValue[]): string[] {
  return values.map((v) => (typeof v === 'string' ? v : v.join('')));
}

function equalsTest(values: readonly string[]): ScalarTest {
  if (values.length === 1) {
    const a = values[0] as string;
    return (v) => (typeof v === 'string' ? v === a : asString(v) === a);
  }
  const set = new Set(values);
  return (v) => set.has(typeof v === 'string' ? v : asString(v));
}

function ignoreCaseTest(values: readonly string[]): ScalarTest {
  const lower = values.map((v) => v.toLowerCase());
  return (v) => {
    const s = typeof v === 'string' ? v : asString(v);
    for (let i = 0; i < lower.length; i++) if (equalsFolded(s, lower[i] as string)) return true;
    return false;
  };
}

function likeTest(values: readonly BoundValue[]): ScalarTest {
  const test = compileAnyGlob(values.map((v): readonly GlobPart[] => (typeof v === 'string' ? [v] : v)));
  return (v) => test(typeof v === 'string' ? v : asString(v));
}

export const stringFamily: FamilyModule = {
  family: 'String',
  operators: ['StringEquals', 'StringNotEquals', 'StringEqualsIgnoreCase', 'StringNotEqualsIgnoreCase', 'StringLike', 'StringNotLike'],
  negated: ['StringNotEquals', 'StringNotEqualsIgnoreCase', 'StringNotLike'],
  templateMode: (op) => (op === 'StringLike' || op === 'StringNotLike' ? 'like' : 'none'),
  checkValue: () => undefined,
  compile(op, values) {
    switch (op) {
      case 'StringEquals':
      case 'StringNotEquals':
        return equalsTest(literals(values));
      case 'StringEqualsIgnoreCase':
      case 'StringNotEqualsIgnoreCase':
        return ignoreCaseTest(literals(values));
      default:
        return likeTest(values);
    }
  },
};
