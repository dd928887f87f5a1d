/**
 * `Null` tests presence (ARCHITECTURE.md "Conditions"): `["true"]` holds when the key is absent, `["false"]`
 * when it is present. The evaluation lives in ./index.ts because it looks at presence, not at a value.
 */
import type { FamilyModule } from './types.js';

export const nullFamily: FamilyModule = {
  family: 'Null',
  operators: ['Null'],
  negated: [],
  templateMode: () => null,
  checkValue: (_op, raw) =>
    raw.toLowerCase() === 'true' || raw.toLowerCase() === 'false' ? undefined : `"${raw}" must be "true" or "false"`,
  compile: () => () => false,
};

/** Which presence each value asks for. */
export function nullWants(values: readonly string[]): { readonly absent: boolean; readonly present: boolean } {
  return {
    absent: values.some((v) => v.toLowerCase() === 'true'),
    present: values.some((v) => v.toLowerCase() === 'false'),
  };
}
