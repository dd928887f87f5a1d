/**
 * The user's consents on the profile page (issue 7: "consents (filled in by the OIDC issue)").
 * By default they come from the consent records the protocols write (src/sso/consents:
 * `listUserConsents`, `withdrawConsent`, whose withdrawal listeners revoke the OIDC grants);
 * `setPortalConsentProvider` replaces the source (tests, or a module that keeps its own).
 */
import { listUserConsents, withdrawConsent } from '../sso/consents/consent.service.js';

export interface PortalConsent {
  consentId: string;
  applicationName: string;
  scopes: string[];
  consentedAt: Date;
}

export interface PortalConsentProvider {
  list(tenantId: string, userId: string): Promise<PortalConsent[]>;
  /** Withdraws one consent of this user (NOT_FOUND when it is not this user's). */
  withdraw(tenantId: string, userId: string, consentId: string): Promise<void>;
}

const recordedConsents: PortalConsentProvider = {
  async list(tenantId, userId) {
    return (await listUserConsents(tenantId, userId)).map((c) => ({
      consentId: c.consentId,
      applicationName: c.applicationName ?? c.applicationId,
      scopes: c.scopes,
      consentedAt: new Date(c.consentedAt),
    }));
  },
  async withdraw(tenantId, userId, consentId) {
    await withdrawConsent(tenantId, userId, consentId);
  },
};

let provider: PortalConsentProvider = recordedConsents;

export function setPortalConsentProvider(p: PortalConsentProvider | undefined): void {
  provider = p ?? recordedConsents;
}

export function listPortalConsents(tenantId: string, userId: string): Promise<PortalConsent[]> {
  return provider.list(tenantId, userId);
}

export function withdrawPortalConsent(tenantId: string, userId: string, consentId: string): Promise<void> {
  return provider.withdraw(tenantId, userId, consentId);
}
