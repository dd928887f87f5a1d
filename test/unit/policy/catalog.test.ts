/**
 * The catalog: documented counts, names kept as written, the self-test of related actions, reachability of every
 * action by exact name (any case), by View* or Change* and by *, authoring help, and the system-managed policies.
 */
import { expect } from 'chai';
import {
  buildNrn,
  catalog,
  catalogSelfTest,
  compile,
  evaluate,
  findManagedPolicy,
  managedPolicies,
  validatePolicyDocument,
  withRelatedActions,
  type CatalogAction,
  type PolicyInput,
} from '../../../src/policy/index.js';

const principal = { type: 'SubAccount', id: 'alice' } as const;

/** The unresolved references of the seeds and what each maps to (also listed in docs/policy.md). */
export const EXPECTED_UNRESOLVED = [
  ['SSO', 'change/untagIPACL', 'view/getAIPACLList', 'View/getIPACLList'],
  ['SubAccount', 'Change/resetSubAccountMFA', 'getSubAccountList', 'View/getSubAccountList'],
  ['SubAccount', 'Change/resetSubAccountMFA', 'getSubAccountDetail', 'View/getSubAccountDetail'],
  ['ResourceManager', 'Change/updateObserver', 'get/observerList', 'View/getObserverList'],
  ['ResourceManager', 'Change/updateObserver', 'get/ObserverDetail', 'View/getObserverDetail'],
  ['ResourceManager', 'Change/updateObserver', 'get/RecipientDetail', 'view/getRecipientList'],
  ['ResourceManager', 'Change/updateObserver', 'get/actionList', 'view/getActionList'],
  ['ResourceManager', 'Change/updateObserver', 'get/actionDetail', 'view/getActionDetail'],
] as const;

describe('policy catalog: contents', () => {
  it('holds 50 Sub Account, 21 Resource Manager and 86 SSO rows (84 distinct SSO names)', () => {
    expect(catalog.byProduct('SubAccount')).to.have.length(50);
    expect(catalog.byProduct('ResourceManager')).to.have.length(21);
    expect(catalog.byProduct('SSO')).to.have.length(86);
    expect(new Set(catalog.byProduct('SSO').map((a) => a.name.toLowerCase())).size).to.equal(84);
    expect(catalog.actions).to.have.length(157);
    expect(catalogSelfTest().counts).to.deep.equal({
      SSO: { rows: 86, distinctNames: 84 },
      SubAccount: { rows: 50, distinctNames: 50 },
      ResourceManager: { rows: 21, distinctNames: 21 },
    });
  });
  it('keeps both rows of addUserToGroup and removeUserFromGroup, by resource type', () => {
    for (const name of ['change/addUserToGroup', 'change/removeUserFromGroup']) {
      const rows = catalog.find(`SSO:${name}`);
      expect(rows.map((r) => r.resourceTypes[0])).to.deep.equal(['User', 'Group']);
      expect(rows[0]?.related).to.include('change/updateUser');
      expect(rows[1]?.related).to.include('change/updateGroup');
      expect(catalog.find('sso', name.toUpperCase())).to.have.length(2);
    }
  });
  it('keeps documented names exactly, typos included', () => {
    expect(catalog.find('SubAccount:Change/attachRoleToAccont').map((a) => a.name)).to.deep.equal(['Change/attachRoleToAccont']);
    expect(catalog.find('SubAccount:Change/detachRoleFromAccont')).to.have.length(1);
    expect(catalog.find('SubAccount:Change/attachRoleToAccount')).to.have.length(0);
    expect(catalog.find('SSO:view/getApplicationList')[0]?.name).to.equal('view/getApplicationList');
    expect(catalog.find('SSO:View/getIPACLList')[0]?.name).to.equal('View/getIPACLList');
  });
  it('returns nothing for unknown products and names', () => {
    expect(catalog.find('Server:View/getServerList')).to.deep.equal([]);
    expect(catalog.find('SSO:view/nothing')).to.deep.equal([]);
    expect(catalog.find('no-colon')).to.deep.equal([]);
  });
  it('derives condition keys: S1 rows get principal and global keys only', () => {
    const s1 = catalog.find('SubAccount:Change/updateGroup')[0] as CatalogAction;
    expect(s1.conditionKeys).to.include.members([
      'ncp:principalId',
      'ncp:principalTag/*',
      'ncp:SourceIp',
      'ncp:CurrentTime',
      'ncp:MultiFactorAuthPresent',
    ]);
    expect(s1.conditionKeys).to.not.include('ncp:resourceTag/*');
    const create = catalog.find('SSO:change/createUser')[0] as CatalogAction;
    expect(create.conditionKeys).to.include.members(['ncp:resourceTag/*', 'ncp:requestTag/*', 'ncp:TagKeys']);
    const list = catalog.find('SSO:view/getUserList')[0] as CatalogAction;
    expect(list.conditionKeys).to.not.include('ncp:resourceTag/*');
    expect(list.resourceless).to.equal(true);
  });
  it('spells NRN resource types without spaces', () => {
    expect(catalog.find('SSO:change/updatePermissionSet')[0]?.nrnResourceTypes).to.deep.equal(['PermissionSet']);
    expect(catalog.find('SSO:Change/updateIPACL')[0]?.nrnResourceTypes).to.deep.equal(['IPACL']);
    expect(catalog.find('SubAccount:Change/addSubAccountToGroup')[0]?.resourceTypes).to.deep.equal(['Group', 'SubAccount']);
  });
});

