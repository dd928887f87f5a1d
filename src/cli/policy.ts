/**
 * `gatehouse policy …` (issue 4 "CLI"; formats documented in docs/policy.md):
 *   validate FILE [--json]                                  exit 0 valid, 1 invalid, 2 unusable input
 *   catalog [--product P] [--json]                          exit 0, 2 on a bad product
 *   simulate --policy FILE [--policy FILE …] --request FILE [--explain]
 *                                                           prints one JSON decision; exit 0 Allow, 1 Deny, 2 invalid input
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  catalog,
  compile,
  evaluate,
  findManagedPolicy,
  managedPolicies,
  parseProduct,
  PRODUCTS,
  validatePolicyDescription,
  validatePolicyDocument,
  validatePolicyName,
  validateRequest,
  type CatalogAction,
  type FieldError,
  type PolicyInput,
} from '../policy/index.js';

const USAGE = `usage:
  gatehouse policy validate FILE [--json]
  gatehouse policy catalog [--product SSO|SubAccount|ResourceManager] [--json]
  gatehouse policy simulate --policy FILE [--policy FILE ...] --request FILE [--explain]

A policy file is a policy document { "permissions": [...] } (optionally with "policyName" and
"description"), or { "managed": "NCP_SINGLE_SIGN_ON_VIEWER" } for a system-managed policy.
simulate prints one JSON object; exit status 0 = Allow, 1 = Deny, 2 = invalid input.
`;

/** A problem with the input as a whole: reported on one stderr line, exit 2. */
class InputError extends Error {}

function out(s: string): void {
  process.stdout.write(s);
}

function fail(command: string, message: string): number {
  process.stderr.write(`gatehouse policy ${command}: ${message}\n`);
  return 2;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(`${file}: cannot read (${code ?? String(e)})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

type Loaded =
  | { readonly ok: true; readonly policy: PolicyInput; readonly permissions: number }
  | { readonly ok: false; readonly fieldErrors: readonly FieldError[] };

/** Reads a policy file: `{ "managed": name-or-id }` or a document with optional policyName/description. */
function loadPolicy(file: string): Loaded {
  const raw = readJson(file);
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'managed' in raw) {
    const extra = Object.keys(raw).filter((k) => k !== 'managed');
    if (extra.length > 0) return { ok: false, fieldErrors: extra.map((k) => ({ field: k, message: 'unknown field next to "managed"' })) };
    const ref = (raw as { managed: unknown }).managed;
    const m = typeof ref === 'string' ? findManagedPolicy(ref) : undefined;
    if (!m)
      return {
        ok: false,
        fieldErrors: [
          {
            field: 'managed',
            message: `unknown system-managed policy ${JSON.stringify(ref)} (one of ${managedPolicies.map((p) => p.name).join(', ')})`,
          },
        ],
      };
    return {
      ok: true,
      policy: { id: m.id, name: m.name, kind: 'managed', document: m.document },
      permissions: m.document.permissions.length,
    };
  }
  const errors: FieldError[] = [];
  let name = path.basename(file).replace(/\.json$/i, '');
  let doc: unknown = raw;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    const { policyName, description, ...rest } = raw as Record<string, unknown>;
    if (policyName !== undefined) {
      const v = validatePolicyName(policyName);
      if (v.ok) name = v.name;
      else errors.push(...v.fieldErrors);
    }
    errors.push(...validatePolicyDescription(description));
    doc = rest;
  }
  const v = validatePolicyDocument(doc);
  if (!v.ok) errors.push(...v.fieldErrors);
  if (errors.length > 0 || !v.ok) return { ok: false, fieldErrors: errors };
  return { ok: true, policy: { id: name, name, kind: 'user', document: v.document }, permissions: v.document.permissions.length };
}

function oneLine(file: string, errors: readonly FieldError[]): string {
  const [first] = errors;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more; see "gatehouse policy validate ${file}")` : '';
  return first ? `${file}: ${first.field}: ${first.message}${more}` : `${file}: invalid`;
}

function validateCommand(args: readonly string[]): number {
  const { values, positionals } = parseArgs({ args: [...args], options: { json: { type: 'boolean' } }, allowPositionals: true });
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) return fail('validate', 'expects exactly one FILE');
  const loaded = loadPolicy(file);
  if (values.json) {
    out(`${JSON.stringify(loaded.ok ? { ok: true } : { ok: false, fieldErrors: loaded.fieldErrors }, null, 2)}\n`);
  } else if (loaded.ok) {
    out(`${file}: valid (${loaded.permissions} permission${loaded.permissions === 1 ? '' : 's'})\n`);
  } else {
    for (const e of loaded.fieldErrors) out(`${file}: ${e.field}: ${e.message}\n`);
  }
  return loaded.ok ? 0 : 1;
}

