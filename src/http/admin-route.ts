/**
 * Admin REST routes, declared as data (ARCHITECTURE.md "Request flows"): each route names the
 * one catalog action it needs, how to find the resource it acts on (NRN and tags), and the zod
 * schemas of its input. One pipeline runs them all:
 *   authenticate (before this) → validate path and query → resolve resource → authorize with the
 *   policy engine (403 and an audit event on denial) → report body errors (400) → handler (a thin
 *   call into a service) →
 *   audit event for every Change action → JSON response.
 * Tests walk the same specs (`adminRouteSpecs`) to prove no route is ungated or gated by the
 * wrong action.
 */
import { Router, type Request, type RequestHandler } from 'express';
import type { ZodType } from 'zod';
import type { Config } from '../config.js';
import type { Notifier } from '../notifications/notifier.js';
import type { Keyring } from '../db/encryption.js';
import type { Authorizer } from '../iam/authz/authorizer.js';
import type { ChangeStamps } from '../iam/change-stamps.js';
import { actorOf, type AdminPrincipal } from '../iam/principal.js';
import { catalog, type ContextValue } from '../policy/index.js';
import { recordHistory } from '../resources/history/history.service.js';
import { AppError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { requestTagContext, resourceTagContext, type Tag } from '../shared/tags.js';
import { clientIp } from './client-ip.js';
import { toAppError } from './errors.js';

export interface AdminDeps {
  config: Config;
  logger: Logger;
  keyring: Keyring;
  authorizer: Authorizer;
  stamps: ChangeStamps;
  /** How messages reach people (one-time codes, password links, expiry notices). */
  notifier: Notifier;
}

export interface ResourceRef<E = unknown> {
  /** The NRN authorized against; `*` for actions without a resource type. */
  nrn: string;
  /** The resource's tags (`ncp:resourceTag/…`), when it exists. */
  tags?: readonly Tag[];
  /** The loaded resource, handed to the handler (undefined when it does not exist: the handler answers 404 after authorization). */
  entity?: E;
}

export interface AdminContext<P, Q, B, E> {
  principal: AdminPrincipal;
  accountId: number;
  params: P;
  query: Q;
  body: B;
  resource: ResourceRef<E>;
  deps: AdminDeps;
  sourceIp: string;
  requestId: string;
  /** The raw request, for the few routes that set cookies (console session routes). */
  req: Request;
  /** Batch routes only (`spec.items`): whether each item was allowed, in the order `items` listed them. */
  itemsAllowed: readonly boolean[];
  /** Batch routes only: records the audit event of one item the handler changed or failed to change. */
  auditItem: (nrn: string, result: 'success' | 'failed', errorCode?: string | null) => Promise<void>;
}

/** One item of a batch route, authorized on its own (see `AdminRouteSpec.items`). */
export interface BatchItemRef {
  nrn: string;
  /** The item's current tags (`ncp:resourceTag/…`), when it exists. */
  tags?: readonly Tag[] | undefined;
  /** The tags the item would be created with (`ncp:requestTag/…`, `ncp:TagKeys`). */
  requestTags?: readonly Tag[] | undefined;
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface AdminRouteSpec<P = unknown, Q = unknown, B = unknown, E = unknown, R = unknown> {
  method: Method;
  /** Path relative to the product prefix, express syntax (`/sub-accounts/:subAccountId`). */
  path: string;
  /** Qualified catalog action, exactly as documented (`SubAccount:Change/createSubAccount`). */
  action: string;
  summary: string;
  params?: ZodType<P>;
  query?: ZodType<Q>;
  body?: ZodType<B>;
  resource?: (input: { principal: AdminPrincipal; accountId: number; params: P; query: Q; body: B }) => Promise<ResourceRef<E>> | ResourceRef<E>;
  /** Tags the request sets on the resource (`ncp:requestTag/…`, `ncp:TagKeys`). */
  requestTags?: (body: B) => readonly Tag[] | undefined;
  /**
   * Batch routes (bulk create, bulk delete): the items the call acts on, each authorized on its own
   * with the route's action, NRN, tags and request tags, so a tag condition applies per item and
   * one item cannot carry another through. Denied items are audited; the call is refused (403)
   * when no item is allowed, so a caller without the action is refused as on any route. The
   * handler reports per-item results and audits each item it changed (`ctx.auditItem`) instead of
   * one call-level event. A body that does not validate is authorized once against `resource`.
   */
  items?: (input: { principal: AdminPrincipal; accountId: number; params: P; query: Q; body: B }) => Promise<readonly BatchItemRef[]>;
  /** Refuse while switched into a role (Sub Account: role management is blocked until "return to sub account"). */
  refuseRoleSession?: boolean;
  handler: (ctx: AdminContext<P, Q, B, E>) => Promise<R>;
  /** Success status; 204 sends no body. */
  status?: 200 | 201 | 202 | 204;
}

/** Declares a route with its types inferred from the schemas. */
export function defineRoute<P = Record<string, never>, Q = Record<string, never>, B = undefined, E = undefined, R = unknown>(
  spec: AdminRouteSpec<P, Q, B, E, R>,
): AdminRouteSpec {
  if (catalog.find(spec.action).length === 0) throw new Error(`defineRoute: ${spec.action} is not a catalog action`);
  return spec as unknown as AdminRouteSpec;
}

/** The NRN of what a handler returned (`{ nrn }` or one level down, e.g. `{ subAccount: { nrn } }`). */
function createdNrn(result: unknown): string | undefined {
  if (!result || typeof result !== 'object') return undefined;
  const r = result as Record<string, unknown>;
  if (typeof r.nrn === 'string') return r.nrn;
  for (const v of Object.values(r)) {
    if (v && typeof v === 'object' && typeof (v as Record<string, unknown>).nrn === 'string') return (v as Record<string, string>).nrn;
  }
  return undefined;
}

function isChange(action: string): boolean {
  return /:change\//i.test(action);
}

function parse<T>(schema: ZodType<T> | undefined, value: unknown, where: string): T {
  if (!schema) return (where === 'body' ? undefined : {}) as T;
  const res = schema.safeParse(value ?? {});
  if (res.success) return res.data;
  throw new AppError('VALIDATION_FAILED', `the ${where} is not valid`, {
    fieldErrors: res.error.issues.map((i) => ({ field: [where, ...i.path.map(String)].join('.'), message: i.message })),
  });
}

export function requestContext(principal: AdminPrincipal, sourceIp: string): Record<string, ContextValue> {
  return {
    'ncp:SourceIp': sourceIp,
    'ncp:CurrentTime': new Date().toISOString(),
    'ncp:MultiFactorAuthPresent': principal.mfa,
  };
}

function runRoute(spec: AdminRouteSpec, deps: AdminDeps): RequestHandler {
  return (req, res, next) => {
    (async () => {
      const principal = req.principal;
      if (!principal) throw new AppError('UNAUTHENTICATED');
      const accountId = principal.accountId;
      const sourceIp = clientIp(req);
      const requestId = String(req.id);
      const params = parse(spec.params, req.params, 'params');
      const query = parse(spec.query, req.query, 'query');
      // The body is checked now but its errors are reported only after authorization: a caller
      // who may not perform the action learns nothing about its input rules. A body that does not
      // validate contributes no request tags (and is refused right after authorization).
      let body: unknown;
      let bodyError: unknown;
      try {
        body = parse(spec.body, req.body, 'body');
      } catch (err) {
        bodyError = err;
      }
      const resource: ResourceRef = spec.resource ? await spec.resource({ principal, accountId, params, query, body }) : { nrn: '*' };
      const context: Record<string, ContextValue | null | undefined> = {
        ...requestContext(principal, sourceIp),
        ...resourceTagContext(resource.tags),
        ...(bodyError === undefined ? requestTagContext(spec.requestTags?.(body)) : {}),
      };
      const actor = actorOf(principal);
      const auditNrn = (nrn: string, result: 'success' | 'denied' | 'failed', errorCode: string | null, decisive: unknown[] = []) =>
        recordHistory({ accountId, action: spec.action, nrn, result, errorCode, actor, sourceIp, requestId, decisive }, deps.logger);
      const audit = (result: 'success' | 'denied' | 'failed', errorCode: string | null, decisive: unknown[] = []) =>
        auditNrn(resource.nrn, result, errorCode, decisive);

      const itemsAllowed: boolean[] = [];
      const itemsOf = bodyError === undefined ? spec.items : undefined;
      const batch = itemsOf !== undefined;
      if (itemsOf) {
        for (const item of await itemsOf({ principal, accountId, params, query, body })) {
          const itemContext = { ...requestContext(principal, sourceIp), ...resourceTagContext(item.tags), ...requestTagContext(item.requestTags) };
          const d = await deps.authorizer.decide(principal, { action: spec.action, resource: item.nrn, context: itemContext });
          itemsAllowed.push(d.decision === 'Allow');
          if (d.decision !== 'Allow') await auditNrn(item.nrn, 'denied', 'FORBIDDEN', [...d.decisive]);
        }
        if (!itemsAllowed.includes(true)) {
          req.log.info({ action: spec.action, items: itemsAllowed.length }, 'admin batch call denied for every item');
          throw new AppError('FORBIDDEN', `${spec.action} is not allowed on any of the items`);
        }
      } else {
        const decision = await deps.authorizer.decide(principal, { action: spec.action, resource: resource.nrn, context });
        if (decision.decision !== 'Allow') {
          // The decisive statements go to the log and the audit trail, never to the caller.
          req.log.info({ action: spec.action, nrn: resource.nrn, reason: decision.reason, decisive: decision.decisive }, 'admin call denied');
          await audit('denied', 'FORBIDDEN', [...decision.decisive]);
          throw new AppError('FORBIDDEN', `${spec.action} is not allowed on ${resource.nrn}`);
        }
      }
      if (bodyError !== undefined) throw bodyError;
      if (spec.refuseRoleSession && principal.kind === 'Role') {
        throw new AppError('FORBIDDEN', 'role management is not available while switched into a role; return to the sub account first');
      }
      let result: unknown;
      try {
        const auditItem = (nrn: string, result: 'success' | 'failed', errorCode: string | null = null) => auditNrn(nrn, result, errorCode);
        result = await spec.handler({ principal, accountId, params, query, body, resource, deps, sourceIp, requestId, req, itemsAllowed, auditItem });
      } catch (err) {
        if (isChange(spec.action)) await audit('failed', toAppError(err)?.code ?? 'INTERNAL');
        throw err;
      }
      if (isChange(spec.action) && !batch) {
        // A create has no resource before it runs: the audit event names what it made.
        const made = resource.nrn === '*' ? createdNrn(result) : undefined;
        await recordHistory(
          { accountId, action: spec.action, nrn: made ?? resource.nrn, result: 'success', errorCode: null, actor, sourceIp, requestId },
          deps.logger,
        );
      }
      const status = spec.status ?? 200;
      // A handler that wrote a non-JSON answer itself (the SP metadata XML) has already responded.
      if (res.headersSent) return;
      if (status === 204 || result === undefined) res.status(204).end();
      else res.status(status).json(result);
    })().catch(next);
  };
}

/** Mounts route specs on a router (the caller puts authenticate() in front). */
export function adminRouter(specs: readonly AdminRouteSpec[], deps: AdminDeps): Router {
  const router = Router();
  for (const spec of specs) router[spec.method](spec.path, runRoute(spec, deps));
  return router;
}
