/**
 * Compilation (ARCHITECTURE.md "Speed"; issue 4 "Compilation"): policies become an index by action, where every
 * catalog action holds the statements that cover it (wildcard statements merged in here, once), each with a
 * precompiled NRN matcher and condition closure, and a prebuilt decision object. Policy variables are resolved per
 * principal at this point. A decision then does no parsing and allocates nothing.
 */
import {
  actionIdentities,
  parseActionPattern,
  patternCovers,
  supportsKey,
  type ActionIdentity,
  type ActionPattern,
} from './catalog/index.js';
import { allOf, compileClause, parseOperator, type ClauseTest, type CompiledClause } from './conditions/index.js';
import { parseConditionKey, type ConditionKey } from './conditions/keys.js';
import { documentHasVariables, validatePolicyDocument, type PolicyDocument } from './document.js';
import { fingerprintPolicies, samePrincipal } from './fingerprint.js';
import { compileAnyGlob, type GlobPart, type StringTest } from './glob.js';
import type { Decision, DecisiveStatement, Effect, FieldError, Principal, ProductCode } from './types.js';
import { bindTemplate, parseTemplate } from './variables.js';

export interface PolicyInput {
  readonly id: string;
  readonly name: string;
  readonly kind: 'managed' | 'user';
  /** A policy document; compile validates it again (a stored document may predate a catalog change). */
  readonly document: PolicyDocument | unknown;
}

export interface CompileOptions {
  /** The principal the set is for: policy variables are resolved for it at compile time. */
  readonly principal?: Principal;
}

/** Thrown by compile for a document that does not validate: documents are validated before they are stored. */
export class PolicyCompileError extends Error {
  constructor(
    readonly policyId: string,
    readonly fieldErrors: readonly FieldError[],
  ) {
    super(`policy ${policyId} is not a valid policy document: ${fieldErrors.map((e) => `${e.field}: ${e.message}`).join('; ')}`);
    this.name = 'PolicyCompileError';
  }
}

interface CompiledTarget {
  readonly product: ProductCode;
  readonly patterns: readonly ActionPattern[];
  readonly resourceNrns: readonly string[];
}

/** What one permission means for one action. */
export interface ActionPlan {
  /** Resource patterns of the targets that cover the action. */
  readonly patterns: readonly string[];
  /** Condition keys the action does not support: the request fails closed (S2). */
  readonly unsupported: readonly string[];
  /** `null` = any resource; `excluded` = can never apply (resourceless action without `*`, or nothing resolvable). */
  readonly resource: StringTest | null | 'excluded';
}

/** One permission ("statement") of one policy, compiled. */
export interface PermissionInfo {
  readonly policyId: string;
  readonly policyName: string;
  readonly permissionIndex: number;
  readonly effect: Effect;
  readonly targets: readonly CompiledTarget[];
  readonly keys: readonly ConditionKey[];
  readonly clauses: readonly CompiledClause[];
  readonly condition: ClauseTest | null;
  readonly statement: DecisiveStatement;
  /** The decision this statement makes on its own (Allowed or ExplicitDeny), built once. */
  readonly hit: Decision;
  /** Plans by action identity number, for the actions the permission covers. */
  readonly plans: Map<number, ActionPlan>;
}

export interface CompiledStatement {
  readonly resource: StringTest | null;
  readonly condition: ClauseTest | null;
  readonly hit: Decision;
}

export interface ActionSlot {
  readonly failClosed: Decision | null;
  readonly denies: readonly CompiledStatement[];
  readonly allows: readonly CompiledStatement[];
}

export interface PolicyIndex {
  readonly infos: readonly PermissionInfo[];
  /** By action identity number; undefined when no statement covers the action. */
  readonly slots: readonly (ActionSlot | undefined)[];
}

/** Every evaluable action, numbered; requests are resolved to these numbers through one Map lookup. */
export const IDENTITIES: readonly ActionIdentity[] = actionIdentities();
const ACTION_NUMBER = new Map<string, number>();
/**
 * Returns the internalized copy of a string (property keys are internalized), so that Map lookups with the
 * string literals routes declare compare by pointer instead of by content.
 */
function internalized(s: string): string {
  return Object.keys({ [s]: 0 })[0] ?? s;
}
IDENTITIES.forEach((id, i) => {
  // The documented spelling, the lower-cased one, and `View/`/`Change/` capitalized (how routes declare them,
  // ARCHITECTURE.md "SSO:Change/createUser") all hit on the first lookup; other spellings take a toLowerCase.
  ACTION_NUMBER.set(internalized(id.qualifiedName), i);
  ACTION_NUMBER.set(internalized(id.key), i);
  ACTION_NUMBER.set(internalized(`${id.product}:${id.name.replace(/^view\//i, 'View/').replace(/^change\//i, 'Change/')}`), i);
});

