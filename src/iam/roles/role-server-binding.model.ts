/**
 * Which server role a server has (seed S1 Change/attachRoleToServer; reference/ncloud-model.md
 * §3 "Roles": Server roles are for VPC servers, one role per server). Gatehouse runs no servers:
 * the server NRN is stored as data. One document per attachment, unique per (account, server
 * NRN), is what makes "one role per server" hold under concurrent attaches without transactions
 * (ARCHITECTURE.md "Storage": uniqueness only through unique indexes).
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

const roleServerBindingSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    serverNrn: { type: String, required: true },
    roleId: { type: String, required: true },
  },
  { timestamps: true, collection: 'role_server_bindings' },
);
roleServerBindingSchema.index({ accountId: 1, serverNrn: 1 }, { unique: true });
roleServerBindingSchema.index({ accountId: 1, roleId: 1, serverNrn: 1 });
roleServerBindingSchema.plugin(scopePlugin, { key: 'accountId' });

export type RoleServerBindingDoc = InferSchemaType<typeof roleServerBindingSchema>;
export const RoleServerBinding = mongoose.model('RoleServerBinding', roleServerBindingSchema);
