/**
 * Issue 5 "Done when": a table-driven walk of the whole Sub Account catalog. For every action
 * there is a route; for every route, a principal allowed every Sub Account action except the
 * route's own is refused (403, audited as a denial of exactly that action), and a principal
 * allowed only that action (plus its related actions) passes authorization. So no route is
 * ungated or gated by the wrong action.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import type { AdminRouteSpec } from '../../../src/http/admin-route.js';
import { AdminGroup } from '../../../src/iam/groups/admin-group.model.js';
import { Policy } from '../../../src/iam/policies/policy.model.js';
import { Role } from '../../../src/iam/roles/role.model.js';
import { STS_API_PREFIX, SUBACCOUNT_API_PREFIX, stsRoutes, subAccountApiRoutes } from '../../../src/iam/routes.js';
import { catalog, withRelatedActions } from '../../../src/policy/index.js';
import { HistoryEvent } from '../../../src/resources/history/history-event.model.js';
import { testApp } from '../../helpers/app.js';
import { ACCOUNT, allow, subAccountSigner } from '../../helpers/admin.js';
import { useTestDatabase } from '../../helpers/db.js';

const routes: { prefix: string; spec: AdminRouteSpec }[] = [
  ...subAccountApiRoutes.map((spec) => ({ prefix: SUBACCOUNT_API_PREFIX, spec })),
  ...stsRoutes.map((spec) => ({ prefix: STS_API_PREFIX, spec })),
];

const subAccountActions = catalog.byProduct('SubAccount').map((a) => a.qualifiedName);
const unqualified = (q: string) => q.slice(q.indexOf(':') + 1);

describe('Sub Account catalog walk: every action has a route, every route is gated by exactly its action', function () {
  this.timeout(120_000);
  useTestDatabase('catalogwalk');
  const app = testApp({ db: { ping: async () => true } });
  const ids: Record<string, string> = {};

  before(async () => {
    const target = await subAccountSigner(app, []);
    ids.subAccountId = target.subAccountId;
    ids.accessKey = target.accessKey;
    ids.groupId = randomUUID();
    await AdminGroup.create({ accountId: ACCOUNT, groupId: ids.groupId, name: 'walkers', nameKey: 'walkers' });
    ids.policyId = randomUUID();
    await Policy.create({ accountId: ACCOUNT, policyId: ids.policyId, name: 'walkpolicy', nameKey: 'walkpolicy', document: { permissions: [] } });
    ids.memberNo = String(ACCOUNT);
    ids.serverNrn = `nrn:PUB:VPCServer:KR:${ACCOUNT}:Server/1`;
    ids.roleId = randomUUID();
    await Role.create({ accountId: ACCOUNT, roleId: ids.roleId, roleName: 'walkrole', roleNameKey: 'walkrole', roleType: 'Account', targetAccounts: [ACCOUNT] });
  });

  it('has a route for every Sub Account action of seed S1', () => {
    const routed = new Set(routes.map((r) => r.spec.action.toLowerCase()));
    const missing = subAccountActions.filter((a) => !routed.has(a.toLowerCase()));
    expect(missing, 'actions without a route').to.deep.equal([]);
  });

  it('gates every route by a Sub Account catalog action', () => {
    for (const { spec } of routes) expect(catalog.find(spec.action), spec.action).to.have.length.greaterThan(0);
  });

  function pathOf(prefix: string, spec: AdminRouteSpec): string {
    return (
      prefix +
      spec.path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
        const v = ids[name];
        if (!v) throw new Error(`no fixture for :${name} in ${spec.path}`);
        return encodeURIComponent(v);
      })
    );
  }

  for (const { prefix, spec } of routes) {
    it(`${spec.method.toUpperCase()} ${prefix}${spec.path} ← ${spec.action}`, async () => {
      const path = pathOf(prefix, spec);
      const body = spec.method === 'get' || spec.method === 'delete' ? undefined : {};
      const action = unqualified(spec.action);

      // Everything of Sub Account except this action: refused, audited as a denial of it.
      const others = subAccountActions.filter((a) => a.toLowerCase() !== spec.action.toLowerCase()).map(unqualified);
      const allButIt = await subAccountSigner(app, [allow(others)]);
      const refused = await allButIt.call(spec.method, path, body);
      expect(refused.status, `${spec.action} without the action: ${JSON.stringify(refused.body)}`).to.equal(403);
      const denial = await HistoryEvent.findOne({ accountId: ACCOUNT, 'actor.id': allButIt.subAccountId, result: 'denied' }).lean();
      expect(denial?.action, 'the denial names the route’s action').to.equal(spec.action);

      // Only this action (plus its related actions): passes authorization.
      const onlyIt = await subAccountSigner(app, [allow(withRelatedActions([action], 'SubAccount'))]);
      const res = await onlyIt.call(spec.method, path, body);
      const denied = await HistoryEvent.countDocuments({ accountId: ACCOUNT, 'actor.id': onlyIt.subAccountId, result: 'denied' });
      expect(denied, `${spec.action} with the action was denied: ${res.status} ${JSON.stringify(res.body)}`).to.equal(0);
      expect(res.status).not.to.equal(401);
    });
  }
});
