/**
 * Date operators (gov v2 API: "date-time comparison"; exact names [NF], AWS names used, ncloud-model.md §3).
 * Policy values are ISO-8601 dates (`2026-01-31`, UTC midnight) or date-times with a zone (`…T09:00:00Z`,
 * `…+09:00`): a date-time without a zone would depend on the server's time zone, so it is rejected.
 * Context values are ISO-8601 strings or epoch milliseconds.
 */
import type { ContextScalar } from '../types.js';
import type { FamilyModule, ScalarTest } from './types.js';

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

export function parseDate(raw: string): number {
  return ISO.test(raw) ? Date.parse(raw) : Number.NaN;
}

function toMs(v: ContextScalar): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Date.parse(v);
  return Number.NaN;
}

function cmp(values: readonly number[], pred: (t: number, p: number) => boolean): ScalarTest {
  return (v) => {
    const t = toMs(v);
    if (t !== t) return false; // NaN: an unreadable time matches nothing
    for (let i = 0; i < values.length; i++) if (pred(t, values[i] as number)) return true;
    return false;
  };
}

export const dateFamily: FamilyModule = {
  family: 'Date',
  operators: ['DateEquals', 'DateNotEquals', 'DateLessThan', 'DateLessThanEquals', 'DateGreaterThan', 'DateGreaterThanEquals'],
  negated: ['DateNotEquals'],
  templateMode: () => null,
  checkValue: (_op, raw) =>
    Number.isNaN(parseDate(raw))
      ? `"${raw}" is not an ISO-8601 date (2026-01-31) or date-time with a zone (2026-01-31T09:00:00Z)`
      : undefined,
  compile(op, values) {
    const ms = values.map((v) => parseDate(typeof v === 'string' ? v : v.join('')));
    switch (op) {
      case 'DateEquals':
      case 'DateNotEquals':
        return cmp(ms, (t, p) => t === p);
      case 'DateLessThan':
        return cmp(ms, (t, p) => t < p);
      case 'DateLessThanEquals':
        return cmp(ms, (t, p) => t <= p);
      case 'DateGreaterThan':
        return cmp(ms, (t, p) => t > p);
      default:
        return cmp(ms, (t, p) => t >= p);
    }
  },
};
