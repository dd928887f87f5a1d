/**
 * The Single Sign-On tenant of an account (reference/ncloud-model.md §1 "Tenant": one per
 * account, path `/tenant`). `tenantId` names it in issuers and entity IDs; `tenantAlias` is the
 * changeable URL segment (unique across accounts through `aliasKey`). Every other SSO document
 * is scoped by `tenantId`.
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { scopePlugin } from '../../db/plugins/scope.js';

const tag = new Schema({ key: { type: String, required: true }, value: { type: String, default: '' } }, { _id: false });

export const IDLE_SESSION_SECONDS = [600, 1800, 3600, 10800] as const;

const tenantSchema = new Schema(
  {
    accountId: { type: Number, required: true },
    tenantId: { type: String, required: true },
    tenantAlias: { type: String, required: true },
    aliasKey: { type: String, required: true },
    /** `mbrLoginAllow` / `memberLoginPolicy`: UNUSED (follow each application), ALLOW, DENY. */
    memberLoginPolicy: { type: String, enum: ['UNUSED', 'ALLOW', 'DENY'], default: 'UNUSED' },
    /** ≤300 characters (reference §1 "Common conventions"). */
    description: { type: String, default: '' },
    termsAcceptedAt: { type: Date, required: true },
    organizationEnabled: { type: Boolean, default: false },
    organizationEnabledAt: { type: Date, default: null },
    /** Login settings (`change/updateLoginSetting`), enforced by the sign-in pipeline. */
    loginSettings: {
      idleSessionExpirationSeconds: { type: Number, default: 3600 },
      multipleLoginAllowed: { type: Boolean, default: true },
      possessionAuthenticationEnabled: { type: Boolean, default: false },
      possessionAuthenticationTypes: { type: [String], default: [] },
      multiFactorAuthenticationEnabled: { type: Boolean, default: false },
      // Gatehouse additions (issue 6): sign-in methods, local password policy, lockout.
      localPasswordEnabled: { type: Boolean, default: true },
      externalIdpEnabled: { type: Boolean, default: false },
      passwordMinLength: { type: Number, default: 12 },
      lockoutThreshold: { type: Number, default: 5 },
      lockoutDurationSeconds: { type: Number, default: 900 },
    },
    /** The attribute mapper ("user profile settings"): per profile field. */
    attributeMapper: { type: Schema.Types.Mixed, default: {} },
    /** Configurable cap on users (Ncloud's 100 is a product cap; Gatehouse serves a million). */
    userLimit: { type: Number, default: 1_000_000 },
    tags: { type: [tag], default: [] },
    /**
     * Bumped by every change. Updates that merge a request into stored state (login settings,
     * tags) write the whole merged value under `revision: <read>` and retry on a miss, so each
     * stored value is one that was validated as a whole.
     */
    revision: { type: Number, default: 0 },
    /** Created by the demo seeding of the embedded default start (src/sso/demo.ts); its content is seeded once, then `demoSeededAt` is set. */
    demo: { type: Boolean, default: false },
    demoSeededAt: { type: Date, default: null },
    /** Set while a delete checks for remaining users, groups, … (a short lock; see tenant.service.ts). */
    deletingSince: { type: Date, default: null },
  },
  { timestamps: true, collection: 'sso_tenants', minimize: false },
);
tenantSchema.index({ accountId: 1 }, { unique: true });
tenantSchema.index({ tenantId: 1 }, { unique: true });
tenantSchema.index({ aliasKey: 1 }, { unique: true });
tenantSchema.plugin(scopePlugin, { key: 'accountId' });

export type TenantDoc = InferSchemaType<typeof tenantSchema>;
export const Tenant = mongoose.model('Tenant', tenantSchema);
