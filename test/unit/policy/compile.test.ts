/**
 * Compilation, fingerprints, NRNs, request validation, explain details, and the fast path against explain mode and
 * against a reference glob on generated inputs.
 */
import { expect } from 'chai';
import { compileGlob, ONE, STAR, type GlobPart } from '../../../src/policy/glob.js';
import {
  buildNrn,
  compile,
  evaluate,
  fingerprintPolicies,
  parseNrn,
  PolicyCompileError,
  validateRequest,
  type PolicyInput,
  type Principal,
} from '../../../src/policy/index.js';
import { gatehouseInputs, makeWorkload, prng } from '../../../bench/policy/workload.js';

const alice: Principal = { type: 'SubAccount', id: 'alice' };
const doc = (actions: string[], resourceNrns = ['*']) => ({
  permissions: [{ effect: 'Allow', targets: [{ product: 'SSO', actions, resourceNrns }] }],
});
const input = (id: string, document: unknown): PolicyInput => ({ id, name: id, kind: 'user', document });

describe('policy compile', () => {
  it('throws PolicyCompileError with field errors for an invalid document', () => {
    try {
      compile([input('good', doc(['*'])), input('bad', { permissions: [{ effect: 'Maybe', targets: [] }] })]);
      expect.fail('compile accepted an invalid document');
    } catch (e) {
      expect(e).to.be.instanceOf(PolicyCompileError);
      const err = e as PolicyCompileError;
      expect(err.policyId).to.equal('bad');
      expect(err.fieldErrors.map((f) => f.field)).to.deep.equal(['permissions[0].effect', 'permissions[0].targets']);
    }
  });
  it('compiles no policies into a set that denies everything but the main account', () => {
    const set = compile([]);
    expect(evaluate(set, { principal: alice, action: 'SSO:view/getUserList', resource: '*' }).reason).to.equal('ImplicitDeny');
    expect(evaluate(set, { principal: { type: 'Root' }, action: 'SSO:view/getUserList', resource: '*' }).decision).to.equal('Allow');
  });
  it('reports its inputs', () => {
    const set = compile([input('a', doc(['*'])), input('b', { permissions: [...doc(['*']).permissions, ...doc(['View*']).permissions] })]);
    expect(set.statementCount).to.equal(3);
    expect(set.policies.map((p) => p.id)).to.deep.equal(['a', 'b']);
    expect(set.usesVariables).to.equal(false);
    expect(compile([input('v', doc(['*'], ['nrn:PUB:SSO::1:User/${ncp:principalId}']))]).usesVariables).to.equal(true);
  });
  it('returns prebuilt decision objects on the fast path (nothing is allocated per decision)', () => {
    const set = compile([input('a', doc(['view/getUserDetail']))]);
    const req = { principal: alice, action: 'SSO:view/getUserDetail', resource: 'nrn:PUB:SSO::1:User/u' };
    const a = evaluate(set, req);
    expect(evaluate(set, req)).to.equal(a);
    expect(Object.isFrozen(a) && Object.isFrozen(a.decisive)).to.equal(true);
    const deny = evaluate(set, { ...req, action: 'SSO:change/updateUser' });
    expect(evaluate(set, { ...req, action: 'SSO:change/deleteUser' })).to.equal(deny);
  });
  it('binds variables on first use when compiled without a principal', () => {
    const set = compile([input('v', doc(['change/updateUser'], ['nrn:PUB:SSO::1:User/${ncp:principalId}']))]);
    expect(set.principal).to.equal(undefined);
    expect(evaluate(set, { principal: alice, action: 'SSO:change/updateUser', resource: 'nrn:PUB:SSO::1:User/alice' }).decision).to.equal(
      'Allow',
    );
    expect(evaluate(set, { principal: alice, action: 'SSO:change/updateUser', resource: 'nrn:PUB:SSO::1:User/bob' }).decision).to.equal(
      'Deny',
    );
  });
  it('rebinds variables for another principal and reuses the binding', () => {
    const set = compile([input('v', doc(['change/updateUser'], ['nrn:PUB:SSO::1:User/${ncp:principalId}']))], { principal: alice });
    const bob: Principal = { type: 'SubAccount', id: 'bob' };
    expect(set.indexFor(alice)).to.equal(set.indexFor({ type: 'SubAccount', id: 'alice' }));
    expect(set.indexFor(bob)).to.not.equal(set.indexFor(alice));
    expect(set.indexFor(bob)).to.equal(set.indexFor(bob));
    expect(evaluate(set, { principal: bob, action: 'SSO:change/updateUser', resource: 'nrn:PUB:SSO::1:User/bob' }).decision).to.equal(
      'Allow',
    );
    expect(evaluate(set, { principal: alice, action: 'SSO:change/updateUser', resource: 'nrn:PUB:SSO::1:User/bob' }).decision).to.equal(
      'Deny',
    );
  });
});

