/**
 * What an assertion says about the user (issue 9 "Responses"): the NameID per the application's
 * format and source, the attribute statements it configured (profile fields, groups, roles,
 * constants), the role attribute (`roleNrn,idpEntityId` per active assignment, the shape
 * consoles consuming AWS-style role attributes expect) and the session duration attribute.
 *
 * - persistent NameID: HMAC-SHA256(per-tenant secret, userId ␊ SP entity ID), base64url: stable
 *   for a user at one SP, different at every other SP, and revealing nothing (SAML Core §8.3.7).
 * - transient NameID: 160 random bits per response (SAML Core §8.3.8).
 * - SessionIndex: HMAC of the Gatehouse session id, so an SP learns nothing it could present
 *   elsewhere, and single logout maps it back through the participant record.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { Keyring } from '../../db/encryption.js';
import { resolveUserAccess } from '../../sso/access/resolve-access.js';
import { SsoGroup } from '../../sso/groups/group.model.js';
import { SsoUser } from '../../sso/users/user.model.js';
import { NAMEID_FORMATS, type ResponseAttribute } from './assertion.js';
import { SamlIdpSecret, samlIdpSecretContext } from './idp.models.js';
import { SamlRejection } from './rejection.js';
import { spRef, type SamlApplication } from './service-provider.js';

const secretCache = new Map<string, Buffer>();

/** The tenant's IdP secret, made once by an atomic upsert (two processes racing keep the first). */
export async function tenantIdpSecret(tenantId: string, keyring: Keyring): Promise<Buffer> {
  const hit = secretCache.get(tenantId);
  if (hit) return hit;
  const fresh = keyring.encrypt(randomBytes(32), samlIdpSecretContext(tenantId));
  await SamlIdpSecret.updateOne({ tenantId }, { $setOnInsert: { tenantId, secretEncrypted: fresh, createdAt: new Date() } }, { upsert: true }).catch((err: unknown) => {
    // A concurrent upsert of the same tenant loses on the unique index: the winner's secret stands.
    if ((err as { code?: number }).code !== 11000) throw err;
  });
  const row = await SamlIdpSecret.findOne({ tenantId }).select('+secretEncrypted').lean<{ secretEncrypted: string }>();
  if (!row) throw new Error('SAML IdP secret missing after upsert');
  const secret = keyring.decryptToBuffer(row.secretEncrypted, samlIdpSecretContext(tenantId));
  secretCache.set(tenantId, secret);
  return secret;
}

export function sessionIndexOf(secret: Buffer, sessionId: string): string {
  return `_${createHmac('sha256', secret).update(`session\n${sessionId}`).digest('base64url')}`;
}

export function persistentNameId(secret: Buffer, userId: string, spEntityId: string): string {
  return createHmac('sha256', secret).update(`nameid\n${userId}\n${spEntityId}`).digest('base64url');
}

export interface ClaimUser {
  userId: string;
  loginId: string;
  groupIds: string[];
  userProfile: Record<string, unknown>;
}

export async function loadClaimUser(tenantId: string, userId: string): Promise<ClaimUser | null> {
  const u = await SsoUser.findOne({ tenantId, userId }).select('userId loginId groupIds userProfile status').lean();
  if (!u || u.status !== 'ACTIVATED') return null;
  return { userId: u.userId, loginId: u.loginId, groupIds: u.groupIds ?? [], userProfile: (u.userProfile ?? {}) as Record<string, unknown> };
}

/**
 * A profile field's value as released. `displayName` is derived (SSO users store first and last
 * names only): "first last", as Keycloak's full name and Ncloud's user name read.
 */
export function profileValue(user: ClaimUser, field: string): string {
  if (field === 'loginId') return user.loginId;
  if (field === 'userId') return user.userId;
  if (field === 'displayName') {
    const part = (k: string) => (typeof user.userProfile[k] === 'string' ? (user.userProfile[k] as string).trim() : '');
    return [part('firstName'), part('lastName')].filter((x) => x !== '').join(' ');
  }
  const v = user.userProfile[field];
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  return '';
}

export function nameIdFor(sp: SamlApplication, user: ClaimUser, secret: Buffer): { value: string; format: string; spNameQualifier: string | null } {
  const fmt = sp.saml.nameIdFormat;
  if (fmt === 'persistent') return { value: persistentNameId(secret, user.userId, sp.saml.entityId), format: NAMEID_FORMATS.persistent, spNameQualifier: sp.saml.entityId };
  if (fmt === 'transient') return { value: `_${randomBytes(20).toString('hex')}`, format: NAMEID_FORMATS.transient, spNameQualifier: null };
  const value = profileValue(user, sp.saml.nameIdSource || 'loginId');
  if (!value) throw new SamlRejection('accessDenied', `the user has no ${sp.saml.nameIdSource} for the NameID`, spRef(sp));
  return { value, format: fmt === 'emailAddress' ? NAMEID_FORMATS.emailAddress : NAMEID_FORMATS.unspecified, spNameQualifier: null };
}

const BASIC = 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';
const URI = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri';

/** AWS accepts 900-43200 s for SessionDuration; the same bounds keep any consumer sane. */
const SESSION_DURATION_MIN = 900;
const SESSION_DURATION_MAX = 43_200;

export async function attributesFor(
  sp: SamlApplication,
  user: ClaimUser,
  ctx: { tenantId: string; idpEntityId: string; sessionRemainingSec: number },
): Promise<ResponseAttribute[]> {
  const s = sp.saml;
  const needsAccess = s.attributes.some((a) => a.source === 'roles') || Boolean(s.roleAttributeName);
  const access = needsAccess ? await resolveUserAccess(ctx.tenantId, user.userId) : null;
  const activeRoles = (access?.assignments ?? []).filter((a) => a.status === 'ACTIVATED').map((a) => a.role.roleNrn);
  const roleNrns = [...new Set(activeRoles)].sort();

  let groupNames: string[] | null = null;
  const out: ResponseAttribute[] = [];
  for (const a of s.attributes) {
    let values: string[] = [];
    if (a.source === 'profile') {
      const v = profileValue(user, a.value);
      values = v ? [v] : [];
    } else if (a.source === 'constant') {
      values = [a.value];
    } else if (a.source === 'roles') {
      values = roleNrns;
    } else if (a.source === 'groups') {
      if (groupNames === null) {
        const groups = user.groupIds.length ? await SsoGroup.find({ tenantId: ctx.tenantId, groupId: { $in: user.groupIds } }).select('groupName').lean() : [];
        groupNames = groups.map((g) => g.groupName).sort();
      }
      values = groupNames;
    }
    out.push({ name: a.name, nameFormat: a.nameFormat || BASIC, friendlyName: a.friendlyName ?? '', values });
  }
  if (s.roleAttributeName) {
    out.push({ name: s.roleAttributeName, nameFormat: s.roleAttributeName.includes(':') ? URI : BASIC, friendlyName: '', values: roleNrns.map((nrn) => `${nrn},${ctx.idpEntityId}`) });
  }
  if (s.sessionDurationAttributeName) {
    const sec = Math.max(SESSION_DURATION_MIN, Math.min(SESSION_DURATION_MAX, Math.floor(ctx.sessionRemainingSec)));
    out.push({ name: s.sessionDurationAttributeName, nameFormat: s.sessionDurationAttributeName.includes(':') ? URI : BASIC, friendlyName: '', values: [String(sec)] });
  }
  return out;
}
