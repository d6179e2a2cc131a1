import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { requestLogger } from './request-context.js';

/** The body of every error response: a stable code a client can branch on, and a message. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** 404 for any route that no handler matched. */
export const unknownRoute: RequestHandler = (req, _res, next) => {
  next(new AppError('ROUTE_NOT_FOUND', `no route for ${req.method} ${req.path}`, { status: 404 }));
};

/**
 * Turns every thrown error into a JSON error body. Client errors are logged at info (they are
 * the caller's mistake, not an incident); server errors at error, with the stack.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) return next(error);

    const appError = toAppError(error);
    const requestLog = requestLogger(req, logger);
    const log =
      appError.status >= 500 ? requestLog.error.bind(requestLog) : requestLog.info.bind(requestLog);
    log(
      { err: appError.status >= 500 ? error : undefined, code: appError.code, path: req.path },
      'request error',
    );

    const body: ErrorBody = {
      error: {
        code: appError.code,
        message: appError.status >= 500 ? 'internal error' : appError.message,
        ...(Object.keys(appError.details).length > 0 ? { details: appError.details } : {}),
      },
    };
    res.status(appError.status).json(body);
  };
}

/** Maps express/body-parser errors (which carry `status` and `type`) to stable codes. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;

  const candidate = error as { status?: number; type?: string; message?: string };
  if (candidate.type === 'entity.too.large') {
    return new AppError('BODY_TOO_LARGE', 'request body exceeds the size limit', { status: 413 });
  }
  if (candidate.type === 'entity.parse.failed') {
    return new AppError('MALFORMED_JSON', 'request body is not valid JSON', { status: 400 });
  }
  if (typeof candidate.status === 'number' && candidate.status >= 400 && candidate.status < 500) {
    return new AppError('BAD_REQUEST', candidate.message ?? 'bad request', {
      status: candidate.status,
    });
  }
  return new AppError('INTERNAL', 'internal error', { cause: error });
}
