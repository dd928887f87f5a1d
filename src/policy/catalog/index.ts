/**
 * The action catalog: every action of seeds S1 (Sub Account), S3 (Resource Manager) and S4 (Single Sign-On)
 * as typed data, with lookups that compare names case-insensitively (ncloud-model.md §3: "Case varies in the
 * docs (view/… vs View/…); compare case-insensitively").
 */
import { GLOBAL_KEYS, PRINCIPAL_PROPERTY_KEYS, type ConditionKey } from '../conditions/keys.js';
import { PRODUCTS, type ActionType, type ProductCode } from '../types.js';
import { RESOURCE_MANAGER_ROWS } from './resourcemanager.js';
import { SSO_ROWS } from './sso.js';
import { SUB_ACCOUNT_ROWS } from './subaccount.js';
import type { CatalogAction, CatalogRow } from './types.js';

export type { CatalogAction, CatalogRow, DocumentedTagKey } from './types.js';

const ROWS: Readonly<Record<ProductCode, readonly CatalogRow[]>> = {
  SSO: SSO_ROWS,
  SubAccount: SUB_ACCOUNT_ROWS,
  ResourceManager: RESOURCE_MANAGER_ROWS,
};

/**
 * Related-action references in the seeds that name no action of their product, mapped to the action they
 * evidently mean. Keyed by `{product}:{reference as written}`. Related actions are authoring help only
 * (S2: the console pre-selects them), so a wrong mapping can never widen a decision.
 */
export const RELATED_ACTION_FIXES: Readonly<Record<string, { readonly mapsTo: string; readonly why: string }>> = {
  // S1, Change/resetSubAccountMFA: the only row whose related actions lack the `View/` prefix.
  'SubAccount:getSubAccountList': { mapsTo: 'View/getSubAccountList', why: 'missing "View/" prefix' },
  'SubAccount:getSubAccountDetail': { mapsTo: 'View/getSubAccountDetail', why: 'missing "View/" prefix' },
  // S3, Change/updateObserver: written as get/… instead of View/get….
  'ResourceManager:get/observerList': { mapsTo: 'View/getObserverList', why: '"get/x" written for "View/getX"' },
  'ResourceManager:get/ObserverDetail': { mapsTo: 'View/getObserverDetail', why: '"get/x" written for "View/getX"' },
  // There is no getRecipientDetail action; view/getRecipientList is the one recipient view in the Observer group.
  'ResourceManager:get/RecipientDetail': {
    mapsTo: 'view/getRecipientList',
    why: 'no recipient-detail action exists; the recipient view is view/getRecipientList',
  },
  'ResourceManager:get/actionList': { mapsTo: 'view/getActionList', why: '"get/x" written for "view/getX"' },
  'ResourceManager:get/actionDetail': { mapsTo: 'view/getActionDetail', why: '"get/x" written for "view/getX"' },
  // S4, change/untagIPACL: a stray "A" (its twin change/tagIPACL lists View/getIPACLList).
  'SSO:view/getAIPACLList': { mapsTo: 'View/getIPACLList', why: 'typo for View/getIPACLList (as in change/tagIPACL)' },
};

/** `Permission Set` → `PermissionSet`, `IP ACL` → `IPACL`: NRNs allow no spaces (§3 NRN charset); the seed spells both forms. */
export function nrnResourceType(documented: string): string {
  return documented.replace(/\s+/g, '');
}

function conditionKeysOf(row: CatalogRow): string[] {
  const keys: string[] = [...PRINCIPAL_PROPERTY_KEYS, ...GLOBAL_KEYS];
  if (row.tagKeys.includes('ncp:resourceTag')) keys.push('ncp:resourceTag/*');
  if (row.tagKeys.includes('ncp:requestTag')) keys.push('ncp:requestTag/*', 'ncp:TagKeys');
  return keys;
}

const lowerNames = new Map<ProductCode, Map<string, string>>();
for (const p of PRODUCTS) {
  const m = new Map<string, string>();
  for (const r of ROWS[p]) if (!m.has(r.name.toLowerCase())) m.set(r.name.toLowerCase(), r.name);
  lowerNames.set(p, m);
}

function resolveReference(product: ProductCode, ref: string): string | undefined {
  const direct = lowerNames.get(product)?.get(ref.toLowerCase());
  if (direct !== undefined) return direct;
  return RELATED_ACTION_FIXES[`${product}:${ref}`]?.mapsTo;
}

function buildAction(product: ProductCode, row: CatalogRow): CatalogAction {
  const relatedResolved: string[] = [];
  for (const ref of row.related) {
    const name = resolveReference(product, ref);
    if (name !== undefined && !relatedResolved.includes(name)) relatedResolved.push(name);
  }
  return Object.freeze({
    ...row,
    product,
    qualifiedName: `${product}:${row.name}`,
    key: `${product}:${row.name}`.toLowerCase(),
    relatedResolved: Object.freeze(relatedResolved),
    nrnResourceTypes: Object.freeze(row.resourceTypes.map(nrnResourceType)),
    conditionKeys: Object.freeze(conditionKeysOf(row)),
    resourceless: row.resourceTypes.length === 0,
  });
}

