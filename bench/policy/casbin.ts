/**
 * The workload for casbin 5: one policy row per (statement, NRN pattern), its actions as one anchored alternation,
 * matched with regexMatch for the actions, the NRN glob and the tag conditions, and the deny-override effect
 * `some(where (p.eft == allow)) && !some(where (p.eft == deny))`. An absent tag is requested as "" so that a
 * StringEquals row fails on it and an unconditioned row (`.*`) holds, as in Gatehouse.
 */
import { newEnforcer, newModelFromString, type Enforcer } from 'casbin';
import { expandActions, type Workload } from './workload.js';

const MODEL = `
[request_definition]
r = sub, act, obj, env, prot

[policy_definition]
p = sub, act, obj, env, prot, eft

[policy_effect]
e = some(where (p.eft == allow)) && !some(where (p.eft == deny))

[matchers]
m = r.sub == p.sub && regexMatch(r.act, p.act) && regexMatch(r.obj, p.obj) && regexMatch(r.env, p.env) && regexMatch(r.prot, p.prot)
`;

function globToRegex(glob: string): string {
  return `^${glob
    .split('*')
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*')}$`;
}

export async function casbinEngine(w: Workload): Promise<{ evaluate: (i: number) => boolean; rows: number }> {
  const enforcer: Enforcer = await newEnforcer(newModelFromString(MODEL));
  const rows: string[][] = [];
  for (const stmts of w.policies) {
    for (const s of stmts) {
      const env = s.env ? `^(${s.env.join('|')})$` : '^.*$';
      const prot = s.protectedOnly ? '^true$' : '^.*$';
      const acts = `^(${expandActions(w, s.actions)
        .map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('|')})$`;
      for (const r of s.resources)
        rows.push(['alice', acts, r === '*' ? '^.*$' : globToRegex(r), env, prot, s.effect === 'Allow' ? 'allow' : 'deny']);
    }
  }
  await enforcer.addPolicies(rows);
  const args = w.requests.map((r) => ['alice', r.action, r.resource, r.env ?? '', r.protectedTag ?? ''] as const);
  return {
    rows: rows.length,
    evaluate(i) {
      const a = args[i] as readonly [string, string, string, string, string];
      return enforcer.enforceSync(a[0], a[1], a[2], a[3], a[4]);
    },
  };
}
