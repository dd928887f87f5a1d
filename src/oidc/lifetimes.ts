/**
 * Token and artifact lifetimes of the OpenID Provider that are not per application (the access
 * and refresh token lifetimes come from each application's settings). Keycloak's defaults where
 * Ncloud is silent.
 */
/** ID tokens (and logout tokens) live one hour, as oidc-provider's and Keycloak's defaults. */
export const ID_TOKEN_TTL_SEC = 3600;
/** Authorization codes: one minute (RFC 9700 §4.5: short-lived, single use). */
export const AUTHORIZATION_CODE_TTL_SEC = 60;
/** Client-credentials tokens when the application sets no access token lifetime. */
export const DEFAULT_ACCESS_TOKEN_TTL_SEC = 3600;
export const DEFAULT_REFRESH_TOKEN_TTL_SEC = 14 * 86400;
/** A pending authorization (the browser is at the login or consent page). */
export const INTERACTION_TTL_SEC = 15 * 60;
/** oidc-provider's session and grants: no longer than the Gatehouse session (12 h absolute), which they are tied to. */
export const PROVIDER_SESSION_TTL_SEC = 12 * 3600;
