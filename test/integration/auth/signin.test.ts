/**
 * End-user sign-in through the real pages (issue 7 "Done when"; security-bar §4, §6 #33-#43),
 * with a supertest agent as the browser, against the real engine.
 */
import { expect } from 'chai';
import { SsoUserSession } from '../../../src/sso/users/user-session.model.js';
import { testApp } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { signIn } from '../../helpers/sso-login.js';
import { PASSWORD, agentOf, makeTenant, makeUser, storedUser } from './fixtures.js';

describe('SSO sign-in: password', function () {
  this.timeout(60_000);
  useTestDatabase('ssosignin');
  const app = testApp({ db: { ping: async () => true } });

  it('signs a user in with login id and password: a new session, its cookie, lastLoginAt, back to the portal', async () => {
    const t = await makeTenant(app);
    const u = await makeUser(t);
    const agent = agentOf(app);
    const r = await signIn(agent, t.alias, u.loginId, PASSWORD);
    expect(r.location).to.equal(`/tenants/${t.tenantId}/portal?login=${r.interactionId}`);
    expect(r.cookieName).to.equal(`gh_sso_${t.tenantId}`);
    const sessions = await SsoUserSession.find({ tenantId: t.tenantId, userId: u.userId }).lean();
    expect(sessions).to.have.length(1);
    expect(sessions[0]).to.include({ acr: 'pwd' });
    expect(sessions[0]?.amr).to.deep.equal(['pwd']);
    expect((await storedUser(t, u.userId)).lastLoginAt).to.be.instanceOf(Date);
  });
});
