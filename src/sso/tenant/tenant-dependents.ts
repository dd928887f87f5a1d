/**
 * What a tenant holds that must be deleted before the tenant itself (tenant.service.ts
 * deleteTenant): users, groups, permission sets, assignments, IP ACLs and applications. Each check asks whether
 * one document of the kind exists (an indexed lookup on `tenantId`), never a count over a million
 * users (ARCHITECTURE.md "Scale").
 */
import { Application } from '../applications/application.model.js';
import { Assignment } from '../assignments/assignment.model.js';
import { SsoGroup } from '../groups/group.model.js';
import { IpAcl } from '../ip-acls/ip-acl.model.js';
import { PermissionSet } from '../permission-sets/permission-set.model.js';
import { SsoUser } from '../users/user.model.js';

const CONTENTS: { kind: string; exists: (tenantId: string) => Promise<unknown> }[] = [
  { kind: 'users', exists: (tenantId) => SsoUser.exists({ tenantId }) },
  { kind: 'groups', exists: (tenantId) => SsoGroup.exists({ tenantId }) },
  { kind: 'permission sets', exists: (tenantId) => PermissionSet.exists({ tenantId }) },
  { kind: 'assignments', exists: (tenantId) => Assignment.exists({ tenantId }) },
  { kind: 'IP ACLs', exists: (tenantId) => IpAcl.exists({ tenantId }) },
  { kind: 'applications', exists: (tenantId) => Application.exists({ tenantId }) },
];

/** The kinds of content the tenant still has, in a stable order (empty: the tenant may go). */
export async function remainingTenantContents(tenantId: string): Promise<string[]> {
  const found = await Promise.all(CONTENTS.map(async (c) => ((await c.exists(tenantId)) ? c.kind : null)));
  return found.filter((k): k is string => k !== null);
}
