import type { ActionType, ProductCode } from '../types.js';

/** The tag condition keys a row of seeds S3/S4 lists beside "All principal properties condition keys". */
export type DocumentedTagKey = 'ncp:resourceTag' | 'ncp:requestTag';

/**
 * One row of an action table, kept exactly as documented: names with their spelling and typos
 * (`Change/attachRoleToAccont`), related actions as written (some do not resolve; see RELATED_ACTION_FIXES),
 * resource types and groups as written (`Permission Set`, `IP ACL`, `VPCServer:Server`).
 */
export interface CatalogRow {
  readonly type: ActionType;
  readonly name: string;
  readonly related: readonly string[];
  /** Empty when the table says `-` (lists and creates): such actions are authorized against resource `*`. */
  readonly resourceTypes: readonly string[];
  readonly groups: readonly string[];
  readonly tagKeys: readonly DocumentedTagKey[];
  readonly description: string;
}

/** A catalog row with what the engine derives from it. */
export interface CatalogAction extends CatalogRow {
  readonly product: ProductCode;
  /** `SSO:change/createUser`: the product code and the documented name. */
  readonly qualifiedName: string;
  /** Lower-cased qualified name: action names compare case-insensitively (§3). */
  readonly key: string;
  /** Related actions resolved to documented names of the same product (fixes applied). */
  readonly relatedResolved: readonly string[];
  /** Resource types as they appear in an NRN (`PermissionSet`, `IPACL`, `VPCServer:Server`). */
  readonly nrnResourceTypes: readonly string[];
  /** Every condition key this action supports (`ncp:principalTag/*`-style entries stand for a key family). */
  readonly conditionKeys: readonly string[];
  /** True when the documented resource type is `-`. */
  readonly resourceless: boolean;
}
