/**
 * A role (reference/ncloud-model.md §3 "Roles"): SSO roles are provisioned by Single Sign-On
 * assignments (sso-role.service.ts); account roles let sub accounts (of this or a named foreign
 * account) switch into them; server and service roles are stored as data. Suspension bumps
 * `credentialGeneration`, which ends role sessions and STS credentials issued for the role at once.
 *
 * Server attachments live in their own collection (role-server-binding.model.ts): Ncloud allows
 * one role per server, and that uniqueness needs a unique index on (account, server NRN), which
 * an array field of this document cannot give.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

export const ROLE_TYPES = ['SSO', 'Account', 'Server', 'Service'] as const;
export type RoleType = (typeof ROLE_TYPES)[number];
/** Account roles' session expiry choices (reference/ncloud-model.md §3 "Roles"). */
export const ROLE_SESSION_SECONDS = [600, 1800, 3600, 10800] as const;
export const DEFAULT_ROLE_SESSION_SEC = 3600;
/**
 * Roles created through the API, per account. Ncloud publishes no limit; AWS IAM's default quota
 * is 1000 roles per account. SSO roles do not count: they are bounded by the SSO assignments.
 */
export const ROLE_LIMIT = 1000;
/** Target accounts of one account role (Ncloud is silent; keeps the document and trust list small). */
export const ROLE_TARGET_ACCOUNT_LIMIT = 50;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const roleSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    roleId: { type: String, required: true },
    roleName: { type: String, required: true },
    roleNameKey: { type: String, required: true },
    roleType: { type: String, enum: ROLE_TYPES, required: true },
    description: { type: String, default: '' },
    sessionExpirationSec: { type: Number, default: DEFAULT_ROLE_SESSION_SEC },
    status: { type: String, enum: ['active', 'suspended'], default: 'active' },
    policyIds: { type: [String], default: [] },
    /** Account roles: member numbers of the accounts whose sub accounts may switch in. */
    targetAccounts: { type: [Number], default: [] },
    /** SSO roles: the assignment that provisioned it. */
    ssoAssignmentId: { type: String, default: null },
    lastUseTime: { type: Date, default: null },
    credentialGeneration: { type: Number, default: 0 },
    tags: { type: [tag], default: [] },
  },
  { timestamps: true, collection: 'roles' },
);
roleSchema.index({ roleId: 1 }, { unique: true });
roleSchema.index({ accountId: 1, roleNameKey: 1 }, { unique: true });
roleSchema.index({ accountId: 1, policyIds: 1 });
// The role list filtered by type, in name order.
roleSchema.index({ accountId: 1, roleType: 1, roleNameKey: 1 });
roleSchema.plugin(scopePlugin, { key: 'accountId' });

export type RoleDoc = InferSchemaType<typeof roleSchema>;
export const Role = mongoose.model('Role', roleSchema);