describe('policy fingerprint', () => {
  const a = input('a', doc(['*']));
  const b = input('b', doc(['View*']));
  it('is stable for the same inputs and matches the compiled set', () => {
    expect(fingerprintPolicies([a, b])).to.equal(fingerprintPolicies([input('a', doc(['*'])), input('b', doc(['View*']))]));
    expect(compile([a, b]).fingerprint).to.equal(fingerprintPolicies([a, b]));
    expect(compile([a, b], { principal: alice }).fingerprint).to.equal(fingerprintPolicies([a, b], alice));
    expect(fingerprintPolicies([a, b])).to.match(/^[0-9a-f]{16}$/);
  });
  it('changes with a document, a policy id, the order, or the principal', () => {
    const base = fingerprintPolicies([a, b]);
    const changed = [
      fingerprintPolicies([a, input('b', doc(['Change*']))]),
      fingerprintPolicies([a, input('c', doc(['View*']))]),
      fingerprintPolicies([b, a]),
      fingerprintPolicies([a]),
      fingerprintPolicies([a, b], alice),
      fingerprintPolicies([a, b], { ...alice, tags: { team: 'red' } }),
    ];
    for (const f of changed) expect(f).to.not.equal(base);
    expect(new Set(changed).size).to.equal(changed.length);
  });
});

describe('policy NRN', () => {
  it('builds and parses the documented shape', () => {
    const nrn = buildNrn({ product: 'SSO', memberNo: 1234567, resourceType: 'User', resourceId: '0f8fad5b-d9cb-469f-a165-70867728950e' });
    expect(nrn).to.equal('nrn:PUB:SSO::1234567:User/0f8fad5b-d9cb-469f-a165-70867728950e');
    expect(parseNrn(nrn)).to.deep.equal({
      domain: 'PUB',
      product: 'SSO',
      region: '',
      memberNo: '1234567',
      resourceType: 'User',
      resourceId: '0f8fad5b-d9cb-469f-a165-70867728950e',
    });
    expect(parseNrn('nrn:PUB:Server:KR:2942:Serverimage/7449')?.region).to.equal('KR');
  });
  it('rejects what is not an NRN', () => {
    for (const s of [
      '*',
      'nrn:PUB:SSO::1:User',
      'nrn:PUB:SSO::1:User/',
      'nrn:PUB:SSO::1:/x',
      'arn:aws:iam::1:user/x',
      'nrn:PUB:SSO::1:User/a b',
      `nrn:PUB:SSO::1:User/${'x'.repeat(120)}`,
    ]) {
      expect(parseNrn(s), s).to.equal(undefined);
    }
    expect(() => buildNrn({ product: 'S S O', memberNo: 1, resourceType: 'User', resourceId: 'x' })).to.throw(TypeError);
    expect(() => buildNrn({ product: 'SSO', memberNo: 1, resourceType: 'User', resourceId: 'a b' })).to.throw(TypeError);
  });
});

describe('policy request validation', () => {
  const ok = {
    principal: { type: 'SubAccount', id: 'alice', tags: { team: 'red' } },
    action: 'SSO:Change/createUser',
    resource: '*',
    context: { 'ncp:resourcetag/env': 'prod', 'ncp:SourceIp': '203.0.113.7' },
  };
  it('accepts a request and spells context keys canonically', () => {
    const v = validateRequest(ok);
    expect(v.ok).to.equal(true);
    if (v.ok) expect(v.request.context).to.deep.equal({ 'ncp:resourceTag/env': 'prod', 'ncp:SourceIp': '203.0.113.7' });
  });
  const bad: [string, unknown, string[]][] = [
    ['not an object', 'x', ['request']],
    ['unknown fields', { ...ok, extra: 1, principal: { ...ok.principal, role: 'x' } }, ['extra', 'principal.role']],
    ['principal type', { ...ok, principal: { type: 'User' } }, ['principal.type']],
    ['principal tags', { ...ok, principal: { type: 'Role', tags: { a: 1 } } }, ['principal.tags.a']],
    ['unknown action', { ...ok, action: 'SSO:change/nothing' }, ['action']],
    ['unqualified action', { ...ok, action: 'change/createUser' }, ['action']],
    ['resource not an NRN', { ...ok, action: 'SSO:change/updateUser', resource: 'User/x' }, ['resource']],
    ['an NRN for an action without a resource type', { ...ok, resource: 'nrn:PUB:SSO::1:User/x' }, ['resource']],
    ['unknown context key', { ...ok, context: { 'ncp:userName': 'x' } }, ['context["ncp:userName"]']],
    ['principal property in the context', { ...ok, context: { 'ncp:principalId': 'x' } }, ['context["ncp:principalId"]']],
    ['bad source IP', { ...ok, context: { 'ncp:SourceIp': '10.0.0.0/8' } }, ['context["ncp:SourceIp"]']],
    ['bad time', { ...ok, context: { 'ncp:CurrentTime': '2026-01-01T00:00:00' } }, ['context["ncp:CurrentTime"]']],
    ['bad MFA flag', { ...ok, context: { 'ncp:MultiFactorAuthPresent': 'yes' } }, ['context["ncp:MultiFactorAuthPresent"]']],
    ['object value', { ...ok, context: { 'ncp:resourceTag/x': { a: 1 } } }, ['context["ncp:resourceTag/x"]']],
  ];
  for (const [name, req, fields] of bad) {
    it(`rejects: ${name}`, () => {
      const v = validateRequest(req);
      expect(v.ok).to.equal(false);
      if (!v.ok) expect(v.fieldErrors.map((e) => e.field)).to.deep.equal(fields);
    });
  }
});

