/**
 * The SMTP transport of notifications (issue 7 "Notifications transport"): nodemailer, configured
 * by one URL (`GATEHOUSE_SMTP_URL`, e.g. `smtp://user:pass@mail.example.com:587`) and a sender
 * (`GATEHOUSE_MAIL_FROM`).
 *
 * - `smtps://` is implicit TLS (port 465 by default); `smtp://` upgrades with STARTTLS when the
 *   server offers it (port 587 by default). Credentials never cross the network in clear: with a
 *   user in the URL and a host that is not loopback, STARTTLS is required (`requireTLS`), unless
 *   the URL says `?requireTLS=false`. Certificates are verified (nodemailer's default).
 * - Timeouts are short (10 s to connect and greet, 20 s idle), so a dead mail server turns into a
 *   prompt 503 for the admin who asked for a reset link, not a request hanging for minutes.
 * - `describeSmtp` is what start-up logs: scheme, host and port, never the user or password.
 * - One connection per message (no pool): reset links and one-time codes are rare, and a pool's
 *   idle sockets would need closing at shutdown.
 */
import { isIP } from 'node:net';
import { createTransport } from 'nodemailer';
import type { Notification, Notifier } from './notifier.js';

export interface SmtpSettings {
  url: string;
  from: string;
}

interface SmtpOptions {
  host: string;
  port: number;
  secure: boolean;
  requireTLS: boolean;
  auth?: { user: string; pass: string };
  connectionTimeout: number;
  greetingTimeout: number;
  socketTimeout: number;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/** nodemailer options from the URL (parsed here, so what is logged and what is used cannot differ). */
export function smtpOptions(rawUrl: string): SmtpOptions {
  const url = new URL(rawUrl);
  const secure = url.protocol === 'smtps:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const user = decodeURIComponent(url.username);
  const explicitTls = url.searchParams.get('requireTLS');
  const options: SmtpOptions = {
    host,
    port: url.port ? Number(url.port) : secure ? 465 : 587,
    secure,
    requireTLS: !secure && (explicitTls === null ? user !== '' && !isLoopback(url.hostname) : explicitTls === 'true'),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  };
  if (user !== '') options.auth = { user, pass: decodeURIComponent(url.password) };
  return options;
}

/** `smtp://mail.example.com:587 (STARTTLS required, authenticated)`: for logs; no credentials. */
export function describeSmtp(rawUrl: string): string {
  const o = smtpOptions(rawUrl);
  const host = isIP(o.host) === 6 ? `[${o.host}]` : o.host;
  const tls = o.secure ? 'implicit TLS' : o.requireTLS ? 'STARTTLS required' : 'STARTTLS when offered';
  return `${o.secure ? 'smtps' : 'smtp'}://${host}:${o.port} (${tls}${o.auth ? ', authenticated' : ''})`;
}

export class SmtpNotifier implements Notifier {
  readonly transport = 'smtp' as const;
  readonly description: string;
  private readonly mailer: ReturnType<typeof createTransport>;
  private readonly from: string;

  constructor(settings: SmtpSettings) {
    this.mailer = createTransport(smtpOptions(settings.url));
    this.from = settings.from;
    this.description = describeSmtp(settings.url);
  }

  async send(n: Notification): Promise<void> {
    await this.mailer.sendMail({
      from: this.from,
      to: n.to,
      subject: n.subject,
      text: n.text,
      // What the message is for, for mail filters and tests; never its content.
      headers: { 'X-Gatehouse-Kind': n.kind },
    });
  }

  close(): void {
    this.mailer.close();
  }
}
