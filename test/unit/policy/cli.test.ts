/** The `gatehouse` command, spawned as a process: exit codes 0/1/2, JSON output, one-line errors. */
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { runCli, workdir } from './cli-helpers.js';

const files = {
  'admin.json': JSON.stringify({
    policyName: 'user-admins',
    permissions: [{ effect: 'Allow', targets: [{ product: 'SSO', actions: ['Change*', 'view/getUserList'], resourceNrns: ['*'] }] }],
  }),
  'deny.json': JSON.stringify({
    permissions: [
      {
        effect: 'Deny',
        targets: [{ product: 'SSO', actions: ['change/deleteUser'] }],
        condition: { NotIpAddress: { 'ncp:SourceIp': ['10.0.0.0/8'] } },
      },
    ],
  }),
  'viewer.json': JSON.stringify({ managed: 'NCP_SINGLE_SIGN_ON_VIEWER' }),
  'bad-managed.json': JSON.stringify({ managed: 'NCP_NOTHING' }),
  'invalid.json': JSON.stringify({
    permissions: [{ effect: 'Allow', targets: [{ product: 'SSO', actions: ['change/nope', 'view/nope'] }] }],
  }),
  'not-json.json': '{ "permissions": ',
  'create.json': JSON.stringify({ principal: { type: 'SubAccount', id: 'alice' }, action: 'SSO:Change/createUser', resource: '*' }),
  'delete-outside.json': JSON.stringify({
    principal: { type: 'SubAccount', id: 'alice' },
    action: 'SSO:Change/deleteUser',
    resource: 'nrn:PUB:SSO::1234567:User/u',
    context: { 'ncp:SourceIp': '192.0.2.1' },
  }),
  'delete-inside.json': JSON.stringify({
    principal: { type: 'SubAccount', id: 'alice' },
    action: 'SSO:Change/deleteUser',
    resource: 'nrn:PUB:SSO::1234567:User/u',
    context: { 'ncp:SourceIp': '10.1.2.3' },
  }),
  'root.json': JSON.stringify({
    principal: { type: 'Root' },
    action: 'SubAccount:Change/deleteSubAccount',
    resource: 'nrn:PUB:SubAccount::1234567:SubAccount/s',
  }),
  'bad-request.json': JSON.stringify({ principal: { type: 'Admin' }, action: 'SSO:Change/createUser', resource: '*' }),
};