describe('policy explain details', () => {
  const set = compile(
    [
      input('p', {
        permissions: [
          { effect: 'Allow', targets: [{ product: 'SSO', actions: ['change/updateUser'], resourceNrns: ['nrn:PUB:SSO::1:User/a-*'] }] },
          {
            effect: 'Allow',
            targets: [{ product: 'SSO', actions: ['change/updateUser'], resourceNrns: ['*'] }],
            condition: { StringEquals: { 'ncp:resourceTag/env': ['prod'] }, Bool: { 'ncp:MultiFactorAuthPresent': ['true'] } },
          },
          { effect: 'Allow', targets: [{ product: 'ResourceManager', actions: ['*'] }] },
        ],
      }),
    ],
    { principal: alice },
  );
  it('says which resource patterns, which clauses and which products did not apply', () => {
    const d = evaluate(
      set,
      { principal: alice, action: 'SSO:change/updateUser', resource: 'nrn:PUB:SSO::1:User/b-1', context: { 'ncp:resourceTag/env': 'dev' } },
      { explain: true },
    );
    expect(d.decision).to.equal('Deny');
    expect(d.notApplied?.map((n) => [n.permissionIndex, n.why, n.detail])).to.deep.equal([
      [0, 'resource', 'resource "nrn:PUB:SSO::1:User/b-1" matches none of ["nrn:PUB:SSO::1:User/a-*"]'],
      [
        1,
        'condition',
        'StringEquals ncp:resourceTag/env: request value "dev" does not satisfy ["prod"]; Bool ncp:MultiFactorAuthPresent: the key is absent (policy values ["true"])',
      ],
      [2, 'action', 'targets cover ResourceManager only, not SSO'],
    ]);
  });
  it('notes the main account and unknown actions', () => {
    expect(evaluate(set, { principal: { type: 'Root' }, action: 'SSO:x', resource: '*' }, { explain: true }).note).to.include(
      'main account',
    );
    expect(evaluate(set, { principal: alice, action: 'SSO:x', resource: '*' }, { explain: true }).note).to.include('unknown action');
  });
});

describe('policy fast path agrees with explain mode on the benchmark workload', () => {
  it('for 3,000 seeded requests', () => {
    const w = makeWorkload(3000, 7);
    const g = gatehouseInputs(w);
    const set = compile(g.policies, { principal: g.principal });
    let allowed = 0;
    for (const req of g.requests) {
      const fast = evaluate(set, req);
      const slow = evaluate(set, req, { explain: true });
      expect([fast.decision, fast.reason], JSON.stringify(req)).to.deep.equal([slow.decision, slow.reason]);
      if (fast.decision === 'Allow') allowed++;
    }
    // The workload is not degenerate: both outcomes occur often.
    expect(allowed).to.be.within(600, 2400);
  });
});

describe('policy glob matcher against a reference', () => {
  /** The reference: a RegExp built from the same parts (only in this test). */
  function reference(parts: readonly GlobPart[], s: string): boolean {
    const src = parts.map((p) => (p === STAR ? '[\\s\\S]*' : p === ONE ? '[\\s\\S]' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
    return new RegExp(`^${src}$`, 'u').test(s);
  }
  it('agrees on 20,000 generated patterns and strings', () => {
    const rnd = prng(42);
    const alphabet = ['a', 'b', 'ab', 'ba', STAR, ONE] as const;
    for (let n = 0; n < 20000; n++) {
      const parts: GlobPart[] = [];
      const len = Math.floor(rnd() * 6);
      for (let i = 0; i < len; i++) parts.push(alphabet[Math.floor(rnd() * alphabet.length)] as GlobPart);
      let s = '';
      const slen = Math.floor(rnd() * 7);
      for (let i = 0; i < slen; i++) s += 'ab'[Math.floor(rnd() * 2)];
      expect(compileGlob(parts)(s), `${JSON.stringify(parts.map((p) => (p === STAR ? '*' : p === ONE ? '?' : p)))} ~ ${s}`).to.equal(
        reference(parts, s),
      );
    }
  });
});
