/**
 * The reference workload (issue 4 "Benchmark"): one principal with 10 policies × 5 statements over Single Sign-On
 * actions, NRN patterns and `ncp:resourceTag/env` conditions, plus one Deny statement on `ncp:resourceTag/protected`,
 * and N varied requests. Everything comes from a seeded PRNG, so every run evaluates the same workload.
 * The workload is described once, abstractly; each engine's adapter translates it.
 */
import {
  catalog,
  type ActionIdentity,
  type AuthorizationRequest,
  type PolicyDocument,
  type PolicyInput,
  type PolicyPermission,
  type Principal,
} from '../../src/policy/index.js';

export const MEMBER_NO = '1000001';
const NRN_PREFIX = `nrn:PUB:SSO::${MEMBER_NO}:`;

/** mulberry32: small, fast, good enough to vary a benchmark repeatably. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface AbstractStatement {
  readonly effect: 'Allow' | 'Deny';
  /** Documented SSO action names, or `View*` (expanded by adapters that have no action wildcards). */
  readonly actions: readonly string[];
  /** `*` or NRN patterns whose only wildcard is `*`. */
  readonly resources: readonly string[];
  /** StringEquals on ncp:resourceTag/env, or null for no condition. */
  readonly env: readonly string[] | null;
  /** StringEquals ncp:resourceTag/protected = "true" (the Deny statement). */
  readonly protectedOnly: boolean;
}

export interface AbstractRequest {
  readonly action: string;
  readonly resource: string;
  readonly env: string | undefined;
  readonly protectedTag: string | undefined;
}

export interface Workload {
  readonly policies: readonly (readonly AbstractStatement[])[];
  readonly requests: readonly AbstractRequest[];
  /** SSO actions (distinct names) with their catalog facts, for the adapters. */
  readonly actions: readonly ActionIdentity[];
}

const SSO = catalog.identities('SSO');
const WITH_RESOURCE_TAG = SSO.filter((a) => a.conditionKeys.includes('ncp:resourceTag/*'));
const ENVS = ['dev', 'staging', 'prod'] as const;
const PREFIXES = ['team-a-', 'team-b-', 'ops-', ''] as const;
const TYPES = ['User', 'Group', 'Application', 'PermissionSet', 'Assignment', 'IPACL', 'Tenant'] as const;

function pick<T>(rnd: () => number, list: readonly T[]): T {
  return list[Math.floor(rnd() * list.length)] as T;
}

function pickSome<T>(rnd: () => number, list: readonly T[], min: number, max: number): T[] {
  const n = min + Math.floor(rnd() * (max - min + 1));
  const out: T[] = [];
  while (out.length < n) {
    const x = pick(rnd, list);
    if (!out.includes(x)) out.push(x);
  }
  return out;
}

function statement(rnd: () => number): AbstractStatement {
  if (rnd() < 0.1) {
    // A wildcard statement: every View action on one resource type (no condition: View* covers list actions,
    // which support no ncp:resourceTag and would fail closed).
    return {
      effect: 'Allow',
      actions: ['View*'],
      resources: [`${NRN_PREFIX}${pick(rnd, ['User', 'Group'])}/*`],
      env: null,
      protectedOnly: false,
    };
  }
  const withTag = rnd() < 0.6;
  const actions = pickSome(rnd, withTag ? WITH_RESOURCE_TAG : SSO, 2, 6).map((a) => a.name);
  const resources =
    rnd() < 0.25
      ? ['*']
      : pickSome(rnd, [0, 1, 2, 3, 4, 5, 6, 7], 1, 2).map(() =>
          rnd() < 0.2 ? `${NRN_PREFIX}*/${pick(rnd, PREFIXES)}*` : `${NRN_PREFIX}${pick(rnd, TYPES)}/${pick(rnd, PREFIXES)}*`,
        );
  return { effect: 'Allow', actions, resources, env: withTag ? pickSome(rnd, ENVS, 1, 2) : null, protectedOnly: false };
}