const ALL: readonly CatalogAction[] = Object.freeze(PRODUCTS.flatMap((p) => ROWS[p].map((r) => buildAction(p, r))));
const BY_PRODUCT = new Map<ProductCode, readonly CatalogAction[]>(PRODUCTS.map((p) => [p, ALL.filter((a) => a.product === p)]));
const BY_KEY = new Map<string, CatalogAction[]>();
for (const a of ALL) {
  const list = BY_KEY.get(a.key);
  if (list) list.push(a);
  else BY_KEY.set(a.key, [a]);
}

/**
 * One evaluable action: rows that share a name (S4's two change/addUserToGroup and change/removeUserFromGroup rows)
 * are one action for evaluation, because a request names the action, not the row.
 */
export interface ActionIdentity {
  readonly product: ProductCode;
  readonly key: string;
  readonly name: string;
  readonly qualifiedName: string;
  readonly type: ActionType;
  readonly resourceless: boolean;
  readonly conditionKeys: readonly string[];
  readonly rows: readonly CatalogAction[];
}

const IDENTITIES: readonly ActionIdentity[] = Object.freeze(
  [...BY_KEY.values()].map((rows): ActionIdentity => {
    const first = rows[0] as CatalogAction;
    const keys = new Set<string>();
    for (const r of rows) for (const k of r.conditionKeys) keys.add(k);
    return Object.freeze({
      product: first.product,
      key: first.key,
      name: first.name,
      qualifiedName: first.qualifiedName,
      type: first.type,
      resourceless: rows.every((r) => r.resourceless),
      conditionKeys: Object.freeze([...keys]),
      rows: Object.freeze(rows),
    });
  }),
);
const IDENTITY_BY_KEY = new Map(IDENTITIES.map((i) => [i.key, i]));

/** Canonical product code for a case-insensitive spelling, or undefined. */
export function parseProduct(raw: string): ProductCode | undefined {
  const l = raw.toLowerCase();
  return PRODUCTS.find((p) => p.toLowerCase() === l);
}

/** Splits `SSO:change/createUser` at the first colon. */
export function splitQualified(qualified: string): { product: string; name: string } | undefined {
  const i = qualified.indexOf(':');
  if (i <= 0 || i === qualified.length - 1) return undefined;
  return { product: qualified.slice(0, i), name: qualified.slice(i + 1) };
}

/** Every evaluable action (distinct names), optionally of one product. */
export function actionIdentities(product?: ProductCode): readonly ActionIdentity[] {
  return product === undefined ? IDENTITIES : IDENTITIES.filter((i) => i.product === product);
}

export function findIdentity(product: ProductCode, name: string): ActionIdentity | undefined {
  return IDENTITY_BY_KEY.get(`${product}:${name}`.toLowerCase());
}

/** Whether an action supports a condition key (seed tables, "Available condition keys"; S1 lists none). */
export function supportsKey(action: ActionIdentity | CatalogAction, key: ConditionKey): boolean {
  switch (key.support) {
    case 'principal':
    case 'global':
      return true;
    case 'ncp:resourceTag':
      return action.conditionKeys.includes('ncp:resourceTag/*');
    case 'ncp:requestTag':
      return action.conditionKeys.includes('ncp:requestTag/*');
  }
}

export type ActionPattern =
  | { readonly kind: 'all' }
  | { readonly kind: 'type'; readonly type: ActionType }
  | { readonly kind: 'exact'; readonly identity: ActionIdentity };

/**
 * Parses an action entry of a target: exact name, `View*`, `Change*` or `*` (ARCHITECTURE.md "Catalog"), all
 * case-insensitive. Anything else (`View/get*`) is not a pattern Ncloud offers and is rejected.
 */
export function parseActionPattern(product: ProductCode, raw: string): ActionPattern | undefined {
  const l = raw.toLowerCase();
  if (l === '*') return { kind: 'all' };
  if (l === 'view*') return { kind: 'type', type: 'View' };
  if (l === 'change*') return { kind: 'type', type: 'Change' };
  const identity = findIdentity(product, raw);
  return identity === undefined ? undefined : { kind: 'exact', identity };
}

export function patternCovers(pattern: ActionPattern, action: ActionIdentity): boolean {
  switch (pattern.kind) {
    case 'all':
      return true;
    case 'type':
      return action.type === pattern.type;
    case 'exact':
      return pattern.identity === action;
  }
}

