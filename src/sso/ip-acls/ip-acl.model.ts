/**
 * An IP ACL of a Single Sign-On tenant (reference/ncloud-model.md §1 "IP ACL": `ipAclId`,
 * `ipAclName`, `description`, `accessIps` of 1-20 IPv4/IPv6/CIDR entries, tags). Assignments
 * reference ACLs by id (console and API lists on the assignment), so "which assignments use this
 * ACL" is an indexed query on the assignments, not a list kept here.
 *
 * `nameKey` (the lowercased name) carries the case-insensitive uniqueness per tenant through a
 * plain unique index (ARCHITECTURE.md "Storage": no collations). `revision` is the
 * compare-and-set token of read-modify-write changes (tags). `deleting` is set by a delete before
 * it checks for users of the ACL, so a concurrent attach and delete cannot both miss each other
 * (see ip-acl.service.ts deleteIpAcl).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

/** IP ACLs per tenant: Ncloud publishes no limit; bounded so the tenant cannot grow without end. */
export const IP_ACL_LIMIT = 500;
/** Entries per ACL (reference §1: 1-20). */
export const IP_ACL_ENTRIES_MAX = 20;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const ipAclSchema = new Schema(
  {
    tenantId: { type: String, required: true },
    accountId: { type: Number, required: true },
    ipAclId: { type: String, required: true },
    ipAclName: { type: String, required: true },
    nameKey: { type: String, required: true },
    description: { type: String, default: '' },
    accessIps: { type: [String], default: [] },
    tags: { type: [tag], default: [] },
    revision: { type: Number, default: 0 },
    deleting: { type: Boolean, default: false },
  },
  { timestamps: true, collection: 'sso_ip_acls' },
);
ipAclSchema.index({ ipAclId: 1 }, { unique: true });
ipAclSchema.index({ tenantId: 1, nameKey: 1 }, { unique: true });
ipAclSchema.plugin(scopePlugin, { key: 'tenantId' });

export type IpAclDoc = InferSchemaType<typeof ipAclSchema>;
export type StoredIpAcl = IpAclDoc & { createdAt?: Date; updatedAt?: Date };
export const IpAcl = mongoose.model('SsoIpAcl', ipAclSchema);
