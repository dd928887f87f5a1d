/**
 * Interoperability with `@node-saml/node-saml` beyond one login (issue 9 "Done when"):
 * - key rollover: the SP reads the IdP metadata (`/tenants/{t}/saml/idp/metadata`) while the next
 *   certificate is published, the admin activates it, and the SP that refreshed its metadata
 *   verifies the Response signed by the new key, while an SP that never refreshed refuses it;
 * - an application changed through the admin API is seen at once by the cached SP lookup;
 * - the role attribute `roleNrn,idpEntityId` per active assignment (suspended and unprovisioned
 *   ones left out), as consoles consuming AWS-style role attributes read it.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { buildRoleNrn } from '../../../src/iam/nrn.js';
import { Assignment, AssignmentTarget } from '../../../src/sso/assignments/assignment.model.js';
import { rootSigner, type Signer } from '../../helpers/admin.js';
import { testApp } from '../../helpers/app.js';
import { useTestDatabase } from '../../helpers/db.js';
import { agentFor, BASE, decodeResponse, expectXmlsecVerified, nodeSamlSp, pathOf, readAutoPost, seedSamlApp, seedTenant, seedUser, sessionCookie, tenantCertificate, type TestTenant } from './sso-fixtures.js';

function metadataCertificates(xml: string): string[] {
  return [...xml.matchAll(/<(?:\w+:)?X509Certificate>([^<]+)<\/(?:\w+:)?X509Certificate>/g)].map((m) => {
    const body = m[1]!.replace(/\s+/g, '');
    return `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  });
}

describe('SAML IdP interop: key rollover through metadata, role attribute', function () {
  this.timeout(180_000);
  useTestDatabase('samlinterop');
  const app = testApp();
  let t: TestTenant;
  let root: Signer;
  let userId: string;

  before(async function () {
    root = await rootSigner(app, 3500001);
    t = await seedTenant(3500001);
    userId = await seedUser(t, 'erin@corp.example');
  });

  it('rollover: the next certificate is published first; once activated, an SP that refreshed metadata verifies, one that did not refuses', async function () {
    const first = await tenantCertificate(t);
    const sp = await seedSamlApp(t, 'roll');
    const { cookie } = await sessionCookie(t, userId);
    const metadataPath = `/tenants/${t.alias}/saml/idp/metadata`;
    const before = await agentFor(app).get(metadataPath);
    expect(before.status).to.equal(200);
    const staleCerts = [...new Set(metadataCertificates(before.text))];
    expect(staleCerts).to.have.length(1);
    const staleSp = nodeSamlSp(t, sp, staleCerts);

    const created = await root.call('post', '/api/v1/sso/tenant/saml-idp/certificates', { keySize: 2048, certificateExpireDays: 30 });
    expect(created.status, JSON.stringify(created.body)).to.be.oneOf([200, 201]);
    const nextId = (created.body as { certificateId?: string }).certificateId;
    expect(nextId).to.be.a('string');
    // During the rollover the metadata carries both; the old key still signs.
    const during = [...new Set(metadataCertificates((await agentFor(app).get(metadataPath)).text))];
    expect(during).to.have.length(2);
    const refreshedSp = nodeSamlSp(t, sp, during);
    const r1 = await agentFor(app).get(pathOf(await staleSp.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    expect((await staleSp.validatePostResponseAsync({ SAMLResponse: readAutoPost(r1).fields.SAMLResponse! })).profile!.nameID).to.equal('erin@corp.example');

    const activated = await root.call('post', `/api/v1/sso/tenant/saml-idp/certificates/${nextId}/activate`);
    expect(activated.status, JSON.stringify(activated.body)).to.be.within(200, 204);
    const newCert = during.find((c) => c.replace(/\s/g, '') !== first.replace(/\s/g, ''))!;

    const r2 = await agentFor(app).get(pathOf(await refreshedSp.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    const samlResponse = readAutoPost(r2).fields.SAMLResponse!;
    expect(decodeResponse(samlResponse)).to.include(newCert.replace(/-----[A-Z ]+-----|\s/g, '').slice(0, 60));
    expect((await refreshedSp.validatePostResponseAsync({ SAMLResponse: samlResponse })).profile!.nameID).to.equal('erin@corp.example');
    await expectXmlsecVerified(samlResponse, newCert);

    const r3 = await agentFor(app).get(pathOf(await staleSp.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    let refused = false;
    await staleSp.validatePostResponseAsync({ SAMLResponse: readAutoPost(r3).fields.SAMLResponse! }).catch(() => (refused = true));
    expect(refused).to.equal(true);
  });

  it('an application change through the admin API reaches the cached SP at the next request (tenant change stamp)', async function () {
    const idpCert = await tenantCertificate(t);
    const sp = await seedSamlApp(t, 'cachedsp');
    const { cookie } = await sessionCookie(t, userId);
    const unsigned = nodeSamlSp(t, sp, idpCert);
    const first = await agentFor(app).get(pathOf(await unsigned.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    expect(readAutoPost(first).action).to.equal(sp.acs);
    const changed = await root.call('put', `/api/v1/sso/applications/${sp.applicationId}`, { saml: { requireSignedRequests: true, signingCertificates: [sp.signing.certificatePem] } });
    expect(changed.status, JSON.stringify(changed.body)).to.equal(200);
    const refused = await agentFor(app).get(pathOf(await unsigned.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    expect(refused.status).to.equal(400);
    const signed = nodeSamlSp(t, sp, idpCert, { privateKey: sp.signing.privateKeyPem });
    const ok = await agentFor(app).get(pathOf(await signed.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    expect(readAutoPost(ok).action).to.equal(sp.acs);
  });

  it('role attribute: one `roleNrn,idpEntityId` value per active, provisioned assignment of the user', async function () {
    const idpCert = await tenantCertificate(t);
    const roleName = 'https://aws.amazon.com/SAML/Attributes/Role';
    const sp = await seedSamlApp(t, 'roles', { roleAttributeName: roleName, attributes: [{ name: 'roles', source: 'roles' }] });
    const made: { roleId: string; memberNo: number; status: 'ACTIVATED' | 'SUSPENDED'; provisioning: 'active' | 'syncing' | 'creating' }[] = [
      { roleId: randomUUID(), memberNo: 3500011, status: 'ACTIVATED', provisioning: 'active' },
      { roleId: randomUUID(), memberNo: 3500012, status: 'ACTIVATED', provisioning: 'syncing' },
      { roleId: randomUUID(), memberNo: 3500013, status: 'SUSPENDED', provisioning: 'active' },
      { roleId: randomUUID(), memberNo: 3500014, status: 'ACTIVATED', provisioning: 'creating' },
    ];
    for (const [i, a] of made.entries()) {
      const assignmentId = randomUUID();
      await Assignment.create({
        tenantId: t.tenantId,
        accountId: t.accountId,
        assignmentId,
        assignmentName: `a${i}`,
        nameKey: `a${i}`,
        accountMemberNo: a.memberNo,
        permissionSetId: randomUUID(),
        roleId: a.roleId,
        provisioning: a.provisioning,
        syncToken: randomUUID(),
        status: a.status,
      });
      await AssignmentTarget.create({ tenantId: t.tenantId, accountId: t.accountId, assignmentId, targetType: 'user', targetId: userId });
    }
    const { cookie } = await sessionCookie(t, userId);
    const saml = nodeSamlSp(t, sp, idpCert);
    const res = await agentFor(app).get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {}))).set('Cookie', cookie);
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: readAutoPost(res).fields.SAMLResponse! });
    const idpEntityId = `${BASE}/tenants/${t.tenantId}/saml/idp`;
    const expectedNrns = [buildRoleNrn(3500011, made[0]!.roleId), buildRoleNrn(3500012, made[1]!.roleId)].sort();
    const roleValues = ([] as string[]).concat(profile![roleName] as string | string[]).sort();
    expect(roleValues).to.deep.equal(expectedNrns.map((n) => `${n},${idpEntityId}`).sort());
    expect(([] as string[]).concat(profile!.roles as string | string[]).sort()).to.deep.equal(expectedNrns);
  });
});