describe('gatehouse CLI', function () {
  this.timeout(30_000);
  let dir = '';
  before(() => {
    dir = workdir(files);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const run = (...args: string[]) => runCli(args, dir);
  const oneLine = (s: string) => s.trim().split('\n').length === 1;

  it('prints usage and exits 2 without a command or with an unknown one', async () => {
    const none = await run();
    expect(none.code).to.equal(2);
    expect(none.stderr).to.include('usage: gatehouse <command>');
    const unknown = await run('nope');
    expect(unknown.code).to.equal(2);
    expect(unknown.stderr).to.include('unknown command "nope"');
    expect(unknown.stderr).to.include('policy');
  });
  it('prints usage and exits 0 for --help; policy subcommands likewise', async () => {
    const help = await run('--help');
    expect([help.code, help.stdout.includes('commands:')]).to.deep.equal([0, true]);
    const policyHelp = await run('policy', '--help');
    expect([policyHelp.code, policyHelp.stdout.includes('gatehouse policy simulate')]).to.deep.equal([0, true]);
    const bad = await run('policy', 'frobnicate');
    expect(bad.code).to.equal(2);
  });

  it('validate: exit 0 for a valid file, with the number of permissions', async () => {
    const r = await run('policy', 'validate', 'admin.json');
    expect([r.code, r.stdout]).to.deep.equal([0, 'admin.json: valid (1 permission)\n']);
    const m = await run('policy', 'validate', 'viewer.json');
    expect(m.code).to.equal(0);
  });
  it('validate: exit 1 with one line per field error, or JSON with --json', async () => {
    const r = await run('policy', 'validate', 'invalid.json');
    expect(r.code).to.equal(1);
    expect(r.stdout.trim().split('\n')).to.deep.equal([
      'invalid.json: permissions[0].targets[0].actions[0]: unknown action "change/nope" for product SSO (exact names from the catalog, "View*", "Change*" or "*")',
      'invalid.json: permissions[0].targets[0].actions[1]: unknown action "view/nope" for product SSO (exact names from the catalog, "View*", "Change*" or "*")',
    ]);
    const j = await run('policy', 'validate', 'invalid.json', '--json');
    expect(j.code).to.equal(1);
    const parsed = JSON.parse(j.stdout) as { ok: boolean; fieldErrors: { field: string }[] };
    expect(parsed.ok).to.equal(false);
    expect(parsed.fieldErrors.map((e) => e.field)).to.deep.equal([
      'permissions[0].targets[0].actions[0]',
      'permissions[0].targets[0].actions[1]',
    ]);
    const managed = await run('policy', 'validate', 'bad-managed.json');
    expect(managed.code).to.equal(1);
    expect(managed.stdout).to.include('unknown system-managed policy "NCP_NOTHING"');
  });
  it('validate: exit 2 with one line on stderr for a missing file, bad JSON or bad arguments', async () => {
    for (const args of [['missing.json'], ['not-json.json'], [], ['a.json', 'b.json'], ['admin.json', '--bogus']]) {
      const r = await run('policy', 'validate', ...args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(oneLine(r.stderr), r.stderr).to.equal(true);
      expect(r.stderr).to.match(/^gatehouse policy validate: /);
    }
  });

  it('catalog --json lists every row; --product narrows; an unknown product exits 2', async () => {
    const all = await run('policy', 'catalog', '--json');
    expect(all.code).to.equal(0);
    const rows = JSON.parse(all.stdout) as { product: string; name: string; conditionKeys: string[] }[];
    expect(rows).to.have.length(157);
    const sso = await run('policy', 'catalog', '--product', 'sso', '--json');
    const ssoRows = JSON.parse(sso.stdout) as { product: string; name: string }[];
    expect(ssoRows).to.have.length(86);
    expect(new Set(ssoRows.map((r) => r.name.toLowerCase())).size).to.equal(84);
    const text = await run('policy', 'catalog', '--product', 'SubAccount');
    expect(text.stdout.split('\n')[0]).to.equal('SubAccount (50 actions)');
    expect(text.stdout).to.include('Change/attachRoleToAccont');
    const bad = await run('policy', 'catalog', '--product', 'Server');
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('unknown product "Server"');
  });

  it('simulate: exit 0 on Allow with one JSON object', async () => {
    const r = await run('policy', 'simulate', '--policy', 'admin.json', '--request', 'create.json');
    expect(r.code).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      decision: 'Allow',
      reason: 'Allowed',
      decisive: [{ policyId: 'user-admins', policyName: 'user-admins', permissionIndex: 0, effect: 'Allow' }],
    });
  });
  it('simulate: exit 1 on Deny; several policies; --explain adds notApplied and overridden', async () => {
    const r = await run(
      'policy',
      'simulate',
      '--policy',
      'admin.json',
      '--policy',
      'deny.json',
      '--request',
      'delete-outside.json',
      '--explain',
    );
    expect(r.code).to.equal(1);
    const d = JSON.parse(r.stdout) as {
      decision: string;
      reason: string;
      decisive: { policyId: string }[];
      notApplied: unknown[];
      overridden: { policyId: string }[];
    };
    expect([d.decision, d.reason]).to.deep.equal(['Deny', 'ExplicitDeny']);
    expect(d.decisive.map((s) => s.policyId)).to.deep.equal(['deny']);
    expect(d.overridden.map((s) => s.policyId)).to.deep.equal(['user-admins']);
    expect(d.notApplied).to.deep.equal([]);
    const inside = await run('policy', 'simulate', '--policy', 'admin.json', '--policy', 'deny.json', '--request', 'delete-inside.json');
    expect(inside.code).to.equal(0);
    const implicit = await run('policy', 'simulate', '--policy', 'viewer.json', '--request', 'create.json');
    expect(implicit.code).to.equal(1);
    expect((JSON.parse(implicit.stdout) as { reason: string }).reason).to.equal('ImplicitDeny');
  });
  it('simulate: the main account is allowed without any matching policy', async () => {
    const r = await run('policy', 'simulate', '--policy', 'viewer.json', '--request', 'root.json');
    expect(r.code).to.equal(0);
  });
  it('simulate: exit 2 with one line on stderr for invalid input', async () => {
    const cases: [string[], string][] = [
      [
        ['--policy', 'invalid.json', '--request', 'create.json'],
        'invalid.json: permissions[0].targets[0].actions[0]: unknown action "change/nope"',
      ],
      [['--policy', 'bad-managed.json', '--request', 'create.json'], 'bad-managed.json: managed:'],
      [
        ['--policy', 'admin.json', '--request', 'bad-request.json'],
        'bad-request.json: principal.type: must be one of SubAccount, Role, Root',
      ],
      [['--policy', 'admin.json', '--request', 'missing.json'], 'missing.json: cannot read (ENOENT)'],
      [['--policy', 'not-json.json', '--request', 'create.json'], 'not-json.json: not valid JSON'],
      [['--request', 'create.json'], 'needs at least one --policy FILE'],
      [['--policy', 'admin.json'], 'needs --request FILE'],
      [['--policy', 'admin.json', '--request', 'create.json', 'extra'], 'unexpected argument "extra"'],
    ];
    for (const [args, fragment] of cases) {
      const r = await run('policy', 'simulate', ...args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stdout, args.join(' ')).to.equal('');
      expect(oneLine(r.stderr), r.stderr).to.equal(true);
      expect(r.stderr, args.join(' ')).to.include(`gatehouse policy simulate: `);
      expect(r.stderr, args.join(' ')).to.include(fragment);
    }
  });
});
