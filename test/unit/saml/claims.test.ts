import { expect } from 'chai';
import { profileValue, type ClaimUser } from '../../../src/saml/idp/claims.js';

const user = (profile: Record<string, unknown>): ClaimUser => ({ userId: 'u-1', loginId: 'ann@example.com', groupIds: [], userProfile: profile });

describe('SAML claims: profile values an application may release', function () {
  it('derives displayName from the first and last names, which is all SSO users store', function () {
    expect(profileValue(user({ firstName: ' Ann ', lastName: 'Lee' }), 'displayName')).to.equal('Ann Lee');
    expect(profileValue(user({ firstName: '', lastName: 'Lee' }), 'displayName')).to.equal('Lee');
    expect(profileValue(user({}), 'displayName')).to.equal('');
  });

  it('reads stored fields and the identifiers as they are', function () {
    const u = user({ email: 'ann@corp.example', emailVerified: true });
    expect(profileValue(u, 'loginId')).to.equal('ann@example.com');
    expect(profileValue(u, 'userId')).to.equal('u-1');
    expect(profileValue(u, 'email')).to.equal('ann@corp.example');
    expect(profileValue(u, 'emailVerified')).to.equal('true');
  });
});
