/**
 * Explain mode (ARCHITECTURE.md "Explain"): the same decision as the fast path, with every decisive statement and,
 * for each other statement, why it did not apply: `action` (no target covers the action), `resource` (no pattern
 * matches the resource) or `condition` (which clause failed, with the request's value). Allocates freely: it serves
 * the policy simulator and logs, not the hot path.
 */
import { actionNumber, IDENTITIES, type CompiledPolicySet, type PermissionInfo } from './compile.js';
import { describeFailure, keyGetter } from './conditions/index.js';
import { parseConditionKey } from './conditions/keys.js';
import type { AuthorizationRequest, Decision, DecisiveStatement, NotAppliedStatement } from './types.js';

function notApplied(info: PermissionInfo, why: NotAppliedStatement['why'], detail: string): NotAppliedStatement {
  return { policyId: info.policyId, policyName: info.policyName, permissionIndex: info.permissionIndex, effect: info.effect, why, detail };
}

function plain(s: DecisiveStatement): DecisiveStatement {
  return { policyId: s.policyId, policyName: s.policyName, permissionIndex: s.permissionIndex, effect: s.effect };
}

export function explainDecision(set: CompiledPolicySet, req: AuthorizationRequest): Decision {
  if (req.principal.type === 'Root') {
    return {
      decision: 'Allow',
      reason: 'Allowed',
      decisive: [],
      notApplied: [],
      overridden: [],
      note: 'principal type Root: the main account is not subject to policies',
    };
  }
  const n = actionNumber(req.action);
  const id = IDENTITIES[n];
  if (n < 0 || id === undefined) {
    return {
      decision: 'Deny',
      reason: 'ImplicitDeny',
      decisive: [],
      notApplied: [],
      overridden: [],
      note: `unknown action "${req.action}": no statement can allow it`,
    };
  }
  const index = set.indexFor(req.principal);
  const failed: DecisiveStatement[] = [];
  const denies: DecisiveStatement[] = [];
  const allows: DecisiveStatement[] = [];
  const skipped: NotAppliedStatement[] = [];
  for (const info of index.infos) {
    const plan = info.plans.get(n);
    if (!plan) {
      const products = [...new Set(info.targets.map((t) => t.product))];
      skipped.push(
        notApplied(
          info,
          'action',
          products.includes(id.product)
            ? `no target of product ${id.product} covers ${id.qualifiedName}`
            : `targets cover ${products.join(', ')} only, not ${id.product}`,
        ),
      );
      continue;
    }
    if (plan.unsupported.length > 0) {
      failed.push({ ...plain(info.statement), detail: `${plan.unsupported.join(', ')} not supported by ${id.qualifiedName}` });
      continue;
    }
    if (plan.resource === 'excluded') {
      skipped.push(
        notApplied(
          info,
          'resource',
          id.resourceless
            ? `${id.qualifiedName} has no resource type and is authorized against "*"; resourceNrns ${JSON.stringify(plan.patterns)} do not include "*"`
            : `resourceNrns ${JSON.stringify(plan.patterns)} resolve to no pattern for this principal`,
        ),
      );
      continue;
    }
    if (plan.resource !== null && !plan.resource(req.resource)) {
      skipped.push(
        notApplied(info, 'resource', `resource ${JSON.stringify(req.resource)} matches none of ${JSON.stringify(plan.patterns)}`),
      );
      continue;
    }
    const failing = info.clauses.filter((c) => !c.test(req));
    if (failing.length > 0) {
      const details = failing.map((c) => {
        const key = parseConditionKey(c.key);
        const value = key.ok ? keyGetter(key.key)(req) : undefined;
        return describeFailure(c, value);
      });
      skipped.push(notApplied(info, 'condition', details.join('; ')));
      continue;
    }
    (info.effect === 'Deny' ? denies : allows).push(plain(info.statement));
  }
  if (failed.length > 0)
    return {
      decision: 'Deny',
      reason: 'UnsupportedConditionKey',
      decisive: failed,
      notApplied: skipped,
      overridden: [...denies, ...allows],
    };
  if (denies.length > 0) return { decision: 'Deny', reason: 'ExplicitDeny', decisive: denies, notApplied: skipped, overridden: allows };
  if (allows.length > 0) return { decision: 'Allow', reason: 'Allowed', decisive: allows, notApplied: skipped, overridden: [] };
  return { decision: 'Deny', reason: 'ImplicitDeny', decisive: [], notApplied: skipped, overridden: [] };
}
