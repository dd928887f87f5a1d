/** Numeric operators (ARCHITECTURE.md "Conditions": NumericEquals … NumericGreaterThanEquals). */
import type { ContextScalar } from '../types.js';
import type { FamilyModule, ScalarTest } from './types.js';

const NUMBER = /^-?\d+(\.\d+)?$/;

function toNumber(v: ContextScalar): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && NUMBER.test(v)) return Number(v);
  return Number.NaN;
}

function cmp(values: readonly number[], pred: (t: number, p: number) => boolean): ScalarTest {
  return (v) => {
    const t = toNumber(v);
    if (t !== t) return false;
    for (let i = 0; i < values.length; i++) if (pred(t, values[i] as number)) return true;
    return false;
  };
}

export const numericFamily: FamilyModule = {
  family: 'Numeric',
  operators: [
    'NumericEquals',
    'NumericNotEquals',
    'NumericLessThan',
    'NumericLessThanEquals',
    'NumericGreaterThan',
    'NumericGreaterThanEquals',
  ],
  negated: ['NumericNotEquals'],
  templateMode: () => null,
  checkValue: (_op, raw) => (NUMBER.test(raw) ? undefined : `"${raw}" is not a decimal number`),
  compile(op, values) {
    const n = values.map((v) => Number(typeof v === 'string' ? v : v.join('')));
    switch (op) {
      case 'NumericEquals':
      case 'NumericNotEquals':
        return cmp(n, (t, p) => t === p);
      case 'NumericLessThan':
        return cmp(n, (t, p) => t < p);
      case 'NumericLessThanEquals':
        return cmp(n, (t, p) => t <= p);
      case 'NumericGreaterThan':
        return cmp(n, (t, p) => t > p);
      default:
        return cmp(n, (t, p) => t >= p);
    }
  },
};
