/**
 * Evaluation (ARCHITECTURE.md "Decision"): the main account is always allowed; otherwise a statement that
 * applies with effect Deny wins, else one that applies with effect Allow allows, else the request is implicitly
 * denied. A statement that covers the action but uses a condition key the action does not support makes the
 * request fail closed (S2: "If you set the condition keys that cannot be specified to condition, the action is not
 * to be performed"). The fast path returns decision objects built at compile time: it allocates nothing.
 */
import { actionNumber, type CompiledPolicySet, type CompiledStatement } from './compile.js';
import { explainDecision } from './explain.js';
import type { AuthorizationRequest, Decision, EvaluateOptions } from './types.js';

export const ROOT_ALLOW: Decision = Object.freeze({ decision: 'Allow', reason: 'Allowed', decisive: Object.freeze([]) });
export const IMPLICIT_DENY: Decision = Object.freeze({ decision: 'Deny', reason: 'ImplicitDeny', decisive: Object.freeze([]) });

export function evaluate(set: CompiledPolicySet, req: AuthorizationRequest, options?: EvaluateOptions): Decision {
  if (options !== undefined && options.explain === true) return explainDecision(set, req);
  if (req.principal.type === 'Root') return ROOT_ALLOW;
  const n = actionNumber(req.action);
  if (n < 0) return IMPLICIT_DENY;
  const index = set.usesVariables ? set.indexFor(req.principal) : set.index;
  const slot = index.slots[n];
  if (slot === undefined) return IMPLICIT_DENY;
  if (slot.failClosed !== null) return slot.failClosed;
  const resource = req.resource;
  const denies = slot.denies;
  for (let i = 0; i < denies.length; i++) {
    const s = denies[i] as CompiledStatement;
    if ((s.condition === null || s.condition(req)) && (s.resource === null || s.resource(resource))) return s.hit;
  }
  const allows = slot.allows;
  for (let i = 0; i < allows.length; i++) {
    const s = allows[i] as CompiledStatement;
    if ((s.condition === null || s.condition(req)) && (s.resource === null || s.resource(resource))) return s.hit;
  }
  return IMPLICIT_DENY;
}
