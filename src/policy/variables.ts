/**
 * Policy variables: `${ncp:principalId}` and the other principal-property keys, in condition values and resource
 * patterns (ARCHITECTURE.md "Conditions"; §3 "Dynamic Condition" variables of the form `${<full key>}`).
 * `${*}`, `${?}` and `${$}` stand for a literal `*`, `?` and `$`, as in AWS, so a pattern can name them.
 * Variables are resolved per principal at compile time; matching never sees them.
 */
import { parseConditionKey, principalValue, type ConditionKey } from './conditions/keys.js';
import { ONE, STAR, type GlobPart } from './glob.js';
import type { Principal } from './types.js';

export type TemplatePart = GlobPart | { readonly variable: ConditionKey };

export interface Template {
  readonly parts: readonly TemplatePart[];
  readonly hasVariables: boolean;
}

/** Which characters are wildcards: `like` = `*` and `?` (StringLike), `nrn` = `*` only, `none` = neither. */
export type WildcardMode = 'like' | 'nrn' | 'none';

export type TemplateParse = { readonly ok: true; readonly template: Template } | { readonly ok: false; readonly message: string };

export function parseTemplate(raw: string, mode: WildcardMode): TemplateParse {
  const parts: TemplatePart[] = [];
  let text = '';
  let hasVariables = false;
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch === '$' && raw[i + 1] === '{') {
      const end = raw.indexOf('}', i + 2);
      if (end < 0) return { ok: false, message: `unclosed "\${" at position ${i}` };
      const inner = raw.slice(i + 2, end);
      i = end;
      if (inner === '*' || inner === '?' || inner === '$') {
        text += inner;
        continue;
      }
      const parsed = parseConditionKey(inner);
      if (!parsed.ok || !parsed.key.fromPrincipal) {
        return {
          ok: false,
          message: `unknown policy variable "\${${inner}}": variables name a principal-property key such as \${ncp:principalId}`,
        };
      }
      if (text) parts.push(text);
      text = '';
      parts.push({ variable: parsed.key });
      hasVariables = true;
      continue;
    }
    if (mode !== 'none' && (ch === '*' || (mode === 'like' && ch === '?'))) {
      if (text) parts.push(text);
      text = '';
      parts.push(ch === '*' ? STAR : ONE);
      continue;
    }
    text += ch;
  }
  if (text) parts.push(text);
  return { ok: true, template: { parts, hasVariables } };
}

/** Resolves a template for a principal; undefined when a variable names a property the principal lacks. */
export function bindTemplate(t: Template, principal: Principal | undefined): GlobPart[] | undefined {
  const out: GlobPart[] = [];
  for (const p of t.parts) {
    if (typeof p === 'object') {
      const v = principal === undefined ? undefined : principalValue(p.variable, principal);
      if (v === undefined) return undefined;
      out.push(v);
    } else out.push(p);
  }
  return out;
}

/** The template as one literal string (for `none` mode, where no part is a wildcard). */
export function bindLiteral(t: Template, principal: Principal | undefined): string | undefined {
  const parts = bindTemplate(t, principal);
  if (parts === undefined) return undefined;
  let s = '';
  for (const p of parts) s += typeof p === 'string' ? p : p === STAR ? '*' : '?';
  return s;
}
