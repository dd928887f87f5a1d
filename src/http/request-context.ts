/**
 * Request id and structured request logging. An incoming `X-Request-Id` is kept when it looks
 * like an id (so a load balancer's id threads through), otherwise a new UUID is made; the id is
 * echoed in the response and carried by every log line of the request.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from '../shared/logger.js';
import { clientIp } from './client-ip.js';

const SAFE_ID = /^[A-Za-z0-9._:-]{8,128}$/;

export function requestContext(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    genReqId(req, res) {
      const incoming = req.headers['x-request-id'];
      const id = typeof incoming === 'string' && SAFE_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('X-Request-Id', id);
      return id;
    },
    customLogLevel(_req, res, err) {
      if (err || res.statusCode >= 500) return 'error';
      return 'info';
    },
    autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' || req.url === '/metrics' },
    serializers: {
      req(req: { id: unknown; method: string; url: string; raw: Parameters<typeof clientIp>[0] }) {
        // The query string can carry codes and tokens (OAuth): log the path only.
        return { id: req.id, method: req.method, path: req.url.split('?')[0], ip: clientIp(req.raw) };
      },
      res(res: { statusCode: number }) {
        return { statusCode: res.statusCode };
      },
    },
  });
}
