/** cases/validation.json: field errors of validatePolicyDocument, normalized documents, policy names. */
import { expect } from 'chai';
import { validatePolicyDescription, validatePolicyDocument, validatePolicyName } from '../../../src/policy/index.js';
import { readCases } from './helpers.js';

interface ValidationFile {
  readonly cases: readonly { readonly name: string; readonly document: unknown; readonly errors: readonly [string, string][] }[];
  readonly normalized: readonly { readonly name: string; readonly document: unknown; readonly expect: unknown }[];
  readonly names: { readonly valid: readonly string[]; readonly invalid: readonly [string, string][] };
}

const data = readCases<ValidationFile>('validation.json');

describe('policy validation: documents (cases/validation.json)', () => {
  for (const c of data.cases) {
    it(c.name, () => {
      const v = validatePolicyDocument(c.document);
      if (c.errors.length === 0) {
        expect(v.ok, JSON.stringify(v)).to.equal(true);
        return;
      }
      expect(v.ok).to.equal(false);
      if (v.ok) return;
      expect(v.fieldErrors.map((e) => e.field).sort()).to.deep.equal(c.errors.map(([f]) => f).sort());
      for (const [field, fragment] of c.errors) {
        const messages = v.fieldErrors.filter((e) => e.field === field).map((e) => e.message);
        expect(
          messages.some((m) => m.includes(fragment)),
          `${field}: ${JSON.stringify(messages)} should mention ${fragment}`,
        ).to.equal(true);
      }
    });
  }
  for (const c of data.normalized) {
    it(`normalizes: ${c.name}`, () => {
      const v = validatePolicyDocument(c.document);
      expect(v.ok ? v.document : v.fieldErrors).to.deep.equal(c.expect);
    });
  }
  it('rejects an empty permissions array unless allowEmpty', () => {
    expect(validatePolicyDocument({ permissions: [] }).ok).to.equal(false);
    expect(validatePolicyDocument({ permissions: [] }, { allowEmpty: true }).ok).to.equal(true);
  });
  it('does not let __proto__ keys through', () => {
    const doc: unknown = JSON.parse(
      '{"permissions":[{"effect":"Allow","targets":[{"product":"SSO","actions":["*"]}],"condition":{"__proto__":{"ncp:SourceIp":["x"]},"StringEquals":{"__proto__":["x"]}}}]}',
    );
    const v = validatePolicyDocument(doc);
    expect(v.ok).to.equal(false);
    if (!v.ok)
      expect(v.fieldErrors.map((e) => e.field)).to.deep.equal([
        'permissions[0].condition.__proto__',
        'permissions[0].condition.StringEquals.__proto__',
      ]);
  });
});

describe('policy validation: names and descriptions', () => {
  for (const name of data.names.valid) {
    it(`accepts the name ${JSON.stringify(name)}`, () => {
      expect(validatePolicyName(name)).to.deep.equal({ ok: true, name });
    });
  }
  for (const [name, fragment] of data.names.invalid) {
    it(`rejects the name ${JSON.stringify(name)}`, () => {
      const v = validatePolicyName(name);
      expect(v.ok).to.equal(false);
      if (!v.ok) {
        expect(v.fieldErrors.every((e) => e.field === 'policyName')).to.equal(true);
        expect(
          v.fieldErrors.some((e) => e.message.includes(fragment)),
          JSON.stringify(v.fieldErrors),
        ).to.equal(true);
      }
    });
  }
  it('rejects a name that is not a string', () => {
    expect(validatePolicyName(42).ok).to.equal(false);
  });
  it('counts the description in UTF-8 bytes, at most 300 (§3)', () => {
    expect(validatePolicyDescription(undefined)).to.deep.equal([]);
    expect(validatePolicyDescription('a'.repeat(300))).to.deep.equal([]);
    expect(validatePolicyDescription('a'.repeat(301))).to.have.length(1);
    expect(validatePolicyDescription('가'.repeat(100))).to.deep.equal([]); // 3 bytes each
    expect(validatePolicyDescription('가'.repeat(101))[0]?.message).to.include('303');
    expect(validatePolicyDescription(5)[0]?.field).to.equal('description');
  });
});