describe('policy catalog: self-test of related actions', () => {
  const st = catalogSelfTest();
  it('reports no problem', () => {
    expect(st.problems).to.deep.equal([]);
  });
  it('reports exactly the unresolved references of the seeds, each mapped', () => {
    expect(st.unresolved.map((u) => [u.product, u.action, u.reference, u.mapsTo])).to.deep.equal(EXPECTED_UNRESOLVED.map((r) => [...r]));
  });
  it('resolves every related action of every row', () => {
    for (const a of catalog.actions) {
      expect(a.relatedResolved.length, a.qualifiedName).to.equal(new Set(a.related.map((r) => r.toLowerCase())).size);
      for (const r of a.relatedResolved) expect(catalog.find(a.product, r), `${a.qualifiedName} → ${r}`).to.have.length.greaterThan(0);
    }
  });
});

function setOf(product: string, actions: string[]): ReturnType<typeof compile> {
  const input: PolicyInput = {
    id: 'p',
    name: 'p',
    kind: 'user',
    document: { permissions: [{ effect: 'Allow', targets: [{ product, actions, resourceNrns: ['*'] }] }] },
  };
  return compile([input], { principal });
}

function resourceFor(a: CatalogAction): string {
  if (a.resourceless) return '*';
  const t = a.nrnResourceTypes[0] ?? 'x';
  const [product, type] = t.includes(':') ? (t.split(':') as [string, string]) : [a.product, t];
  return buildNrn({ product, memberNo: 1000001, resourceType: type, resourceId: 'r-1' });
}

describe('policy catalog: every action is reachable by exact name, by View* or Change* and by *', () => {
  const star = (['SSO', 'SubAccount', 'ResourceManager'] as const).map((p) => [p, setOf(p, ['*'])] as const);
  const byType = (['SSO', 'SubAccount', 'ResourceManager'] as const).flatMap((p) => [
    [`${p}:View`, setOf(p, ['View*'])] as const,
    [`${p}:Change`, setOf(p, ['Change*'])] as const,
  ]);
  for (const a of catalog.actions) {
    it(`${a.qualifiedName}${a.resourceTypes.length > 1 || a.name.includes('UserToGroup') || a.name.includes('UserFromGroup') ? ` (${a.resourceTypes.join(', ')})` : ''}`, () => {
      const req = (action: string) => ({ principal, action, resource: resourceFor(a) });
      for (const spelling of [a.name, a.name.toLowerCase(), a.name.toUpperCase()]) {
        expect(evaluate(setOf(a.product, [spelling]), req(a.qualifiedName)).decision, `exact ${spelling}`).to.equal('Allow');
      }
      expect(evaluate(setOf(a.product, [a.name]), req(`${a.product}:${a.name.toUpperCase()}`)).decision, 'request in upper case').to.equal(
        'Allow',
      );
      const sameType = byType.find(([k]) => k === `${a.product}:${a.type}`)?.[1];
      const otherType = byType.find(([k]) => k === `${a.product}:${a.type === 'View' ? 'Change' : 'View'}`)?.[1];
      if (!sameType || !otherType) throw new Error('missing type set');
      expect(evaluate(sameType, req(a.qualifiedName)).decision, `${a.type}*`).to.equal('Allow');
      expect(evaluate(otherType, req(a.qualifiedName)).decision, 'the other type').to.equal('Deny');
      const all = star.find(([p]) => p === a.product)?.[1];
      if (!all) throw new Error('missing * set');
      expect(evaluate(all, req(a.qualifiedName)).decision, '*').to.equal('Allow');
      for (const [p, s] of star) if (p !== a.product) expect(evaluate(s, req(a.qualifiedName)).decision, `* of ${p}`).to.equal('Deny');
    });
  }
});

