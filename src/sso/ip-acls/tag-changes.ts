/**
 * Tag and untag requests on IP ACLs, permission sets and assignments (seed S4 `tag*` / `untag*`):
 * a read-modify-write of the tag list, made atomic by compare-and-set on the document's
 * `revision` (no transactions; `$pull` + `$push` of one key cannot be one update, and two updates
 * would lose a tag on a crash between them). A lost race re-reads and retries.
 */
import { AppError } from '../../shared/errors.js';
import type { Tag } from '../../shared/tags.js';
import { mergeTags, SSO_TAG_LIMIT } from '../shared/tags.js';

export interface TagState {
  tags: readonly Tag[];
  revision: number;
}

export interface TagStore<T> {
  read(): Promise<TagState | null>;
  /** Writes `tags` if the revision is still `revision` (and bumps it); null when it moved or the document is gone. */
  write(revision: number, tags: Tag[]): Promise<T | null>;
  notFound(): AppError;
}

const ATTEMPTS = 8;

async function changeTags<T>(store: TagStore<T>, change: (current: readonly Tag[]) => Tag[]): Promise<T> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const current = await store.read();
    if (!current) throw store.notFound();
    const next = change(current.tags);
    const written = await store.write(current.revision, next);
    if (written) return written;
  }
  throw new AppError('CONFLICT', 'the tags were changed concurrently; try again');
}

/** Adds tags, replacing the value of keys already present; at most 20 in all (reference §1). */
export function addTags<T>(store: TagStore<T>, added: readonly Tag[]): Promise<T> {
  return changeTags(store, (current) => {
    const merged = mergeTags(current, added);
    if (merged.length > SSO_TAG_LIMIT) {
      throw new AppError('VALIDATION_FAILED', `a resource holds at most ${SSO_TAG_LIMIT} tags (it would have ${merged.length})`, {
        fieldErrors: [{ field: 'body.tags', message: `at most ${SSO_TAG_LIMIT} tags per resource` }],
      });
    }
    return merged;
  });
}

/** Removes the tags with these keys (absent keys are ignored: removal is idempotent). */
export function removeTags<T>(store: TagStore<T>, keys: readonly string[]): Promise<T> {
  const drop = new Set(keys);
  return changeTags(store, (current) => current.filter((t) => !drop.has(t.key)).map((t) => ({ key: t.key, value: t.value })));
}