function catalogJson(a: CatalogAction): Record<string, unknown> {
  return {
    product: a.product,
    type: a.type,
    name: a.name,
    resourceTypes: a.resourceTypes,
    group: a.groups.join(', '),
    related: a.related,
    relatedResolved: a.relatedResolved,
    conditionKeys: a.conditionKeys,
    description: a.description,
  };
}

function catalogCommand(args: readonly string[]): number {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { product: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length > 0) return fail('catalog', `unexpected argument "${positionals[0] ?? ''}"`);
  const products = values.product === undefined ? PRODUCTS : [parseProduct(values.product)];
  if (products.some((p) => p === undefined))
    return fail('catalog', `unknown product "${values.product ?? ''}" (one of ${PRODUCTS.join(', ')})`);
  const rows = products.flatMap((p) => (p === undefined ? [] : catalog.byProduct(p)));
  if (values.json) {
    out(`${JSON.stringify(rows.map(catalogJson), null, 2)}\n`);
    return 0;
  }
  const nameWidth = Math.max(...rows.map((r) => r.name.length));
  const typeWidth = Math.max(...rows.map((r) => (r.resourceTypes.join(', ') || '-').length));
  let lastProduct = '';
  for (const r of rows) {
    if (r.product !== lastProduct) {
      const count = catalog.byProduct(r.product).length;
      out(`${lastProduct ? '\n' : ''}${r.product} (${count} actions)\n`);
      lastProduct = r.product;
    }
    const tags = r.tagKeys.length > 0 ? `  [${r.tagKeys.join(', ')}]` : '';
    out(
      `  ${r.type.padEnd(6)}  ${r.name.padEnd(nameWidth)}  ${(r.resourceTypes.join(', ') || '-').padEnd(typeWidth)}  ${r.description}${tags}\n`,
    );
  }
  return 0;
}

function simulateCommand(args: readonly string[]): number {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { policy: { type: 'string', multiple: true }, request: { type: 'string' }, explain: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (positionals.length > 0) return fail('simulate', `unexpected argument "${positionals[0] ?? ''}"`);
  const policyFiles = values.policy ?? [];
  if (policyFiles.length === 0) return fail('simulate', 'needs at least one --policy FILE');
  if (values.request === undefined) return fail('simulate', 'needs --request FILE');
  const policies: PolicyInput[] = [];
  for (const file of policyFiles) {
    const loaded = loadPolicy(file);
    if (!loaded.ok) return fail('simulate', oneLine(file, loaded.fieldErrors));
    policies.push(loaded.policy);
  }
  const req = validateRequest(readJson(values.request));
  if (!req.ok) return fail('simulate', oneLine(values.request, req.fieldErrors));
  // ncp:CurrentTime is the caller's to supply (the engine keeps no clock); the simulator supplies "now" unless the
  // request file fixes a time.
  const context = req.request.context ?? {};
  const request =
    'ncp:CurrentTime' in context ? req.request : { ...req.request, context: { ...context, 'ncp:CurrentTime': new Date().toISOString() } };
  const set = compile(policies, { principal: request.principal });
  const decision = evaluate(set, request, { explain: values.explain === true });
  out(`${JSON.stringify(decision, null, 2)}\n`);
  return decision.decision === 'Allow' ? 0 : 1;
}

export async function runPolicy(args: readonly string[]): Promise<number> {
  const [sub, ...rest] = args;
  try {
    switch (sub) {
      case 'validate':
        return validateCommand(rest);
      case 'catalog':
        return catalogCommand(rest);
      case 'simulate':
        return simulateCommand(rest);
      case '--help':
      case '-h':
      case 'help':
        out(USAGE);
        return 0;
      default:
        if (sub !== undefined) process.stderr.write(`gatehouse policy: unknown subcommand "${sub}"\n`);
        process.stderr.write(USAGE);
        return 2;
    }
  } catch (e) {
    // parseArgs rejects unknown options with a TypeError carrying a readable message.
    if (e instanceof InputError || (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS'))) {
      return fail(sub ?? '', e.message);
    }
    throw e;
  }
}