describe('policy catalog: withRelatedActions', () => {
  it('adds the related actions of qualified names, after the inputs', () => {
    expect(withRelatedActions(['SSO:change/updateUser'])).to.deep.equal([
      'SSO:change/updateUser',
      'SSO:view/getUserList',
      'SSO:view/getUserDetail',
    ]);
  });
  it('takes unqualified names with a product', () => {
    expect(withRelatedActions(['View/getGroupDetail'], 'SubAccount')).to.deep.equal(['View/getGroupDetail', 'View/getGroupList']);
  });
  it('unites the related actions of the twin rows', () => {
    const out = withRelatedActions(['change/addUserToGroup'], 'SSO');
    expect(out).to.include.members(['change/updateUser', 'change/updateGroup', 'view/getGroupDetail']);
  });
  it('applies the mapping of unresolved references', () => {
    expect(withRelatedActions(['change/untagIPACL'], 'SSO')).to.deep.equal([
      'change/untagIPACL',
      'View/getIPACLList',
      'View/getIPACLDetail',
    ]);
    expect(withRelatedActions(['ResourceManager:Change/updateObserver'])).to.include.members([
      'ResourceManager:View/getObserverList',
      'ResourceManager:view/getRecipientList',
    ]);
  });
  it('is one level deep, deduplicates case-insensitively and passes wildcards and unknown names through', () => {
    // getUserDetail → getUserList, whose own related action (getTenantDetail) is not added.
    expect(withRelatedActions(['SSO:view/getUserDetail'])).to.deep.equal(['SSO:view/getUserDetail', 'SSO:view/getUserList']);
    expect(withRelatedActions(['SSO:view/getUserDetail', 'SSO:VIEW/GETUSERLIST'])).to.deep.equal([
      'SSO:view/getUserDetail',
      'SSO:VIEW/GETUSERLIST',
      'SSO:view/getTenantDetail',
    ]);
    expect(withRelatedActions(['View*', 'nope'], 'SSO')).to.deep.equal(['View*', 'nope']);
  });
  it('is never used by evaluation: a related action is not granted', () => {
    const set = setOf('SSO', ['change/updateUser']);
    expect(evaluate(set, { principal, action: 'SSO:view/getUserList', resource: '*' }).decision).to.equal('Deny');
  });
});

describe('policy catalog: system-managed policies', () => {
  const NAMES = [
    'NCP_ADMINISTRATOR',
    'NCP_INFRA_MANAGER',
    'NCP_FINANCE_MANAGER',
    'NCP_SINGLE_SIGN_ON_MANAGER',
    'NCP_SINGLE_SIGN_ON_VIEWER',
    'NCP_SUB_ACCOUNT_MANAGER',
    'NCP_SUB_ACCOUNT_VIEWER',
    'NCP_RESOURCE_MANAGER_MANAGER',
    'NCP_RESOURCE_MANAGER_VIEWER',
  ];
  it('are the nine documented names with stable, unique UUIDs', () => {
    expect(managedPolicies.map((p) => p.name)).to.deep.equal(NAMES);
    expect(new Set(managedPolicies.map((p) => p.id)).size).to.equal(9);
    for (const p of managedPolicies) expect(p.id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    // Permission sets store these ids (§1): they must never change.
    expect(findManagedPolicy('NCP_ADMINISTRATOR')?.id).to.equal('e691f412-4d4e-4573-b7cd-1e646141d034');
    expect(findManagedPolicy('559afb16-6b0c-4315-89db-7cabdebb7165')?.name).to.equal('NCP_SINGLE_SIGN_ON_VIEWER');
    expect(findManagedPolicy('ncp_administrator')).to.equal(undefined);
  });
  it('have valid documents (FINANCE grants nothing, so it is empty)', () => {
    for (const p of managedPolicies) {
      const v = validatePolicyDocument(p.document, { allowEmpty: true });
      expect(v.ok, p.name).to.equal(true);
      expect(p.document.permissions.length === 0, p.name).to.equal(p.name === 'NCP_FINANCE_MANAGER');
    }
  });
  it('are frozen', () => {
    const p = findManagedPolicy('NCP_SUB_ACCOUNT_VIEWER');
    expect(Object.isFrozen(p?.document)).to.equal(true);
    expect(Object.isFrozen(p?.document.permissions[0]?.targets[0]?.actions)).to.equal(true);
  });
  it('VIEWERs list every View action of their product except application sign-in and STS tokens', () => {
    for (const [name, product] of [
      ['NCP_SINGLE_SIGN_ON_VIEWER', 'SSO'],
      ['NCP_SUB_ACCOUNT_VIEWER', 'SubAccount'],
      ['NCP_RESOURCE_MANAGER_VIEWER', 'ResourceManager'],
    ] as const) {
      const actions = findManagedPolicy(name)?.document.permissions[0]?.targets[0]?.actions ?? [];
      const views = [
        ...new Set(
          catalog
            .byProduct(product)
            .filter((a) => a.type === 'View')
            .map((a) => a.name),
        ),
      ];
      const expected = views.filter((n) => n !== 'view/accessApplication' && n !== 'View/getStsSessionToken');
      expect([...actions].sort(), name).to.deep.equal(expected.sort());
    }
  });
});
