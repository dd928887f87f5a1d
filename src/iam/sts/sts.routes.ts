/**
 * STS temporary credentials, mounted at /api/v1/sts (reference/ncloud-model.md §3 "STS";
 * seed S1: `View/getStsSessionToken`, resource type "-", so it is authorized against `*`).
 */
import { defineRoute, type AdminRouteSpec } from '../../http/admin-route.js';
import { toAppError } from '../../http/errors.js';
import { buildSubAccountNrn } from '../nrn.js';
import { actorOf } from '../principal.js';
import { recordHistory } from '../../resources/history/history.service.js';
import { stsCredentialsBody } from './sts.schemas.js';
import { issueStsCredentials } from './sts.service.js';

const ACTION = 'SubAccount:View/getStsSessionToken';

export const stsRoutes: AdminRouteSpec[] = [
  defineRoute({
    method: 'post',
    path: '/credentials',
    action: ACTION,
    summary: 'Issue STS temporary credentials to the calling sub account (optionally MFA-backed); the secret is returned once',
    body: stsCredentialsBody,
    handler: async ({ principal, accountId, body, deps, sourceIp, requestId }) => {
      // The action is a View (S1), so the pipeline writes no audit event; issuing credentials
      // (and every refused MFA code) is still worth one (ARCHITECTURE.md "every admin mutation").
      const nrn = principal.kind === 'SubAccount' ? buildSubAccountNrn(accountId, principal.subAccountId) : '*';
      const audit = (result: 'success' | 'failed', errorCode: string | null) =>
        recordHistory({ accountId, action: ACTION, nrn, result, errorCode, actor: actorOf(principal), sourceIp, requestId }, deps.logger);
      try {
        const issued = await issueStsCredentials(principal, body, deps);
        await audit('success', null);
        return issued;
      } catch (err) {
        await audit('failed', toAppError(err)?.code ?? 'INTERNAL');
        throw err;
      }
    },
  }),
];
