/**
 * The attribute mapper at a federated sign-in (src/federation/profile-sync.ts), as a pure
 * function: which fields are copied under `none` / `import` / `force`, first value only, the admin
 * API's profile rules applied to every value (a value the API would refuse is not copied), and an
 * attribute the IdP did not send leaves the field alone. The stored effect (import at the first
 * sign-in only, force every time) is tested end to end in signin.test.ts.
 */
import { expect } from 'chai';
import { mappedProfileChanges } from '../../../src/federation/profile-sync.js';
import { defaultAttributeMapper, type AttributeMapper } from '../../../src/sso/tenant/attribute-mapper.js';

function mapper(overrides: Partial<Record<keyof AttributeMapper, { syncMode: 'none' | 'import' | 'force'; idpValue: string }>>): AttributeMapper {
  const m = defaultAttributeMapper();
  for (const [field, v] of Object.entries(overrides)) m[field as keyof AttributeMapper] = { ...m[field as keyof AttributeMapper], ...v };
  return m;
}

describe('Federated sign-in: attribute mapper (profile sync)', function () {
  const attrs = new Map<string, string[]>([
    ['givenName', ['  Dana ', 'Second']],
    ['sn', ['Scully']],
    ['mail', ['dana@corp.example']],
    ['verified', ['TRUE']],
    ['phone', ['call me maybe']],
    ['dept', ['x'.repeat(201)]],
  ]);

  it('import copies only at the first federated sign-in, force at every one, none never; first value, trimmed', function () {
    const m = mapper({ firstName: { syncMode: 'import', idpValue: 'givenName' }, lastName: { syncMode: 'force', idpValue: 'sn' }, email: { syncMode: 'none', idpValue: 'mail' } });
    expect(mappedProfileChanges(m, attrs, true)).to.deep.equal({ 'userProfile.firstName': 'Dana', 'userProfile.lastName': 'Scully' });
    expect(mappedProfileChanges(m, attrs, false)).to.deep.equal({ 'userProfile.lastName': 'Scully' });
  });

  it('emailVerified takes boolean spellings; values the admin API would refuse are not copied; absent attributes change nothing', function () {
    const m = mapper({
      emailVerified: { syncMode: 'force', idpValue: 'verified' },
      phoneNo: { syncMode: 'force', idpValue: 'phone' },
      deptName: { syncMode: 'force', idpValue: 'dept' },
      empNo: { syncMode: 'force', idpValue: 'employeeNumber' },
      email: { syncMode: 'force', idpValue: 'mail' },
    });
    expect(mappedProfileChanges(m, attrs, false)).to.deep.equal({ 'userProfile.emailVerified': true, 'userProfile.email': 'dana@corp.example' });
    const notBool = new Map([['verified', ['yes please']]]);
    expect(mappedProfileChanges(m, notBool, false)).to.deep.equal({});
  });
});