export interface UnresolvedReference {
  readonly product: ProductCode;
  /** The row that carries the reference (name and documented resource type, to tell the S4 twins apart). */
  readonly action: string;
  readonly resourceTypes: readonly string[];
  readonly reference: string;
  /** The action it maps to through RELATED_ACTION_FIXES, or null if unmapped (a catalog bug). */
  readonly mapsTo: string | null;
  readonly why: string | null;
}

export interface CatalogSelfTest {
  readonly counts: Readonly<Record<ProductCode, { readonly rows: number; readonly distinctNames: number }>>;
  readonly unresolved: readonly UnresolvedReference[];
  /** Anything else that is wrong: unmapped references, fixes that map to nothing, unused fixes, duplicate rows. */
  readonly problems: readonly string[];
}

/**
 * Checks the catalog against itself: every related-action reference must name an action of its product
 * (case-insensitively); those that do not are reported with the action RELATED_ACTION_FIXES maps them to.
 */
export function catalogSelfTest(): CatalogSelfTest {
  const unresolved: UnresolvedReference[] = [];
  const problems: string[] = [];
  const usedFixes = new Set<string>();
  for (const a of ALL) {
    for (const ref of a.related) {
      if (lowerNames.get(a.product)?.has(ref.toLowerCase())) continue;
      const fixKey = `${a.product}:${ref}`;
      const fix = RELATED_ACTION_FIXES[fixKey];
      if (fix) usedFixes.add(fixKey);
      unresolved.push({
        product: a.product,
        action: a.name,
        resourceTypes: a.resourceTypes,
        reference: ref,
        mapsTo: fix?.mapsTo ?? null,
        why: fix?.why ?? null,
      });
      if (!fix) problems.push(`${a.qualifiedName}: related action "${ref}" resolves to nothing and has no mapping`);
    }
  }
  for (const [k, fix] of Object.entries(RELATED_ACTION_FIXES)) {
    const split = splitQualified(k);
    const product = split && parseProduct(split.product);
    if (!product || !lowerNames.get(product)?.has(fix.mapsTo.toLowerCase())) problems.push(`fix ${k} maps to unknown action ${fix.mapsTo}`);
    if (!usedFixes.has(k)) problems.push(`fix ${k} is not used by any row`);
  }
  const seen = new Set<string>();
  for (const a of ALL) {
    const rowKey = `${a.key}|${a.resourceTypes.join(',')}`;
    if (seen.has(rowKey)) problems.push(`duplicate row ${a.qualifiedName} (${a.resourceTypes.join(', ') || '-'})`);
    seen.add(rowKey);
  }
  const counts = Object.fromEntries(
    PRODUCTS.map((p) => [p, { rows: ROWS[p].length, distinctNames: lowerNames.get(p)?.size ?? 0 }]),
  ) as Record<ProductCode, { rows: number; distinctNames: number }>;
  return { counts, unresolved, problems };
}

/**
 * The catalog's public face: every row (`actions`), lookups by product and by name (a name returns every row
 * that carries it, so the S4 twins come back together), and the evaluable identities.
 */
export const catalog = Object.freeze({
  products: PRODUCTS,
  actions: ALL,
  /** Rows of one product, in documented order. */
  byProduct(product: ProductCode): readonly CatalogAction[] {
    return BY_PRODUCT.get(product) ?? [];
  },
  /** Rows for `SSO:change/addUserToGroup`-style names, or for (product, name); case-insensitive; [] if unknown. */
  find(qualifiedOrProduct: string, name?: string): readonly CatalogAction[] {
    let key: string;
    if (name === undefined) {
      const s = splitQualified(qualifiedOrProduct);
      const product = s && parseProduct(s.product);
      if (!s || !product) return [];
      key = `${product}:${s.name}`.toLowerCase();
    } else {
      const product = parseProduct(qualifiedOrProduct);
      if (!product) return [];
      key = `${product}:${name}`.toLowerCase();
    }
    return BY_KEY.get(key) ?? [];
  },
  identities: actionIdentities,
  selfTest: catalogSelfTest,
});

/**
 * Authoring help (S1/S3/S4 "Caution"; ARCHITECTURE.md "Catalog"): the given actions plus the related actions the
 * console pre-selects for them, one level deep as the tables list them. Used by the API and console when a policy is
 * created or edited, never by evaluation. Entries are qualified (`SSO:change/createUser`), or unqualified when
 * `product` is given; results come back in the same form, inputs first, then related actions in documented
 * spelling. Wildcards and unknown names pass through untouched (validation reports them).
 */
export function withRelatedActions(actions: readonly string[], product?: ProductCode): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (s: string): void => {
    const k = s.toLowerCase();
    if (!seen.has(k)) {
      seen.add(k);
      out.push(s);
    }
  };
  for (const a of actions) add(a);
  for (const a of actions) {
    const rows = product === undefined ? catalog.find(a) : catalog.find(product, a);
    for (const row of rows) for (const rel of row.relatedResolved) add(product === undefined ? `${row.product}:${rel}` : rel);
  }
  return out;
}
