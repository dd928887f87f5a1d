import { expect } from 'chai';
import {
  checkPasswordPolicy,
  describePasswordPolicyFailure,
  hashUserPassword,
  loadPasswordBlocklist,
  normalizePassword,
  PASSWORD_MAX_LENGTH,
  verifyUserPassword,
} from '../../../src/auth/password-policy.js';

const reasonsOf = (password: string, options?: Parameters<typeof checkPasswordPolicy>[1]) => {
  const result = checkPasswordPolicy(password, options);
  return result.ok ? [] : result.reasons;
};

describe('password policy (NIST SP 800-63B §3.1.1.2)', () => {
  it('ships a blocklist of tens of thousands of common passwords, loaded once', () => {
    expect(loadPasswordBlocklist()).to.be.greaterThan(50_000);
  });

  it('accepts a long passphrase with no composition rules', () => {
    expect(checkPasswordPolicy('correct horse battery staple')).to.deep.equal({ ok: true });
    expect(checkPasswordPolicy('alllowercaseletters')).to.deep.equal({ ok: true });
  });

  it('enforces the minimum from the tenant (default 12) and the maximum of 256 characters', () => {
    expect(reasonsOf('short pass')).to.deep.equal(['tooShort']);
    expect(reasonsOf('elevenchars')).to.deep.equal(['tooShort']);
    expect(checkPasswordPolicy('quiet violin1').ok).to.equal(true);
    expect(reasonsOf('quiet violin1', { minLength: 15 })).to.deep.equal(['tooShort']);
    expect(reasonsOf('tablet loam', { minLength: 8 })).to.deep.equal([]);
    const longest = Array.from({ length: PASSWORD_MAX_LENGTH }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
    expect(checkPasswordPolicy(longest).ok).to.equal(true);
    expect(reasonsOf(`${longest}z`)).to.deep.equal(['tooLong']);
  });

  it('counts Unicode code points after NFKC, not UTF-16 units or bytes', () => {
    // Six emoji are 12 UTF-16 units but six characters.
    expect(reasonsOf('🐉🐉🐉🐢🐢🐢')).to.include('tooShort');
    // Full-width letters fold to ASCII under NFKC.
    expect(normalizePassword('ｐａｓｓｗｏｒｄ')).to.equal('password');
    expect(reasonsOf('ｑｗｅｒｔｙ１２３４５６')).to.include('common');
    expect(checkPasswordPolicy('한국어 비밀번호 문장입니다').ok).to.equal(true);
  });

  it('never trims: leading and trailing spaces are characters', () => {
    expect(reasonsOf(' eleven char')).to.deep.equal([]);
    expect(reasonsOf('elevenchar ')).to.deep.equal(['tooShort']);
  });

  it('refuses blocklisted passwords case-insensitively and with digits or symbols around them', () => {
    for (const common of ['qwerty123456', 'QWERTY123456', '1qaz2wsx3edc', 'administrator', 'Password123456!', '!!!!dragon2024!!!']) {
      expect(reasonsOf(common), common).to.include('common');
    }
    // A listed word inside a longer phrase is not refused.
    expect(checkPasswordPolicy('dragon under the old bridge').ok).to.equal(true);
  });

  it('refuses repetitive and sequential runs', () => {
    for (const weak of ['aaaaaaaaaaaaaa', 'abcabcabcabcabc', 'xyz1xyz1xyz1', 'abcdefghijklmn', '9876543210']) {
      const reasons = reasonsOf(weak, { minLength: 10 });
      expect(reasons.some((r) => r === 'repetitive' || r === 'common'), weak).to.equal(true);
    }
    expect(reasonsOf('abcdefghijklmnop')).to.include('repetitive');
    expect(reasonsOf('zyxwvutsrqponm')).to.include('repetitive');
  });

  it('refuses the login id, the e-mail local part, the names and the service name', () => {
    const context = ['jane.doe', 'jane.doe@corp.example', 'Jane', 'Doe-Smithson'];
    expect(reasonsOf('my name is jane.doe ok', { context })).to.include('contextWord');
    expect(reasonsOf('JANE is a good person', { context })).to.include('contextWord');
    expect(reasonsOf('smithson family garden', { context })).to.include('contextWord');
    expect(reasonsOf('my gatehouse secret phrase')).to.include('contextWord');
    // Three-letter names are refused as the whole password only, not as a substring.
    expect(checkPasswordPolicy('skimming the river banks', { context: ['kim'] }).ok).to.equal(true);
    expect(reasonsOf('kim', { context: ['kim'], minLength: 1 })).to.include('contextWord');
    // Empty or missing context values are ignored.
    expect(checkPasswordPolicy('correct horse battery staple', { context: ['', null, undefined] }).ok).to.equal(true);
  });

  it('reports every reason together and describes them in one sentence', () => {
    const result = checkPasswordPolicy('jane', { context: ['jane'] });
    expect(result.ok).to.equal(false);
    if (result.ok) return;
    expect(result.reasons).to.include.members(['tooShort', 'contextWord']);
    expect(describePasswordPolicyFailure(result.reasons, 12)).to.match(/at least 12 characters.*login id/);
  });

  it('hashes and verifies the NFKC form, so another keyboard\'s form of the same password matches', async function () {
    this.timeout(10_000);
    const phc = await hashUserPassword('ｃｏｒｒｅｃｔ horse battery');
    expect(phc).to.match(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyUserPassword(phc, 'correct horse battery')).to.equal(true);
    expect(await verifyUserPassword(phc, 'correct horse battery ')).to.equal(false);
  });
});
