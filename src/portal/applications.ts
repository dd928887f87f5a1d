/**
 * The applications a user may launch from the portal (issue 7 "User portal": "filled in as the
 * protocol issues land"). The OIDC and SAML modules fill this in: return the tenant's
 * applications the user may use (`accessScope` ALL_USERS, or ASSIGNED to the user or one of its
 * groups), each with the URL that starts a sign-in to it. Until then the portal shows its empty
 * state.
 */
export interface PortalApplication {
  applicationId: string;
  name: string;
  protocol: 'OAUTH2' | 'SAML';
  /**
   * Where the launch goes: a same-origin path (SAML IdP-initiated launch is a POST with the portal
   * CSRF token, ARCHITECTURE.md "Endpoint map") or the application's own URL (OIDC apps start their
   * own sign-in).
   */
  launch: { method: 'GET'; url: string } | { method: 'POST'; path: string };
  description?: string;
}

export async function listPortalApplications(_tenantId: string, _userId: string): Promise<PortalApplication[]> {
  return [];
}
