/**
 * Paging as Ncloud's v2 APIs do it (reference/ncloud-model.md §5): `pageNo` (0-based, 0-1e6),
 * `pageSize` (1-100, default 20), and `totalElements` in the answer.
 */
import { z } from 'zod';

export const pageQuery = z.object({
  pageNo: z.coerce.number().int().min(0).max(1_000_000).default(0),
  pageSize: z.coerce.number().int().min(1).max(100).default(20),
});

export type PageQuery = z.infer<typeof pageQuery>;

export interface Page<T> {
  pageNo: number;
  pageSize: number;
  totalElements: number;
  items: T[];
}

export function page<T>(items: T[], totalElements: number, q: PageQuery): Page<T> {
  return { pageNo: q.pageNo, pageSize: q.pageSize, totalElements, items };
}

/** A query that can be paged: a mongoose find query (already sorted and lean) fits. */
interface PageableQuery<T> {
  skip(n: number): { limit(n: number): PromiseLike<T[]> };
}

/**
 * One page of a sorted find plus the total count, both in parallel, mapped to views. Every list
 * route pages the same way: `pageOf(Model.find(f).sort(s).lean<T[]>(), Model.countDocuments(f), q, toView)`.
 */
export async function pageOf<T, V>(
  find: PageableQuery<T>,
  count: PromiseLike<number>,
  q: PageQuery,
  view: (item: T) => V,
): Promise<Page<V>> {
  const [items, total] = await Promise.all([find.skip(q.pageNo * q.pageSize).limit(q.pageSize), count]);
  return page(items.map(view), total, q);
}
