/**
 * The user's consents, for the profile page (issue 7: "consents (filled in by the OIDC issue)").
 * The OIDC module registers a provider with `setPortalConsentProvider` at start; the portal lists
 * what it returns and, for a withdrawal, calls `withdraw`. Without a provider the section shows
 * its empty state.
 */
export interface PortalConsent {
  consentId: string;
  applicationName: string;
  scopes: string[];
  consentedAt: Date;
}

export interface PortalConsentProvider {
  list(tenantId: string, userId: string): Promise<PortalConsent[]>;
  /** Withdraws one consent of this user; false when there was none. */
  withdraw(tenantId: string, userId: string, consentId: string): Promise<boolean>;
}

let provider: PortalConsentProvider | undefined;

export function setPortalConsentProvider(p: PortalConsentProvider | undefined): void {
  provider = p;
}

export async function listPortalConsents(tenantId: string, userId: string): Promise<PortalConsent[]> {
  return provider ? provider.list(tenantId, userId) : [];
}
