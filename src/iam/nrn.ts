/** NRNs of Sub Account resources (reference/ncloud-model.md §3 "NRN"). */
import { buildNrn } from '../policy/index.js';

export const buildSubAccountNrn = (memberNo: number, subAccountId: string): string =>
  buildNrn({ product: 'SubAccount', memberNo, resourceType: 'SubAccount', resourceId: subAccountId });
export const buildGroupNrn = (memberNo: number, groupId: string): string => buildNrn({ product: 'SubAccount', memberNo, resourceType: 'Group', resourceId: groupId });
export const buildPolicyNrn = (memberNo: number, policyId: string): string => buildNrn({ product: 'SubAccount', memberNo, resourceType: 'Policy', resourceId: policyId });
export const buildRoleNrn = (memberNo: number, roleId: string): string => buildNrn({ product: 'SubAccount', memberNo, resourceType: 'Role', resourceId: roleId });
