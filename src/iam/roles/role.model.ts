/**
 * A role (reference/ncloud-model.md §3 "Roles"): SSO roles are provisioned by Single Sign-On
 * assignments; account roles let sub accounts (of this or a named foreign account) switch into
 * them; server and service roles are stored as data. Suspension bumps `credentialGeneration`,
 * which ends role sessions and STS credentials issued for the role at once.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

export const ROLE_TYPES = ['SSO', 'Account', 'Server', 'Service'] as const;
export const ROLE_SESSION_SECONDS = [600, 1800, 3600, 10800] as const;

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

const roleSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    roleId: { type: String, required: true },
    roleName: { type: String, required: true },
    roleNameKey: { type: String, required: true },
    roleType: { type: String, enum: ROLE_TYPES, required: true },
    description: { type: String, default: '' },
    sessionExpirationSec: { type: Number, default: 3600 },
    status: { type: String, enum: ['active', 'suspended'], default: 'active' },
    policyIds: { type: [String], default: [] },
    /** Account roles: member numbers of the accounts whose sub accounts may switch in. */
    targetAccounts: { type: [Number], default: [] },
    /** Server roles: server resource NRNs (stored as data; Gatehouse runs no servers). */
    serverNrns: { type: [String], default: [] },
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
roleSchema.plugin(scopePlugin, { key: 'accountId' });

export type RoleDoc = InferSchemaType<typeof roleSchema>;
export const Role = mongoose.model('Role', roleSchema);
