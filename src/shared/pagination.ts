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
