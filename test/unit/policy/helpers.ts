/** Shared by the policy tests: reads JSON case files and turns their policy entries into compile inputs. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findManagedPolicy, type PolicyInput } from '../../../src/policy/index.js';

export const CASES_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cases');
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export function readCases<T>(file: string): T {
  return JSON.parse(readFileSync(path.join(CASES_DIR, file), 'utf8')) as T;
}

export type PolicyEntry =
  | { readonly managed: string }
  | { readonly id: string; readonly name: string; readonly kind: 'managed' | 'user'; readonly document: unknown };

export function toInput(entry: PolicyEntry): PolicyInput {
  if ('managed' in entry) {
    const m = findManagedPolicy(entry.managed);
    if (!m) throw new Error(`case file names unknown managed policy ${entry.managed}`);
    return { id: m.id, name: m.name, kind: 'managed', document: m.document };
  }
  return entry;
}
