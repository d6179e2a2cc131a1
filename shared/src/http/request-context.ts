import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logging/logger.js';

// A caller's id is reused only when it looks like an id: short, printable, no spaces.
const ACCEPTED_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id and logger `requestContext` attached to the request. */
export function requestLogger(req: Request, fallback: Logger): Logger {
  return (req as Request & { log?: Logger }).log ?? fallback;
}

/**
 * Gives every request an id (the caller's `x-request-id` when it is a sane one, else a new
 * UUID), echoes it in the response header, binds it to a child logger, and logs one line per
 * finished request with method, route, status and duration: 5xx at error, 4xx at info (a
 * client's mistake is not an incident), the rest at debug so that probes and traffic do not
 * flood the logs.
 */
export function requestContext(logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('x-request-id');
    const requestId = header && ACCEPTED_REQUEST_ID.test(header) ? header : randomUUID();
    const log = logger.child({ requestId });
    (req as Request & { log?: Logger }).log = log;
    res.setHeader('x-request-id', requestId);

    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const fields = {
        method: req.method,
        path: req.route?.path ?? req.path,
        status: res.statusCode,
        durationMs: Number(process.hrtime.bigint() - started) / 1e6,
      };
      if (res.statusCode >= 500) log.error(fields, 'request failed');
      else if (res.statusCode >= 400) log.info(fields, 'request refused');
      else log.debug(fields, 'request served');
    });
    next();
  };
}
