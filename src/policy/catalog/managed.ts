/**
 * System-managed policies (S0, S1, S3, S4 "System-managed policies"; ncloud-model.md §3): predefined, never
 * edited or deleted, referenced by stable id (permission sets store `systemManagedPolicyIds`, §1).
 * Their documents are generated from the catalog so that a new catalog action is covered without editing here.
 */
import type { PolicyDocument, PolicyPermission } from '../document.js';
import { PRODUCTS, type ProductCode } from '../types.js';
import { actionIdentities } from './index.js';

export interface ManagedPolicy {
  readonly id: string;
  readonly name: string;
  readonly kind: 'managed';
  readonly description: string;
  readonly document: PolicyDocument;
}

function allOf(products: readonly ProductCode[]): PolicyDocument {
  return { permissions: [{ effect: 'Allow', targets: products.map((product) => ({ product, actions: ['*'], resourceNrns: ['*'] })) }] };
}

/**
 * View actions that are not "list and view": signing in to an application (S4 view/accessApplication,
 * "Log into application with Sub Account") and minting STS credentials (S1 View/getStsSessionToken,
 * "Create STS token"). The seeds give VIEWER "the View list and Search features" (S1) / "view list and view"
 * (S3) / "View-only access to lists" (S4); neither of these two is a list or a view, so VIEWERs lack them.
 */
export const VIEWER_EXCLUDED_ACTIONS: readonly string[] = ['SSO:view/accessApplication', 'SubAccount:View/getStsSessionToken'];

function viewerOf(product: ProductCode): PolicyDocument {
  const actions = actionIdentities(product)
    .filter((a) => a.type === 'View' && !VIEWER_EXCLUDED_ACTIONS.includes(a.qualifiedName))
    .map((a) => a.name);
  const permission: PolicyPermission = { effect: 'Allow', targets: [{ product, actions, resourceNrns: ['*'] }] };
  return { permissions: [permission] };
}

function managed(id: string, name: string, description: string, document: PolicyDocument): ManagedPolicy {
  return Object.freeze({ id, name, kind: 'managed' as const, description, document: deepFreeze(document) });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export const managedPolicies: readonly ManagedPolicy[] = Object.freeze([
  // S0/S3/S4: "Access to all services, same as the main account". Gatehouse's services are its three products.
  managed(
    'e691f412-4d4e-4573-b7cd-1e646141d034',
    'NCP_ADMINISTRATOR',
    'Every action of every Gatehouse product (SSO, SubAccount, ResourceManager), like the main account.',
    allOf(PRODUCTS),
  ),
  // S3/S4: "Access to all services, except ... Billing & Payment Management". Gatehouse has no billing product,
  // so every Gatehouse product remains: the same grant as NCP_ADMINISTRATOR.
  managed(
    '82383e64-0eb2-4342-91f3-45f3e99dceeb',
    'NCP_INFRA_MANAGER',
    'Every action of every Gatehouse product; Gatehouse has no billing menus to exclude.',
    allOf(PRODUCTS),
  ),
  // S3/S4: "Access limited to Cost Explorer services and ... billing and payment". Gatehouse has neither, so the
  // policy grants nothing here; it exists so that permission sets naming it stay valid.
  managed(
    '606254e1-c395-488b-b59f-e1b981865067',
    'NCP_FINANCE_MANAGER',
    'Billing and cost views only; Gatehouse has none, so it grants no Gatehouse action.',
    { permissions: [] },
  ),
  managed(
    '9d6ee3e8-78f5-432d-b79b-7d0a3e461335',
    'NCP_SINGLE_SIGN_ON_MANAGER',
    'Every Single Sign-On action (S4: "Full access to all Ncloud Single Sign-On features").',
    allOf(['SSO']),
  ),
  managed(
    '559afb16-6b0c-4315-89db-7cabdebb7165',
    'NCP_SINGLE_SIGN_ON_VIEWER',
    'Single Sign-On list and view actions (S4: "View-only access to lists"); not application sign-in.',
    viewerOf('SSO'),
  ),
  managed(
    '3c456ef9-3db7-4de2-ad74-b82da00e0dcd',
    'NCP_SUB_ACCOUNT_MANAGER',
    'Every Sub Account action (S1: "Permission to use all features of Sub Account").',
    allOf(['SubAccount']),
  ),
  managed(
    '387da0d9-e7d2-4203-b678-f19deaf095c9',
    'NCP_SUB_ACCOUNT_VIEWER',
    'Sub Account list and view actions (S1: "only use the View list and Search features"); not STS tokens.',
    viewerOf('SubAccount'),
  ),
  managed(
    '00b08641-2b8e-4b10-a474-adc6b40a4bef',
    'NCP_RESOURCE_MANAGER_MANAGER',
    'Every Resource Manager action (S3: "all the features in Resource Manager").',
    allOf(['ResourceManager']),
  ),
  managed(
    '36033742-d300-4b40-b2db-ad7932609ad6',
    'NCP_RESOURCE_MANAGER_VIEWER',
    'Resource Manager list and view actions (S3: "only use the view list and view feature").',
    viewerOf('ResourceManager'),
  ),
]);

const BY_ID = new Map(managedPolicies.map((p) => [p.id, p]));
const BY_NAME = new Map(managedPolicies.map((p) => [p.name, p]));

/** A system-managed policy by id or by name (names are upper case as documented; matched exactly). */
export function findManagedPolicy(idOrName: string): ManagedPolicy | undefined {
  return BY_ID.get(idOrName) ?? BY_NAME.get(idOrName);
}
