/**
 * The one error middleware: every error leaves as `{ error: { errorCode, message, detail,
 * fieldErrors } }` with the status of its code (src/shared/errors.ts). Unknown errors become a
 * generic 500 with the request id; the stack goes to the log, never to the client.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';
import { AppError, isDuplicateKeyError } from '../shared/errors.js';

export function zodToAppError(err: ZodError): AppError {
  return new AppError('VALIDATION_FAILED', undefined, {
    fieldErrors: err.issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message })),
  });
}

/** Maps what libraries throw (body-parser, zod, the MongoDB driver) onto the code table. */
export function toAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (err instanceof ZodError) return zodToAppError(err);
  if (isDuplicateKeyError(err)) return new AppError('CONFLICT', 'a resource with the same unique value already exists');
  if (typeof err === 'object' && err !== null && 'type' in err) {
    // body-parser errors carry a `type`; their messages are safe but we keep ours uniform.
    switch ((err as { type: unknown }).type) {
      case 'entity.parse.failed':
        return new AppError('MALFORMED_JSON');
      case 'entity.too.large':
        return new AppError('PAYLOAD_TOO_LARGE');
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return new AppError('UNSUPPORTED_MEDIA_TYPE');
      case 'request.aborted':
        return new AppError('BAD_REQUEST', 'the request was aborted by the client');
      default:
        break;
    }
  }
  return undefined;
}

export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new AppError('NOT_FOUND', `no route for ${req.method} ${req.path}`));
};

export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, next) => {
  if (res.headersSent) {
    next(err);
    return;
  }
  const known = toAppError(err);
  const appError = known ?? new AppError('INTERNAL', `request id ${String(req.id)}`);
  if (!known || appError.status >= 500) {
    req.log.error({ err }, 'request failed');
  } else {
    req.log.info({ errorCode: appError.code, status: appError.status }, appError.message);
  }
  res.status(appError.status).json(appError.toBody());
};
