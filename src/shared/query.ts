/** Small helpers for building MongoDB filters from user input. */

/** Escapes text for use inside a regular expression (prefix searches on normalised keys). */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
