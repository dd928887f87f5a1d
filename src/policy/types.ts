/**
 * Shared types of the policy engine (ARCHITECTURE.md "The policy engine").
 * The engine is pure: everything here is plain data, no I/O.
 */

/** Product codes as they appear in a policy target's `product` and in an action's prefix. */
export const PRODUCTS = ['SSO', 'SubAccount', 'ResourceManager'] as const;
export type ProductCode = (typeof PRODUCTS)[number];

/** `View` or `Change`, the two action divisions of seeds S1, S3 and S4. */
export type ActionType = 'View' | 'Change';

export type Effect = 'Allow' | 'Deny';

/**
 * Who asks. `SubAccount` and `Role` are subject to policies; `Root` is the main account,
 * which "is not subject to policies" (ARCHITECTURE.md) and is always allowed.
 */
export type PrincipalType = 'SubAccount' | 'Role' | 'Root';

export interface Principal {
  readonly type: PrincipalType;
  /** Login ID (`ncp:principalId`, ncloud-model.md §3: "ncp:principalId (login ID)"). */
  readonly id?: string | undefined;
  /** Display name (`ncp:principalName`). */
  readonly name?: string | undefined;
  /** Stable unique id (`ncp:principaluuid`). */
  readonly uuid?: string | undefined;
  /** Principal tags (`ncp:principalTag/{key}`). */
  readonly tags?: Readonly<Record<string, string>> | undefined;
  /** For a role session: the sub account id, or the SSO user id for an SSO role (§3, R27). */
  readonly sourceIdentityId?: string | undefined;
  readonly sourceIdentityType?: string | undefined;
}

/** A value the request context may carry for a condition key; arrays are multi-valued keys. */
export type ContextScalar = string | number | boolean;
export type ContextValue = ContextScalar | readonly ContextScalar[];

export interface AuthorizationRequest {
  readonly principal: Principal;
  /** Qualified action, e.g. `SSO:Change/createUser` (product, colon, action name; case-insensitive). */
  readonly action: string;
  /** The resource NRN, or `*` for actions without a resource type. */
  readonly resource: string;
  /**
   * Request-scoped condition keys: `ncp:resourceTag/{k}`, `ncp:requestTag/{k}`, `ncp:TagKeys`,
   * `ncp:SourceIp`, `ncp:CurrentTime` (ISO-8601 string or epoch milliseconds), `ncp:MultiFactorAuthPresent`.
   * Principal properties are read from `principal`, never from here.
   */
  readonly context?: Readonly<Record<string, ContextValue | null | undefined>> | undefined;
}

export interface FieldError {
  readonly field: string;
  readonly message: string;
}

export type ValidationResult<T> =
  { readonly ok: true; readonly document: T } | { readonly ok: false; readonly fieldErrors: readonly FieldError[] };

export type Reason = 'ExplicitDeny' | 'Allowed' | 'ImplicitDeny' | 'UnsupportedConditionKey';

export interface DecisiveStatement {
  readonly policyId: string;
  readonly policyName: string;
  readonly permissionIndex: number;
  readonly effect: Effect;
  /** Only for `UnsupportedConditionKey`: which key the action does not support. */
  readonly detail?: string;
}

export type NotAppliedWhy = 'action' | 'resource' | 'condition';

export interface NotAppliedStatement {
  readonly policyId: string;
  readonly policyName: string;
  readonly permissionIndex: number;
  readonly effect: Effect;
  readonly why: NotAppliedWhy;
  readonly detail: string;
}

export interface Decision {
  readonly decision: 'Allow' | 'Deny';
  readonly reason: Reason;
  readonly decisive: readonly DecisiveStatement[];
  /** Explain mode only: statements that did not apply, and why. */
  readonly notApplied?: readonly NotAppliedStatement[];
  /** Explain mode only: statements that applied but lost (an Allow beaten by a Deny or a fail-closed key). */
  readonly overridden?: readonly DecisiveStatement[];
  /** Explain mode only: a sentence for decisions that no statement made (main account, unknown action). */
  readonly note?: string;
}

export interface EvaluateOptions {
  readonly explain?: boolean;
}
