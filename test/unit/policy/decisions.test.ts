/**
 * Scenario case files (cases/*.json): wildcards, deny-over-allow, managed policies, variables, unsupported keys,
 * condition logic and principal properties. Every case runs through the fast path and through explain mode, which
 * must agree; expected decisive / notApplied / overridden statements are checked against explain mode.
 */
import { expect } from 'chai';
import { compile, evaluate, type AuthorizationRequest, type Decision, type Principal } from '../../../src/policy/index.js';
import { readCases, toInput, type PolicyEntry } from './helpers.js';

type Ref = [string, number];
interface Case {
  readonly name: string;
  readonly request: {
    readonly principal?: Principal;
    readonly action: string;
    readonly resource: string;
    readonly context?: AuthorizationRequest['context'];
  };
  readonly expect: {
    readonly decision: 'Allow' | 'Deny';
    readonly reason: Decision['reason'];
    readonly decisive?: readonly Ref[];
    readonly notApplied?: readonly [string, number, string][];
    readonly overridden?: readonly Ref[];
  };
}
interface CaseSet {
  readonly name: string;
  readonly policies: readonly PolicyEntry[];
  readonly cases: readonly Case[];
}
interface CaseFile {
  readonly description: string;
  readonly principal: Principal;
  readonly policies?: readonly PolicyEntry[];
  readonly cases?: readonly Case[];
  readonly sets?: readonly CaseSet[];
}

const FILES = ['wildcards.json', 'deny.json', 'managed.json', 'variables.json', 'unsupported-keys.json', 'logic.json', 'principal.json'];

const refs = (list: readonly { policyId: string; permissionIndex: number }[]): string[] =>
  list.map((d) => `${d.policyId}#${d.permissionIndex}`).sort();

for (const file of FILES) {
  const data = readCases<CaseFile>(file);
  const sets: readonly CaseSet[] = data.sets ?? [{ name: '', policies: data.policies ?? [], cases: data.cases ?? [] }];
  describe(`policy cases: ${file}`, () => {
    for (const set of sets) {
      describe(set.name || data.description.slice(0, 60), () => {
        const compiled = compile(set.policies.map(toInput), { principal: data.principal });
        for (const c of set.cases) {
          it(c.name, () => {
            const req: AuthorizationRequest = { ...c.request, principal: c.request.principal ?? data.principal };
            const fast = evaluate(compiled, req);
            const explained = evaluate(compiled, req, { explain: true });
            expect({ decision: fast.decision, reason: fast.reason }, 'fast path').to.deep.equal({
              decision: c.expect.decision,
              reason: c.expect.reason,
            });
            expect({ decision: explained.decision, reason: explained.reason }, 'explain mode').to.deep.equal({
              decision: c.expect.decision,
              reason: c.expect.reason,
            });
            // The fast path names the first decisive statement it met (all of them for a fail-closed key); explain names all.
            const all = refs(explained.decisive);
            for (const r of refs(fast.decisive)) expect(all).to.include(r);
            // Only statements decide, except for the main account, which no statement governs.
            if (fast.reason === 'ImplicitDeny' || req.principal.type === 'Root') expect(fast.decisive).to.have.length(0);
            else expect(fast.decisive.length).to.be.greaterThan(0);
            if (c.expect.decisive) expect(all).to.deep.equal(c.expect.decisive.map(([p, i]) => `${p}#${i}`).sort());
            for (const [p, i, why] of c.expect.notApplied ?? []) {
              expect(
                explained.notApplied?.map((n) => `${n.policyId}#${n.permissionIndex}:${n.why}`),
                'notApplied',
              ).to.include(`${p}#${i}:${why}`);
            }
            for (const [p, i] of c.expect.overridden ?? []) expect(refs(explained.overridden ?? []), 'overridden').to.include(`${p}#${i}`);
            // Explain accounts for every statement exactly once.
            if (req.principal.type !== 'Root' && explained.note === undefined) {
              const accounted = explained.decisive.length + (explained.notApplied?.length ?? 0) + (explained.overridden?.length ?? 0);
              expect(accounted).to.equal(compiled.statementCount);
            }
          });
        }
      });
    }
  });
}
