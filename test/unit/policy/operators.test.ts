/**
 * Operator and qualifier case files (cases/operators.json, cases/qualifiers.json). Each group is evaluated as the
 * condition of an Allow statement (allowed iff it holds) and of a Deny statement beside an allow-all statement
 * (denied iff it holds); every group is repeated as its …IfExists variant (same for present keys, holds when absent).
 */
import { expect } from 'chai';
import { BASE_OPERATORS, compile, evaluate, type ContextValue, type PolicyInput } from '../../../src/policy/index.js';
import { readCases } from './helpers.js';

type CaseRow = [string, ContextValue | null, boolean];
interface Group {
  readonly operator: string;
  readonly key: string;
  readonly values: readonly (string | number | boolean)[];
  readonly cases: readonly CaseRow[];
}
interface OperatorFile {
  readonly description: string;
  readonly action?: string;
  readonly groups: readonly Group[];
}

const principal = { type: 'SubAccount', id: 'alice' } as const;
const RESOURCE = 'nrn:PUB:SSO::1000001:User/u-1';

function sets(
  action: string,
  operator: string,
  key: string,
  values: Group['values'],
): { allow: ReturnType<typeof compile>; deny: ReturnType<typeof compile> } {
  const [product, name] = action.split(/:(.*)/s) as [string, string];
  const condition = { [operator]: { [key]: values } };
  const target = { product, actions: [name], resourceNrns: ['*'] };
  const allow: PolicyInput = {
    id: 'cond',
    name: 'cond',
    kind: 'user',
    document: { permissions: [{ effect: 'Allow', targets: [target], condition }] },
  };
  const deny: PolicyInput = {
    id: 'deny',
    name: 'deny',
    kind: 'user',
    document: {
      permissions: [
        { effect: 'Allow', targets: [target] },
        { effect: 'Deny', targets: [target], condition },
      ],
    },
  };
  return { allow: compile([allow], { principal }), deny: compile([deny], { principal }) };
}

function isAbsent(v: ContextValue | null): boolean {
  return v === null || (Array.isArray(v) && v.length === 0);
}

function runFile(file: string): Set<string> {
  const data = readCases<OperatorFile>(file);
  const seen = new Set<string>();
  describe(`policy operators: ${file}`, () => {
    for (const g of data.groups) {
      const action = data.action ?? 'SSO:change/updateUser';
      for (const variant of ['', 'IfExists']) {
        const operator = g.operator + variant;
        seen.add(operator);
        describe(`${operator} ${g.key} ${JSON.stringify(g.values)}`, () => {
          const { allow, deny } = sets(action, operator, g.key, g.values);
          for (const [label, value, holdsBase] of g.cases) {
            const holds = variant === 'IfExists' && isAbsent(value) ? true : holdsBase;
            it(`${label}: ${holds ? 'holds' : 'does not hold'}`, () => {
              const context = value === null ? {} : { [g.key]: value };
              const req = { principal, action, resource: RESOURCE, context };
              expect(evaluate(allow, req).decision, 'as an Allow condition').to.equal(holds ? 'Allow' : 'Deny');
              expect(evaluate(allow, req, { explain: true }).decision, 'explained').to.equal(holds ? 'Allow' : 'Deny');
              const d = evaluate(deny, req);
              expect(d.decision, 'as a Deny condition').to.equal(holds ? 'Deny' : 'Allow');
              expect(d.reason).to.equal(holds ? 'ExplicitDeny' : 'Allowed');
            });
          }
        });
      }
    }
  });
  return seen;
}

const covered = new Set([...runFile('operators.json'), ...runFile('qualifiers.json')]);

describe('policy operators: coverage of the case files', () => {
  it('cover every base operator and its IfExists variant', () => {
    for (const op of BASE_OPERATORS) {
      expect(covered, op).to.include(op);
      expect(covered, `${op}IfExists`).to.include(`${op}IfExists`);
    }
  });
  it('cover both qualifiers with positive and negated operators', () => {
    const q = [...covered].filter((o) => o.includes(':'));
    for (const prefix of ['ForAnyValue:', 'ForAllValues:']) {
      expect(q.some((o) => o.startsWith(prefix) && !o.includes('Not'))).to.equal(true);
      expect(q.some((o) => o.startsWith(prefix) && o.includes('Not'))).to.equal(true);
    }
  });
});
