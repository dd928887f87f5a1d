/**
 * OAuth clients are the tenant's `OAUTH2` applications (src/sso/applications/application.model.ts),
 * found by `protocolKey = oidc:{clientId}`. This maps an application to oidc-provider client
 * metadata (RFC 7591 names) and keeps what Gatehouse itself needs (token lifetimes, who may sign
 * in, consent page) beside it.
 *
 * Choices (issue 8 "Grants and policies"):
 * - Only `code` is ever a response type (RFC 9700 §2.1.2: no implicit, no hybrid), whatever an
 *   imported Ncloud setting says (Ncloud lists `token`).
 * - Grant types are limited to authorization_code, refresh_token and client_credentials; client
 *   credentials only for confidential applications.
 * - A public application authenticates with `none` (and must use PKCE); a confidential one with
 *   its configured method (client_secret_basic / client_secret_post / private_key_jwt).
 * - The client secret is decrypted into the metadata, in memory only, for oidc-provider's
 *   constant-time comparison.
 */
import type { AdapterPayload, ClientAuthMethod } from 'oidc-provider';
import type { Keyring } from '../db/encryption.js';
import { Application, applicationSecretContext, oidcProtocolKey, type StoredApplication } from '../sso/applications/application.model.js';
import { DEFAULT_ACCESS_TOKEN_TTL_SEC, DEFAULT_REFRESH_TOKEN_TTL_SEC } from './lifetimes.js';

const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials']);
const AUTH_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);

/** What Gatehouse keeps about a client besides its protocol metadata. */
export interface ClientApplication {
  applicationId: string;
  name: string;
  clientId: string;
  accessScope: 'ALL_USERS' | 'ASSIGNED';
  accessTokenTtlSec: number;
  refreshTokenTtlSec: number;
  consentPage: StoredApplication['consentPage'];
  initiateLoginUri: string | null;
}

export interface LoadedClient {
  metadata: AdapterPayload;
  app: ClientApplication;
}

export async function loadOidcApplication(tenantId: string, clientId: string): Promise<StoredApplication | null> {
  if (clientId.length === 0 || clientId.length > 200) return null;
  return Application.findOne({ tenantId, protocolKey: oidcProtocolKey(clientId), protocol: 'OAUTH2' }).select('+clientSecretEncrypted').lean<StoredApplication>();
}

export function clientOf(app: StoredApplication, keyring: Keyring): LoadedClient | undefined {
  const o = app.oidc;
  if (!o) return undefined;
  const isPublic = o.accessType === 'public';
  const authMethod = isPublic ? 'none' : AUTH_METHODS.has(o.clientAuthMethod) && o.clientAuthMethod !== 'none' ? o.clientAuthMethod : 'client_secret_basic';
  const grantTypes = o.grantTypes.filter((g) => GRANT_TYPES.has(g) && !(isPublic && g === 'client_credentials'));
  const codeFlow = grantTypes.includes('authorization_code');
  const metadata: AdapterPayload = {
    client_id: o.clientId,
    client_name: app.name,
    application_type: app.applicationType === 'APP' ? 'native' : 'web',
    grant_types: grantTypes,
    response_types: codeFlow ? ['code'] : [],
    redirect_uris: codeFlow ? [...o.redirectUris] : [],
    post_logout_redirect_uris: [...o.postLogoutRedirectUris],
    token_endpoint_auth_method: authMethod as ClientAuthMethod,
    scope: [...new Set(['openid', ...o.scopes])].join(' '),
  };
  if (authMethod === 'client_secret_basic' || authMethod === 'client_secret_post') {
    if (!app.clientSecretEncrypted) return undefined; // a confidential client without a secret cannot authenticate
    metadata.client_secret = keyring.decrypt(app.clientSecretEncrypted, applicationSecretContext(app.tenantId, app.applicationId));
  }
  if (authMethod === 'private_key_jwt') {
    if (!o.jwks) return undefined;
    metadata.jwks = JSON.parse(o.jwks) as AdapterPayload['jwks'];
  }
  if (o.backchannelLogoutUri) {
    metadata.backchannel_logout_uri = o.backchannelLogoutUri;
    metadata.backchannel_logout_session_required = true;
  }
  if (o.initiateLoginUri) metadata.initiate_login_uri = o.initiateLoginUri;
  return {
    metadata,
    app: {
      applicationId: app.applicationId,
      name: app.name,
      clientId: o.clientId,
      accessScope: app.accessScope === 'ASSIGNED' ? 'ASSIGNED' : 'ALL_USERS',
      accessTokenTtlSec: o.accessTokenValiditySec || DEFAULT_ACCESS_TOKEN_TTL_SEC,
      refreshTokenTtlSec: o.refreshTokenValiditySec || DEFAULT_REFRESH_TOKEN_TTL_SEC,
      consentPage: app.consentPage,
      initiateLoginUri: o.initiateLoginUri ?? null,
    },
  };
}
