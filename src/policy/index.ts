/**
 * Gatehouse's policy engine: the public API (issue 4). Pure: no I/O, no database, no HTTP, no environment.
 *
 *   const set = compile(policies, { principal });       // once per principal; cache by set.fingerprint
 *   const d = evaluate(set, { principal, action: 'SSO:Change/createUser', resource: '*', context });
 *   if (d.decision === 'Deny') … d.reason, d.decisive
 */
export { catalog, catalogSelfTest, parseProduct, RELATED_ACTION_FIXES, withRelatedActions, nrnResourceType } from './catalog/index.js';
export type { CatalogAction, CatalogRow, CatalogSelfTest, UnresolvedReference, ActionIdentity } from './catalog/index.js';
export { managedPolicies, findManagedPolicy, VIEWER_EXCLUDED_ACTIONS } from './catalog/managed.js';
export type { ManagedPolicy } from './catalog/managed.js';
export {
  validatePolicyDocument,
  validatePolicyName,
  validatePolicyDescription,
  POLICY_NAME_MIN,
  POLICY_NAME_MAX,
  POLICY_DESCRIPTION_MAX_BYTES,
} from './document.js';
export type { PolicyDocument, PolicyPermission, PolicyTarget, ConditionBlock, NameValidation, ValidateOptions } from './document.js';
export { validateRequest } from './request.js';
export type { RequestValidation } from './request.js';
export { compile, CompiledPolicySet, PolicyCompileError } from './compile.js';
export type { PolicyInput, CompileOptions } from './compile.js';
export { evaluate } from './evaluate.js';
export { fingerprintPolicies, ENGINE_VERSION } from './fingerprint.js';
export { buildNrn, parseNrn, NRN_MAX_LENGTH } from './nrn.js';
export type { Nrn, NrnParts } from './nrn.js';
export { BASE_OPERATORS } from './conditions/index.js';
export { PRINCIPAL_PROPERTY_KEYS, GLOBAL_KEYS } from './conditions/keys.js';
export { PRODUCTS } from './types.js';
export type {
  ProductCode,
  ActionType,
  Effect,
  Principal,
  PrincipalType,
  ContextScalar,
  ContextValue,
  AuthorizationRequest,
  FieldError,
  ValidationResult,
  Reason,
  Decision,
  DecisiveStatement,
  NotAppliedStatement,
  NotAppliedWhy,
  EvaluateOptions,
} from './types.js';