export const DENY_STATEMENT: AbstractStatement = {
  effect: 'Deny',
  actions: ['change/deleteUser', 'change/deleteGroup', 'change/updateUser', 'change/deletePermissionSet', 'change/deleteAssignment'],
  resources: [`${NRN_PREFIX}*`],
  env: null,
  protectedOnly: true,
};

export function makeWorkload(requestCount: number, seed = 20260401): Workload {
  const rnd = prng(seed);
  const policies: AbstractStatement[][] = [];
  for (let p = 0; p < 10; p++) {
    const stmts: AbstractStatement[] = [];
    for (let s = 0; s < 5; s++) stmts.push(statement(rnd));
    policies.push(stmts);
  }
  policies.push([DENY_STATEMENT]);
  const used = [...new Set(policies.flat().flatMap((s) => s.actions))].filter((a) => !a.endsWith('*'));
  const requests: AbstractRequest[] = [];
  for (let i = 0; i < requestCount; i++) {
    // Half the requests name an action some statement names, so that Allow, ExplicitDeny and ImplicitDeny all occur.
    const name = rnd() < 0.5 ? pick(rnd, used) : pick(rnd, SSO).name;
    const id = SSO.find((a) => a.name === name) as ActionIdentity;
    const type = id.rows[0]?.nrnResourceTypes[0] ?? 'User';
    const resource = id.resourceless
      ? '*'
      : `${NRN_PREFIX}${rnd() < 0.8 ? type : pick(rnd, TYPES)}/${pick(rnd, PREFIXES)}${Math.floor(rnd() * 0xffffffff)
          .toString(16)
          .padStart(8, '0')}`;
    const e = rnd();
    const env = e < 0.25 ? 'dev' : e < 0.5 ? 'staging' : e < 0.75 ? 'prod' : undefined;
    const t = rnd();
    const protectedTag = t < 0.2 ? 'true' : t < 0.5 ? 'false' : undefined;
    requests.push({ action: name, resource, env, protectedTag });
  }
  return { policies, requests, actions: SSO };
}

/** Gatehouse: the workload as policy documents and requests. */
export function gatehouseInputs(w: Workload): { policies: PolicyInput[]; requests: AuthorizationRequest[]; principal: Principal } {
  const principal: Principal = { type: 'SubAccount', id: 'alice', name: 'Alice', uuid: '5b0e8f3c-0d7e-4a57-9a43-7c1f1b9e2a10' };
  const policies = w.policies.map((stmts, i): PolicyInput => {
    const document: PolicyDocument = {
      permissions: stmts.map((s): PolicyPermission => {
        const condition: Record<string, readonly string[]> = {};
        if (s.env) condition['ncp:resourceTag/env'] = s.env;
        if (s.protectedOnly) condition['ncp:resourceTag/protected'] = ['true'];
        const base = { effect: s.effect, targets: [{ product: 'SSO' as const, actions: s.actions, resourceNrns: s.resources }] };
        return Object.keys(condition).length > 0 ? { ...base, condition: { StringEquals: condition } } : base;
      }),
    };
    return { id: `bench-${i}`, name: `bench-${i}`, kind: 'user', document };
  });
  // Routes declare their action as a constant string (ARCHITECTURE.md "Request flows"), so requests share one
  // string per action, as here; resources and contexts are distinct per request.
  // Object.keys hands back the internalized string, as a string literal in a route's source would be.
  const actionStrings = new Map(w.actions.map((a) => [a.name, Object.keys({ [`SSO:${a.name}`]: 0 })[0] as string]));
  const requests = w.requests.map((r): AuthorizationRequest => {
    const context: Record<string, string> = {};
    if (r.env !== undefined) context['ncp:resourceTag/env'] = r.env;
    if (r.protectedTag !== undefined) context['ncp:resourceTag/protected'] = r.protectedTag;
    return { principal, action: actionStrings.get(r.action) ?? `SSO:${r.action}`, resource: r.resource, context };
  });
  return { policies, requests, principal };
}

/** Expands `View*` into the catalog's View actions, for engines without action wildcards. */
export function expandActions(w: Workload, actions: readonly string[]): string[] {
  return [...new Set(actions.flatMap((a) => (a === 'View*' ? w.actions.filter((x) => x.type === 'View').map((x) => x.name) : [a])))];
}
