/**
 * What an SSO user may do right now (issue 6 "Access resolution"; ARCHITECTURE.md "role switch"):
 * the user's active assignments, held directly or through a group, each with its SSO role, its
 * permission set, its target account, the console/API flags and the IP ACL entries that restrict
 * them. Sign-in, the portal's role list and role switching read this.
 *
 * Scale (ARCHITECTURE.md "Storage": "resolving a user's assignments reads only that user's
 * memberships"): the user document (for `groupIds`), then one equality query per principal (the
 * user, each of its groups) on the indexed top-level field `targetId` of the assignment targets
 * (tenantId + targetId), then each assignment named there by its unique id. Equality rather than
 * `$in` for the principals: the bundled engine (FerretDB v1) pushes only equality down to its
 * indexes, so `$in` would read every target of the tenant there. Nothing here grows with the
 * number of users or groups of the tenant; only with what this user holds.
 *
 * The tenant condition is written `{ $in: [tenantId] }` on purpose (same meaning, and the same
 * index use on MongoDB): FerretDB then leaves it out of the SQL and checks it on the few rows the
 * id lookup returns. Pushed down as equality, PostgreSQL may combine the id's GIN index with the
 * tenant's (BitmapAnd) whenever its statistics on the index expressions are missing or stale
 * (after a bulk load, indexes built later), and the tenant's posting list has one entry per user:
 * measured with bench/sso-access.ts, a 1,000,000-user tenant then took 214 ms per resolution at
 * p50 instead of a few. Isolation is unchanged: every query still names the tenant.
 */
import { buildRoleNrn } from '../../iam/nrn.js';
import { IpAllowList } from '../../shared/ip.js';
import { Assignment, AssignmentTarget, type AssignmentStatus, type StoredAssignment } from '../assignments/assignment.model.js';
import { IpAcl } from '../ip-acls/ip-acl.model.js';
import { PermissionSet } from '../permission-sets/permission-set.model.js';
import { SsoUser } from '../users/user.model.js';

export interface ResolvedIpAcl {
  ipAclId: string;
  ipAclName: string;
  accessIps: string[];
}

export interface ResolvedAccessType {
  /** The assignment allows this access type (`consoleAccessAllowed` / `apiAccessAllowed`). */
  allowed: boolean;
  /** Source IPs are restricted to `ipAcls`; with none left, nobody is admitted (fail closed). */
  restricted: boolean;
  ipAcls: ResolvedIpAcl[];
}

export interface ResolvedAssignment {
  assignmentId: string;
  assignmentName: string;
  status: AssignmentStatus;
  /** The target account (member number): where the role lives. */
  accountMemberNo: number;
  permissionSet: { permissionSetId: string; permissionSetName: string | null };
  role: { roleId: string; roleNrn: string };
  /** How the user holds it: directly, and/or through these of its groups. */
  via: { direct: boolean; groupIds: string[] };
  console: ResolvedAccessType;
  api: ResolvedAccessType;
}

export interface UserAccess {
  tenantId: string;
  userId: string;
  userStatus: string;
  assignments: ResolvedAssignment[];
}

/** Fields of an assignment resolution needs. */
const ASSIGNMENT_FIELDS =
  'assignmentId assignmentName status accountMemberNo permissionSetId roleId provisioning consoleAccessAllowed apiAccessAllowed consoleAccessRestricted consoleAccessIpAclIds apiAccessRestricted apiAccessIpAclIds';

type AssignmentRow = Pick<
  StoredAssignment,
  | 'assignmentId'
  | 'assignmentName'
  | 'status'
  | 'accountMemberNo'
  | 'permissionSetId'
  | 'roleId'
  | 'provisioning'
  | 'consoleAccessAllowed'
  | 'apiAccessAllowed'
  | 'consoleAccessRestricted'
  | 'consoleAccessIpAclIds'
  | 'apiAccessRestricted'
  | 'apiAccessIpAclIds'
>;

/** At most this many principal queries run at once (a user in many groups). */
const PARALLEL_QUERIES = 16;

async function inBatches<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += PARALLEL_QUERIES) out.push(...(await Promise.all(items.slice(i, i + PARALLEL_QUERIES).map(fn))));
  return out;
}

/**
 * The user's access, or null when the user does not exist in the tenant. A suspended user holds
 * no assignments. Only assignments that are ACTIVATED (reference §1: a suspended assignment is
 * hidden from role switching) and whose SSO role exists (`active`, or `syncing` to a new version
 * of its permission set) are returned.
 */
