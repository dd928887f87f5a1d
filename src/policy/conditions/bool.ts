/** `Bool` (ARCHITECTURE.md "Conditions"), e.g. `{ "Bool": { "ncp:MultiFactorAuthPresent": ["true"] } }`. */
import type { ContextScalar } from '../types.js';
import type { FamilyModule } from './types.js';

function toBool(v: ContextScalar): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const l = v.toLowerCase();
    return l === 'true' ? true : l === 'false' ? false : undefined;
  }
  return undefined;
}

export const boolFamily: FamilyModule = {
  family: 'Bool',
  operators: ['Bool'],
  negated: [],
  templateMode: () => null,
  checkValue: (_op, raw) =>
    raw.toLowerCase() === 'true' || raw.toLowerCase() === 'false' ? undefined : `"${raw}" must be "true" or "false"`,
  compile(_op, values) {
    const wantTrue = values.some((v) => typeof v === 'string' && v.toLowerCase() === 'true');
    const wantFalse = values.some((v) => typeof v === 'string' && v.toLowerCase() === 'false');
    return (v) => {
      const b = toBool(v);
      return b === true ? wantTrue : b === false ? wantFalse : false;
    };
  },
};
