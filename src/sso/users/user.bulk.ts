/**
 * Bulk create and bulk delete of SSO users (reference/ncloud-model.md §1: "Bulk create and bulk
 * delete exist" [R3]), at most 100 rows per call, with one result per row:
 * `{ index, loginId, userId }` or `{ index, loginId, error: { errorCode, message, fieldErrors } }`.
 *
 * Every row is authorized on its own by the route (src/http/admin-route.ts `items`): a create row
 * with its own tags as `ncp:requestTag`, a delete row on its user's NRN with that user's tags as
 * `ncp:resourceTag`. One row's failure (denied, invalid, duplicate, over the user limit, unknown)
 * never stops another; no row is half-written (each is one insert or one delete).
 *
 * Rows are written in order, so of two rows with the same login id the first wins; passwords are
 * hashed beforehand a few at a time (argon2id runs on libuv's pool of four threads).
 */
import type { z } from 'zod';
import { AppError, type ErrorCode, type FieldError } from '../../shared/errors.js';
import { ssoNrn } from '../tenant/tenant-context.js';
import { SsoUser } from './user.model.js';
import { createUserBody, type CreateUserInput } from './user.schemas.js';
import { deleteUser, hashAdminSetPassword, insertUser, newUserDocument, type UserTenant } from './user.service.js';

export interface RowError {
  errorCode: ErrorCode;
  message: string;
  detail: string | null;
  fieldErrors: FieldError[];
}

export interface BulkCreateRow {
  index: number;
  loginId: string | null;
  userId?: string;
  nrn?: string;
  error?: RowError;
}

export interface BulkDeleteRow {
  index: number;
  userId: string;
  loginId: string | null;
  deleted: boolean;
  error?: RowError;
}

export interface BulkResult<R> {
  succeeded: number;
  failed: number;
  results: R[];
}

/** Records a row's outcome in the audit trail (the route's `auditItem`). */
export type RowAudit = (nrn: string, result: 'success' | 'failed', errorCode?: string | null) => Promise<void>;

const HASH_CONCURRENCY = 4;

function rowError(err: unknown): RowError {
  if (err instanceof AppError) return { errorCode: err.code, message: err.message, detail: err.detail ?? null, fieldErrors: err.fieldErrors };
  throw err;
}

const forbidden = (action: string, nrn: string): RowError => {
  const e = new AppError('FORBIDDEN', `${action} is not allowed on ${nrn}`);
  return rowError(e);
};

/** A row as the create schema reads it; field errors are named `body.users.{index}.{path}`. */
export function parseCreateRow(row: unknown, index: number): { ok: true; input: CreateUserInput } | { ok: false; error: RowError } {
  const res = createUserBody.safeParse(row);
  if (res.success) return { ok: true, input: res.data };
  return { ok: false, error: rowError(validationError(res.error, index)) };
}

function validationError(error: z.ZodError, index: number): AppError {
  return new AppError('VALIDATION_FAILED', `row ${index} is not valid`, {
    fieldErrors: error.issues.map((i) => ({ field: ['body', 'users', String(index), ...i.path.map(String)].join('.'), message: i.message })),
  });
}

function loginIdOf(row: unknown): string | null {
  if (row && typeof row === 'object' && 'loginId' in row) {
    const v = (row as { loginId: unknown }).loginId;
    if (typeof v === 'string') return v.slice(0, 200);
  }
  return null;
}

async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Creates the allowed, valid rows. `allowed[i]` is the route's decision for row i; a denied row is
 * reported as 403 without its validation errors (authorization comes first, as on single routes).
 */
export async function bulkCreateUsers(tenant: UserTenant, rows: readonly unknown[], allowed: readonly boolean[], audit: RowAudit): Promise<BulkResult<BulkCreateRow>> {
  const action = 'SSO:Change/createUser';
  const parsed = rows.map((row, i) => parseCreateRow(row, i));
  // A password the tenant's policy refuses spoils its row only (400 on body.users.{i}.password).
  const hashes = await mapLimited(parsed, HASH_CONCURRENCY, async (p, i): Promise<{ hash: string | null } | { error: RowError }> => {
    if (allowed[i] !== true || !p.ok) return { hash: null };
    try {
      return { hash: await hashAdminSetPassword(tenant.tenantId, p.input, `body.users.${i}.password`) };
    } catch (err) {
      return { error: rowError(err) };
    }
  });
  const results: BulkCreateRow[] = [];
  for (const [index, p] of parsed.entries()) {
    const loginId = loginIdOf(rows[index]);
    if (allowed[index] !== true) {
      results.push({ index, loginId, error: forbidden(action, '*') });
      continue;
    }
    if (!p.ok) {
      results.push({ index, loginId, error: p.error });
      continue;
    }
    const hashed = hashes[index];
    if (hashed && 'error' in hashed) {
      results.push({ index, loginId, error: hashed.error });
      continue;
    }
    try {
      const view = await insertUser(tenant, newUserDocument(tenant, p.input, hashed?.hash ?? null));
      results.push({ index, loginId: view.loginId, userId: view.userId, nrn: view.nrn });
      await audit(view.nrn, 'success');
    } catch (err) {
      const error = rowError(err);
      results.push({ index, loginId, error });
      await audit('*', 'failed', error.errorCode);
    }
  }
  const succeeded = results.filter((r) => r.error === undefined).length;
  return { succeeded, failed: results.length - succeeded, results };
}

/** The users a bulk delete names, with their tags, for per-row authorization. */
export async function bulkDeleteTargets(tenantId: string | null, memberNo: number, userIds: readonly string[]): Promise<{ nrn: string; tags: { key: string; value: string }[] }[]> {
  const found = tenantId
    ? await SsoUser.find({ tenantId, userId: { $in: [...new Set(userIds)] } })
        .select('userId tags')
        .lean()
    : [];
  const tagsOf = new Map(found.map((u) => [u.userId, u.tags.map((t) => ({ key: t.key, value: t.value }))]));
  return userIds.map((id) => ({ nrn: ssoNrn(memberNo, 'User', id), tags: tagsOf.get(id) ?? [] }));
}

/** Deletes the allowed rows' users; an unknown (or already deleted) user is that row's 404. */
export async function bulkDeleteUsers(tenant: UserTenant, userIds: readonly string[], allowed: readonly boolean[], audit: RowAudit): Promise<BulkResult<BulkDeleteRow>> {
  const action = 'SSO:Change/deleteUser';
  const results: BulkDeleteRow[] = [];
  for (const [index, userId] of userIds.entries()) {
    const nrn = ssoNrn(tenant.accountId, 'User', userId);
    if (allowed[index] !== true) {
      results.push({ index, userId, loginId: null, deleted: false, error: forbidden(action, nrn) });
      continue;
    }
    try {
      const d = await deleteUser(tenant, userId);
      results.push({ index, userId, loginId: d.loginId, deleted: true });
      await audit(nrn, 'success');
    } catch (err) {
      const error = rowError(err);
      results.push({ index, userId, loginId: null, deleted: false, error });
      await audit(nrn, 'failed', error.errorCode);
    }
  }
  const succeeded = results.filter((r) => r.deleted).length;
  return { succeeded, failed: results.length - succeeded, results };
}