/** The action identity number for a qualified action (`SSO:Change/createUser`), or -1 when unknown. */
export function actionNumber(action: string): number {
  const i = ACTION_NUMBER.get(action);
  if (i !== undefined) return i;
  return ACTION_NUMBER.get(action.toLowerCase()) ?? -1;
}

interface ValidPolicy {
  readonly id: string;
  readonly name: string;
  readonly kind: 'managed' | 'user';
  readonly document: PolicyDocument;
}

function buildInfos(policies: readonly ValidPolicy[], principal: Principal | undefined): PermissionInfo[] {
  const infos: PermissionInfo[] = [];
  for (const policy of policies) {
    policy.document.permissions.forEach((perm, permissionIndex) => {
      const targets: CompiledTarget[] = perm.targets.map((t) => ({
        product: t.product,
        patterns: t.actions.map((a) => parseActionPattern(t.product, a) as ActionPattern),
        resourceNrns: t.resourceNrns,
      }));
      const clauses: CompiledClause[] = [];
      const keys: ConditionKey[] = [];
      for (const [opName, block] of Object.entries(perm.condition ?? {})) {
        const op = parseOperator(opName);
        if (!op.ok) continue; // unreachable for validated documents
        for (const [keyName, values] of Object.entries(block)) {
          const key = parseConditionKey(keyName);
          if (!key.ok) continue;
          if (!keys.some((k) => k.canonical === key.key.canonical)) keys.push(key.key);
          clauses.push(compileClause(op.op, key.key, values, principal, perm.effect));
        }
      }
      const statement: DecisiveStatement = Object.freeze({
        policyId: policy.id,
        policyName: policy.name,
        permissionIndex,
        effect: perm.effect,
      });
      const hit: Decision = Object.freeze({
        decision: perm.effect === 'Allow' ? 'Allow' : 'Deny',
        reason: perm.effect === 'Allow' ? 'Allowed' : 'ExplicitDeny',
        decisive: Object.freeze([statement]),
      });
      infos.push({
        policyId: policy.id,
        policyName: policy.name,
        permissionIndex,
        effect: perm.effect,
        targets,
        keys,
        clauses,
        condition: allOf(clauses),
        statement,
        hit,
        plans: new Map(),
      });
    });
  }
  return infos;
}

function planFor(
  info: PermissionInfo,
  id: ActionIdentity,
  principal: Principal | undefined,
  globs: Map<string, StringTest | null | 'excluded'>,
  infoNo: number,
): ActionPlan | undefined {
  const patterns: string[] = [];
  let covering = false;
  for (const t of info.targets) {
    if (t.product !== id.product || !t.patterns.some((p) => patternCovers(p, id))) continue;
    covering = true;
    for (const r of t.resourceNrns) if (!patterns.includes(r)) patterns.push(r);
  }
  if (!covering) return undefined;
  const unsupported = info.keys.filter((k) => !supportsKey(id, k)).map((k) => k.canonical);
  // ARCHITECTURE.md "Resources": actions whose resource type is `-` are authorized against `*` and match only
  // statements whose resourceNrns include `*`.
  if (id.resourceless) return { patterns, unsupported, resource: patterns.includes('*') ? null : 'excluded' };
  const cacheKey = `${infoNo}\u0000${patterns.join('\u0000')}`;
  let resource = globs.get(cacheKey);
  if (resource === undefined) {
    resource = compileResource(patterns, principal, info.effect);
    globs.set(cacheKey, resource);
  }
  return { patterns, unsupported, resource };
}

/** NRN patterns → one matcher. A pattern whose variable the principal lacks matches nothing in an Allow and everything in a Deny (fail closed). */
function compileResource(patterns: readonly string[], principal: Principal | undefined, effect: Effect): StringTest | null | 'excluded' {
  if (patterns.includes('*')) return null;
  const bound: GlobPart[][] = [];
  for (const p of patterns) {
    const t = parseTemplate(p, 'nrn');
    if (!t.ok) continue;
    const parts = bindTemplate(t.template, principal);
    if (parts === undefined) {
      if (effect === 'Deny') return null;
      continue;
    }
    bound.push(parts);
  }
  return bound.length === 0 ? 'excluded' : compileAnyGlob(bound);
}

