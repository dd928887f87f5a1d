/**
 * Every failure of a SAML IdP endpoint ends here (issue 9 "one generic error page for every
 * failure (no redirect to an unverified URL), every rejection logged and audited").
 *
 * `SamlRejection` carries a machine reason for the log and the audit record; the browser sees
 * one generic page whatever the reason (no oracle for an attacker probing signatures, ACS URLs
 * or decryption). Where the message came from a registered SP, the rejection is also written as
 * a HistoryEvent on the application's NRN (action `SAML/rejectRequest`, result `denied`), so the
 * tenant's admins see it in the application's history; rejections of unknown issuers are only
 * logged (a security log line), so anonymous traffic cannot fill the audit collection.
 */
import type { Request } from 'express';
import { clientIp } from '../../http/client-ip.js';
import { recordHistory } from '../../resources/history/history.service.js';
import type { Logger } from '../../shared/logger.js';
import { ssoNrn } from '../../sso/tenant/tenant-context.js';

export type SamlRejectReason =
  | 'malformed'
  | 'tooLarge'
  | 'doctype'
  | 'schema'
  | 'unknownSp'
  | 'spMetadataExpired'
  | 'acsNotRegistered'
  | 'bindingUnsupported'
  | 'unsignedRequest'
  | 'badSignature'
  | 'weakAlgorithm'
  | 'signatureWrapping'
  | 'staleRequest'
  | 'pendingUnknown'
  | 'accessDenied'
  | 'idpInitiatedOff'
  | 'csrf'
  | 'noSession'
  | 'logoutUnknown'
  | 'noSigningKey'
  | 'encryption';

export class SamlRejection extends Error {
  readonly reason: SamlRejectReason;
  /** The SP the message named, when it is a registered one (for the audit record). */
  readonly sp: { applicationId: string; entityId: string } | null;

  constructor(reason: SamlRejectReason, detail: string, sp: { applicationId: string; entityId: string } | null = null) {
    super(detail);
    this.name = 'SamlRejection';
    this.reason = reason;
    this.sp = sp;
  }
}

export function withSp(err: unknown, sp: { applicationId: string; entityId: string }): unknown {
  if (err instanceof SamlRejection && !err.sp) return new SamlRejection(err.reason, err.message, sp);
  return err;
}

/** Logs (always) and audits (registered SP) a rejection. Never throws. */
export async function recordRejection(
  req: Request,
  tenant: { tenantId: string; accountId: number },
  endpoint: string,
  err: SamlRejection,
  logger: Logger,
): Promise<void> {
  const ip = clientIp(req);
  logger.warn(
    { event: 'saml.rejected', endpoint, reason: err.reason, detail: err.message, tenantId: tenant.tenantId, entityId: err.sp?.entityId ?? null, ip },
    'SAML message rejected',
  );
  if (!err.sp) return;
  await recordHistory(
    {
      accountId: tenant.accountId,
      tenantId: tenant.tenantId,
      action: 'SAML/rejectRequest',
      nrn: ssoNrn(tenant.accountId, 'Application', err.sp.applicationId),
      result: 'denied',
      errorCode: err.reason,
      actor: { kind: 'SamlServiceProvider', id: err.sp.entityId.slice(0, 256), name: '', via: endpoint },
      sourceIp: ip,
      requestId: String((req as Request & { id?: unknown }).id ?? ''),
    },
    logger,
  );
}
