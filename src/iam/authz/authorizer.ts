/**
 * The authorizer: a principal's policies, compiled once and cached until the account's change
 * stamp moves (src/iam/change-stamps.ts), then asked by the pure engine (src/policy) for each
 * admin call. ARCHITECTURE.md: a sub account's policies are its own plus its groups'; a role
 * session's are the role's; the main account is not subject to policies.
 */
import { compile, evaluate, findManagedPolicy, type CompiledPolicySet, type ContextValue, type Decision, type PolicyInput } from '../../policy/index.js';
import { AppError } from '../../shared/errors.js';
import { accountScope, type ChangeStamps } from '../change-stamps.js';
import { AdminGroup } from '../groups/admin-group.model.js';
import { Policy } from '../policies/policy.model.js';
import { principalKey, toPolicyPrincipal, type AdminPrincipal } from '../principal.js';
import { Role } from '../roles/role.model.js';
import { SubAccount } from '../sub-accounts/sub-account.model.js';

export interface AuthorizeInput {
  action: string;
  resource: string;
  context: Record<string, ContextValue | null | undefined>;
}

/** Resolves attached policy ids (managed ids or user policy ids) to engine inputs. */
export async function resolvePolicies(accountId: number, policyIds: readonly string[]): Promise<PolicyInput[]> {
  const out: PolicyInput[] = [];
  const userIds: string[] = [];
  for (const id of new Set(policyIds)) {
    const managed = findManagedPolicy(id);
    if (managed) out.push(managed);
    else userIds.push(id);
  }
  if (userIds.length) {
    const docs = await Policy.find({ accountId, policyId: { $in: userIds } }).select('policyId name document').lean();
    for (const d of docs) out.push({ id: d.policyId, name: d.name, kind: 'user', document: d.document });
  }
  return out;
}

export async function policiesOf(p: AdminPrincipal): Promise<PolicyInput[]> {
  switch (p.kind) {
    case 'Root':
      return [];
    case 'SubAccount': {
      const sub = await SubAccount.findOne({ accountId: p.accountId, subAccountId: p.subAccountId }).select('policyIds groupIds').lean();
      if (!sub) return [];
      const groups = sub.groupIds.length
        ? await AdminGroup.find({ accountId: p.accountId, groupId: { $in: sub.groupIds } }).select('policyIds').lean()
        : [];
      return resolvePolicies(p.accountId, [...sub.policyIds, ...groups.flatMap((g) => g.policyIds)]);
    }
    case 'Role': {
      const role = await Role.findOne({ accountId: p.accountId, roleId: p.roleId }).select('policyIds status').lean();
      if (!role || role.status !== 'active') return [];
      return resolvePolicies(p.accountId, role.policyIds);
    }
  }
}

const CACHE_LIMIT = 10_000;
/** The main account is not subject to policies: the engine answers Root without statements. */
const ROOT_SET = compile([]);

export class Authorizer {
  private readonly cache = new Map<string, { stamp: number; set: CompiledPolicySet }>();

  constructor(private readonly stamps: ChangeStamps) {}

  /** The principal's compiled set, from cache while the account's stamp has not moved. */
  async compiledFor(p: AdminPrincipal): Promise<CompiledPolicySet> {
    const key = principalKey(p);
    // Read the stamp before the policies: a change racing with the load bumps past it.
    const stamp = await this.stamps.current(accountScope(p.accountId));
    const hit = this.cache.get(key);
    if (hit && hit.stamp === stamp) return hit.set;
    const set = compile(await policiesOf(p), { principal: toPolicyPrincipal(p) });
    if (this.cache.size >= CACHE_LIMIT) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { stamp, set });
    return set;
  }

  async decide(p: AdminPrincipal, input: AuthorizeInput, explain = false): Promise<Decision> {
    const principal = toPolicyPrincipal(p);
    if (p.kind === 'Root') return evaluate(ROOT_SET, { principal, action: input.action, resource: input.resource, context: input.context });
    const set = await this.compiledFor(p);
    return evaluate(set, { principal, action: input.action, resource: input.resource, context: input.context }, { explain });
  }

  /** Throws FORBIDDEN (403, no policy internals) unless allowed; returns the decision. */
  async authorize(p: AdminPrincipal, input: AuthorizeInput): Promise<Decision> {
    const decision = await this.decide(p, input);
    if (decision.decision !== 'Allow') {
      throw new AppError('FORBIDDEN', `${input.action} is not allowed on ${input.resource}`);
    }
    return decision;
  }
}
