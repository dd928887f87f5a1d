/**
 * The workload for @cedar-policy/cedar-wasm 4.13, preparsed and stateful (`preparsePolicySet` once,
 * `statefulIsAuthorized` per request), evaluated in this thread.
 * Mapping: action constraint = the statement's actions (View* expanded); NRN patterns = `context.nrn like "…"`
 * (Cedar's `*` is the same "any run of characters"); the tag conditions = `context.tags has k && context.tags.k == v`.
 * Resourceless actions are requested with nrn "*", which no NRN pattern matches, as in Gatehouse.
 */
import { preparsePolicySet, statefulIsAuthorized, type StatefulAuthorizationCall } from '@cedar-policy/cedar-wasm/nodejs';
import { expandActions, type AbstractStatement, type Workload } from './workload.js';

const SET_ID = 'gatehouse-bench';

function policyText(w: Workload, s: AbstractStatement, id: string): string {
  const actions = expandActions(w, s.actions)
    .map((a) => `Action::${JSON.stringify(a)}`)
    .join(', ');
  const conds: string[] = [];
  if (!s.resources.includes('*')) conds.push(`(${s.resources.map((r) => `context.nrn like ${JSON.stringify(r)}`).join(' || ')})`);
  if (s.env) conds.push(`(context.tags has env && (${s.env.map((e) => `context.tags.env == ${JSON.stringify(e)}`).join(' || ')}))`);
  if (s.protectedOnly) conds.push('(context.tags has protected && context.tags.protected == "true")');
  const when = conds.length > 0 ? ` when { ${conds.join(' && ')} }` : '';
  return `@id(${JSON.stringify(id)})\n${s.effect === 'Allow' ? 'permit' : 'forbid'} (principal, action in [${actions}], resource)${when};`;
}

export function cedarEngine(w: Workload): { evaluate: (i: number) => boolean; policyText: string } {
  const text = w.policies.flatMap((stmts, p) => stmts.map((s, i) => policyText(w, s, `p${p}-s${i}`))).join('\n');
  const parsed = preparsePolicySet(SET_ID, { staticPolicies: text });
  if (parsed.type !== 'success') throw new Error(`cedar: ${JSON.stringify(parsed.errors)}`);
  // Requests are converted before timing, as for every engine.
  const calls: StatefulAuthorizationCall[] = w.requests.map((r) => {
    const tags: Record<string, string> = {};
    if (r.env !== undefined) tags.env = r.env;
    if (r.protectedTag !== undefined) tags.protected = r.protectedTag;
    return {
      principal: { type: 'User', id: 'alice' },
      action: { type: 'Action', id: r.action },
      resource: { type: 'Resource', id: r.resource },
      context: { nrn: r.resource, tags },
      preparsedPolicySetId: SET_ID,
      entities: [],
    };
  });
  return {
    policyText: text,
    evaluate(i) {
      const answer = statefulIsAuthorized(calls[i] as StatefulAuthorizationCall);
      if (answer.type !== 'success') throw new Error(`cedar: ${JSON.stringify(answer.errors)}`);
      if (answer.response.diagnostics.errors.length > 0) throw new Error(`cedar: ${JSON.stringify(answer.response.diagnostics.errors)}`);
      return answer.response.decision === 'allow';
    },
  };
}