export async function resolveUserAccess(tenantId: string, userId: string): Promise<UserAccess | null> {
  const inTenant = { $in: [tenantId] };
  const user = await SsoUser.findOne({ tenantId: inTenant, userId }).select('userId status groupIds').lean();
  if (!user) return null;
  const result: UserAccess = { tenantId, userId, userStatus: user.status, assignments: [] };
  if (user.status !== 'ACTIVATED') return result;

  // Who names this user: the user itself, then each of its groups (one indexed equality query each).
  const groupIds = [...new Set(user.groupIds)];
  const principals = [userId, ...groupIds];
  const targeted = await inBatches(principals, (targetId) => AssignmentTarget.find({ tenantId: inTenant, targetId }).select('assignmentId').lean());
  const via = new Map<string, { direct: boolean; groupIds: string[] }>();
  targeted.forEach((rows, i) => {
    for (const { assignmentId } of rows) {
      const entry = via.get(assignmentId) ?? { direct: false, groupIds: [] };
      if (i === 0) entry.direct = true;
      else entry.groupIds.push(principals[i]!);
      via.set(assignmentId, entry);
    }
  });
  if (via.size === 0) return result;

  // Each assignment by its unique id: in use (ACTIVATED) and with a role (`active`, or `syncing`
  // to a new version of its permission set).
  const found = await inBatches([...via.keys()], (assignmentId) =>
    Assignment.findOne({ tenantId: inTenant, assignmentId, status: 'ACTIVATED' }).select(ASSIGNMENT_FIELDS).lean<AssignmentRow>(),
  );
  const byId = new Map<string, { row: AssignmentRow; direct: boolean; groupIds: string[] }>();
  for (const row of found) {
    if (!row || (row.provisioning !== 'active' && row.provisioning !== 'syncing')) continue;
    const how = via.get(row.assignmentId) ?? { direct: false, groupIds: [] };
    byId.set(row.assignmentId, { row, ...how });
  }
  if (byId.size === 0) return result;

  const rows = [...byId.values()].map((e) => e.row);
  const setIds = [...new Set(rows.map((r) => r.permissionSetId))];
  const aclIds = [...new Set(rows.flatMap((r) => [...r.consoleAccessIpAclIds, ...r.apiAccessIpAclIds]))];
  const [sets, acls] = await Promise.all([
    inBatches(setIds, (permissionSetId) => PermissionSet.findOne({ tenantId: inTenant, permissionSetId }).select('permissionSetId permissionSetName').lean()),
    inBatches(aclIds, (ipAclId) => IpAcl.findOne({ tenantId: inTenant, ipAclId }).select('ipAclId ipAclName accessIps').lean()),
  ]);
  const setNames = new Map(sets.filter((s) => s !== null).map((s) => [s.permissionSetId, s.permissionSetName]));
  const aclById = new Map(acls.filter((a) => a !== null).map((a) => [a.ipAclId, { ipAclId: a.ipAclId, ipAclName: a.ipAclName, accessIps: [...a.accessIps] }]));
  const aclList = (ids: readonly string[]) => ids.map((id) => aclById.get(id)).filter((a): a is ResolvedIpAcl => a !== undefined);

  for (const { row, direct, groupIds: viaGroups } of byId.values()) {
    result.assignments.push({
      assignmentId: row.assignmentId,
      assignmentName: row.assignmentName,
      status: row.status,
      accountMemberNo: row.accountMemberNo,
      permissionSet: { permissionSetId: row.permissionSetId, permissionSetName: setNames.get(row.permissionSetId) ?? null },
      role: { roleId: row.roleId, roleNrn: buildRoleNrn(row.accountMemberNo, row.roleId) },
      via: { direct, groupIds: viaGroups },
      console: { allowed: row.consoleAccessAllowed, restricted: row.consoleAccessRestricted, ipAcls: aclList(row.consoleAccessIpAclIds) },
      api: { allowed: row.apiAccessAllowed, restricted: row.apiAccessRestricted, ipAcls: aclList(row.apiAccessIpAclIds) },
    });
  }
  result.assignments.sort((a, b) => a.assignmentName.localeCompare(b.assignmentName));
  return result;
}

/**
 * Whether a source IP may use an access type of a resolved assignment: allowed, and (when
 * restricted) inside one of its IP ACLs. The role switch applies this to the console or the API.
 */
export function accessAllowedFrom(access: ResolvedAccessType, sourceIp: string): boolean {
  if (!access.allowed) return false;
  if (!access.restricted) return true;
  return new IpAllowList(access.ipAcls.flatMap((a) => a.accessIps)).allows(sourceIp);
}
