/**
 * Records audit/history events. A failure to record is logged, never turned into a failed admin
 * call after the change already happened (the change is the source of truth; the log line keeps
 * the event).
 */
import type { Logger } from '../../shared/logger.js';
import { HistoryEvent } from './history-event.model.js';

export interface HistoryInput {
  accountId: number;
  action: string;
  nrn: string;
  result: 'success' | 'denied' | 'failed';
  errorCode?: string | null;
  actor: { kind: string; id: string; name: string; via: string; sourceIdentityId?: string };
  sourceIp: string;
  requestId: string;
  tenantId?: string | null;
  decisive?: unknown[];
}

export async function recordHistory(event: HistoryInput, logger: Logger): Promise<void> {
  try {
    await HistoryEvent.create({ ...event, at: new Date() });
  } catch (err) {
    logger.error({ err, event }, 'could not record the audit event');
  }
}
