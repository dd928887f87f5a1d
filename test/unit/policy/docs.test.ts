/**
 * docs/policy.md: every example command prints exactly the output shown and exits as annotated, and the list of
 * unresolved related-action references matches the catalog's self-test.
 */
import { expect } from 'chai';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { catalogSelfTest } from '../../../src/policy/index.js';
import { runCli, workdir } from './cli-helpers.js';
import { REPO_ROOT } from './helpers.js';

const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'policy.md'), 'utf8');

const files: Record<string, string> = {};
for (const m of doc.matchAll(/<!-- example-file: (\S+) -->\n+```json\n([\s\S]*?)```/g)) files[m[1] as string] = m[2] as string;

interface Run {
  readonly args: string[];
  readonly exit: number;
  readonly stream: 'stdout' | 'stderr';
  readonly output: string;
}
const runs: Run[] = [];
for (const m of doc.matchAll(/<!-- example-run exit=(\d)(?: stream=(stderr))? -->\n+```console\n\$ gatehouse ([^\n]*)\n([\s\S]*?)```/g)) {
  runs.push({
    exit: Number(m[1]),
    stream: m[2] === 'stderr' ? 'stderr' : 'stdout',
    args: (m[3] as string).split(/\s+/),
    output: m[4] as string,
  });
}

describe('docs/policy.md examples', function () {
  this.timeout(30_000);
  let dir = '';
  before(() => {
    dir = workdir(files);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('has example files and runs covering every exit status', () => {
    expect(Object.keys(files).length).to.be.greaterThan(5);
    expect(new Set(runs.map((r) => r.exit))).to.deep.equal(new Set([0, 1, 2]));
  });
  for (const r of runs) {
    it(`gatehouse ${r.args.join(' ')} → exit ${r.exit}`, async () => {
      const res = await runCli(r.args, dir);
      expect(res[r.stream]).to.equal(r.output);
      expect(res.code).to.equal(r.exit);
      if (r.stream === 'stdout') expect(res.stderr).to.equal('');
    });
  }
  it('lists every unresolved related-action reference with its mapping', () => {
    // Table rows as trimmed cells (prettier pads them).
    const rows = doc
      .split('\n')
      .filter((l) => l.startsWith('|'))
      .map((l) => l.split('|').map((c) => c.trim()));
    const unresolved = catalogSelfTest().unresolved;
    expect(unresolved).to.have.length(8);
    for (const u of unresolved) {
      const row = rows.find(
        (cells) =>
          cells[1] === u.product &&
          cells[2] === `\`${u.action}\`` &&
          cells[3] === `\`${u.reference}\`` &&
          cells[4] === `\`${u.mapsTo ?? ''}\``,
      );
      expect(row, `${u.action} ${u.reference}`).to.not.equal(undefined);
    }
  });
});
