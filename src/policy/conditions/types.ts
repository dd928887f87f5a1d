import type { GlobPart } from '../glob.js';
import type { ContextScalar } from '../types.js';
import type { WildcardMode } from '../variables.js';

export type Family = 'String' | 'Date' | 'Numeric' | 'Bool' | 'Ip' | 'Null';

/** Whether one context value matches any of a clause's policy values (the positive form of the operator). */
export type ScalarTest = (v: ContextScalar) => boolean;

/** A policy value after variables are resolved: literal text, or wildcard parts for `StringLike`. */
export type BoundValue = string | readonly GlobPart[];

/** One operator family (one file each): its operators, how values are checked and how a clause compiles. */
export interface FamilyModule {
  readonly family: Family;
  /** Base operator names (without qualifier or `IfExists`). */
  readonly operators: readonly string[];
  /** Those that hold when no value matches (ARCHITECTURE.md: "negated operators"). */
  readonly negated: readonly string[];
  /** How a value is read as a template, or null when policy variables are not allowed in its values. */
  templateMode(op: string): WildcardMode | null;
  /** A message when a policy value is malformed for the operator. */
  checkValue(op: string, raw: string): string | undefined;
  /** A test of one context value against the (bound) policy values, for the positive operator. */
  compile(op: string, values: readonly BoundValue[]): ScalarTest;
}
