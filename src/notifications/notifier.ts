/**
 * How Gatehouse tells people things (one-time codes, password links, certificate expiry): one
 * interface, two transports. SMTP through nodemailer when configured; otherwise the outbox, which
 * stores messages in MongoDB for development, tests and the demo (outbox.model.ts).
 */
import { OutboxMessage, OUTBOX_RETENTION_MS } from './outbox.model.js';

export interface Notification {
  to: string;
  subject: string;
  text: string;
  kind: string;
  tenantId?: string | undefined;
}

export interface Notifier {
  /** Which transport this is, for logs and the demo's hints. */
  readonly transport: 'smtp' | 'outbox';
  send(n: Notification): Promise<void>;
}

export class OutboxNotifier implements Notifier {
  readonly transport = 'outbox' as const;
  async send(n: Notification): Promise<void> {
    await OutboxMessage.create({ ...n, tenantId: n.tenantId ?? null, expiresAt: new Date(Date.now() + OUTBOX_RETENTION_MS) });
  }
}

/** The newest outbox messages to one address (tests, the demo). */
export async function readOutbox(to: string, kind?: string): Promise<Array<{ subject: string; text: string; kind: string; createdAt: Date }>> {
  const filter: Record<string, string> = { to };
  if (kind) filter.kind = kind;
  return OutboxMessage.find(filter).sort({ createdAt: -1 }).limit(20).lean();
}
