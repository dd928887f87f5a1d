import { pino, type Logger } from 'pino';
import type { Config } from '../config.js';

export type { Logger };

/**
 * JSON logs (one object a line) for machines; LOG_PRETTY=true for humans in development.
 * Credentials never reach a log line: the paths below are redacted wherever they appear.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'logPretty'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'gatehouse' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'req.headers["x-ncp-apigw-signature-v2"]',
        'res.headers["set-cookie"]',
        '*.password',
        '*.secret',
        '*.secretKey',
        '*.keySecret',
        '*.clientSecret',
      ],
      censor: '[redacted]',
    },
    ...(config.logPretty ? { transport: { target: 'pino-pretty', options: { colorize: true } } } : {}),
  });
}