function buildIndex(policies: readonly ValidPolicy[], principal: Principal | undefined): PolicyIndex {
  const infos = buildInfos(policies, principal);
  const slots: (ActionSlot | undefined)[] = new Array<ActionSlot | undefined>(IDENTITIES.length).fill(undefined);
  const globs = new Map<string, StringTest | null | 'excluded'>();
  IDENTITIES.forEach((id, n) => {
    const denies: CompiledStatement[] = [];
    const allows: CompiledStatement[] = [];
    const failed: DecisiveStatement[] = [];
    infos.forEach((info, infoNo) => {
      const plan = planFor(info, id, principal, globs, infoNo);
      if (!plan) return;
      info.plans.set(n, plan);
      if (plan.unsupported.length > 0) {
        failed.push(Object.freeze({ ...info.statement, detail: `${plan.unsupported.join(', ')} not supported by ${id.qualifiedName}` }));
        return;
      }
      if (plan.resource === 'excluded') return;
      (info.effect === 'Deny' ? denies : allows).push({ resource: plan.resource, condition: info.condition, hit: info.hit });
    });
    const failClosed: Decision | null =
      failed.length > 0 ? Object.freeze({ decision: 'Deny', reason: 'UnsupportedConditionKey', decisive: Object.freeze(failed) }) : null;
    if (failClosed || denies.length > 0 || allows.length > 0) slots[n] = { failClosed, denies, allows };
  });
  return { infos, slots };
}

const EMPTY_INDEX: PolicyIndex = { infos: [], slots: [] };

/** The result of compile: opaque to callers except for the fields below. */
export class CompiledPolicySet {
  /** Cheap fingerprint of the inputs (policies and bound principal); see fingerprintPolicies. */
  readonly fingerprint: string;
  readonly policies: readonly { readonly id: string; readonly name: string; readonly kind: 'managed' | 'user' }[];
  /** Number of permissions (statements) across all policies. */
  readonly statementCount: number;
  /** True when some document uses policy variables, so the index depends on the principal. */
  readonly usesVariables: boolean;
  /** The principal variables were resolved for at compile time, if any. */
  readonly principal: Principal | undefined;
  readonly #validated: readonly ValidPolicy[];
  readonly #index: PolicyIndex;
  #lastPrincipal: Principal | undefined;
  #lastIndex: PolicyIndex | undefined;
  readonly #byPrincipal = new WeakMap<Principal, PolicyIndex>();

  constructor(validated: readonly ValidPolicy[], principal: Principal | undefined, fingerprint: string) {
    this.#validated = validated;
    this.fingerprint = fingerprint;
    this.policies = Object.freeze(validated.map((p) => Object.freeze({ id: p.id, name: p.name, kind: p.kind })));
    this.statementCount = validated.reduce((n, p) => n + p.document.permissions.length, 0);
    this.usesVariables = validated.some((p) => documentHasVariables(p.document));
    this.principal = principal;
    // A set with variables but no principal is bound on first use (indexFor); it needs no index up front.
    this.#index = this.usesVariables && principal === undefined ? EMPTY_INDEX : buildIndex(validated, principal);
  }

  /**
   * The index for a principal. Without variables there is one index for everyone; with variables, the index bound
   * at compile time serves its principal (compared field by field, no allocation) and any other principal gets its
   * own, built once and remembered.
   */
  indexFor(p: Principal): PolicyIndex {
    if (!this.usesVariables) return this.#index;
    if (this.principal !== undefined && samePrincipal(p, this.principal)) return this.#index;
    if (this.#lastPrincipal !== undefined && this.#lastIndex !== undefined && samePrincipal(p, this.#lastPrincipal)) return this.#lastIndex;
    let idx = this.#byPrincipal.get(p);
    if (!idx) {
      idx = buildIndex(this.#validated, p);
      this.#byPrincipal.set(p, idx);
    }
    this.#lastPrincipal = p;
    this.#lastIndex = idx;
    return idx;
  }

  /** The principal-independent index (sets without variables); used on the hot path. */
  get index(): PolicyIndex {
    return this.#index;
  }
}

/**
 * Compiles policies (a principal's own, its groups', or a role's) into a set that evaluate() reads.
 * Throws PolicyCompileError for a document that does not validate.
 */
export function compile(policies: readonly PolicyInput[], options: CompileOptions = {}): CompiledPolicySet {
  const validated: ValidPolicy[] = policies.map((p) => {
    const v = validatePolicyDocument(p.document, { allowEmpty: true });
    if (!v.ok) throw new PolicyCompileError(p.id, v.fieldErrors);
    return { id: p.id, name: p.name, kind: p.kind, document: v.document };
  });
  return new CompiledPolicySet(validated, options.principal, fingerprintPolicies(policies, options.principal));
}
