/**
 * Which notification transport a process uses (issue 7): SMTP when `GATEHOUSE_SMTP_URL` is set,
 * the MongoDB outbox otherwise. Start-up says which, in one line, without credentials, so an
 * operator who expected mail and sees "outbox" knows why no one receives reset links.
 */
import type { Config } from '../config.js';
import type { Logger } from '../shared/logger.js';
import { OutboxNotifier, type Notifier } from './notifier.js';
import { SmtpNotifier } from './smtp.js';

export function notifierFromConfig(config: Pick<Config, 'smtp'>, logger: Pick<Logger, 'info'>): Notifier {
  if (config.smtp) {
    const smtp = new SmtpNotifier(config.smtp);
    logger.info({ transport: 'smtp', server: smtp.description, from: config.smtp.from }, `notifications: SMTP via ${smtp.description}`);
    return smtp;
  }
  logger.info({ transport: 'outbox' }, 'notifications: no GATEHOUSE_SMTP_URL, so one-time codes and password links are stored in the MongoDB outbox (collection notification_outbox), not sent');
  return new OutboxNotifier();
}
