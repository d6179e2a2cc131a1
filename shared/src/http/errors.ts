import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorRequestHandler, Express, RequestHandler } from 'express';
import { AppError } from '../errors.js';
import type { Logger } from '../logging/logger.js';
import { requestLogger } from './request-context.js';

/** The body of every error response: a stable code a client can branch on, and a message. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

/** The part of express's router that `wrongMethod` reads: its routes and their methods. */
interface RouterStack {
  stack: { route?: { methods: Record<string, boolean> }; match(path: string): boolean }[];
}

/**
 * 405 with an Allow header when the path is one of the app's routes but the method is not
 * (DELETE on a GET route, say): a 404 there would tell the caller the URL is wrong when only
 * the method is. OPTIONS gets 204 with the same header. Mount it after every route and before
 * `unknownRoute`.
 */
export function wrongMethod(app: Express): RequestHandler {
  return (req, res, next) => {
    const router = (app as unknown as { router: RouterStack }).router;
    const allowed = new Set<string>();
    for (const layer of router.stack) {
      if (!layer.route || !layer.match(req.path)) continue;
      for (const method of Object.keys(layer.route.methods)) allowed.add(method.toUpperCase());
    }
    if (allowed.size === 0) return next();

    if (allowed.has('GET')) allowed.add('HEAD');
    allowed.add('OPTIONS');
    const allow = [...allowed].sort().join(', ');
    res.setHeader('Allow', allow);
    // OPTIONS asks exactly this question: answer it rather than call it a wrong method.
    if (req.method === 'OPTIONS') return void res.status(204).end();

    next(
      new AppError(
        'METHOD_NOT_ALLOWED',
        `${req.method} is not allowed on ${req.path}; use ${allow}`,
        {
          status: 405,
        },
      ),
    );
  };
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

/**
 * body-parser's error types with the code and message the client gets (its own messages
 * name internals, and "request body is not valid JSON" must also cover `null`, which strict
 * parsing refuses as not an object or array).
 */
const BODY_PARSER_ERRORS: Record<string, { code: string; message: string }> = {
  'entity.too.large': { code: 'BODY_TOO_LARGE', message: 'request body exceeds the size limit' },
  'entity.parse.failed': {
    code: 'MALFORMED_JSON',
    message: 'request body is not valid JSON or not a JSON object or array',
  },
  'charset.unsupported': {
    code: 'UNSUPPORTED_CHARSET',
    message: 'request body charset is not supported: send JSON in UTF-8',
  },
  'encoding.unsupported': {
    code: 'UNSUPPORTED_ENCODING',
    message: 'Content-Encoding is not supported: send identity, gzip, deflate or br',
  },
  'request.aborted': { code: 'REQUEST_ABORTED', message: 'the client aborted the request body' },
  'request.size.invalid': {
    code: 'BODY_LENGTH_MISMATCH',
    message: 'request body length does not match its Content-Length',
  },
};

/** zlib's errors (Z_DATA_ERROR, ...) from a body that its Content-Encoding does not decode. */
const UNDECODABLE_BODY = {
  code: 'MALFORMED_BODY_ENCODING',
  message: 'request body does not decode as its Content-Encoding says',
};

/** Maps express/body-parser errors (which carry `status` and `type`) to stable codes. */
function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;

  const { status, type, code, message } = error as {
    status?: number;
    type?: string;
    code?: string;
    message?: string;
  };
  if (typeof status !== 'number' || status < 400 || status >= 500) {
    return new AppError('INTERNAL', 'internal error', { cause: error });
  }
  const known =
    (type === undefined ? undefined : BODY_PARSER_ERRORS[type]) ??
    (code?.startsWith('Z_') ? UNDECODABLE_BODY : undefined);
  if (known) return new AppError(known.code, known.message, { status });
  const generic = status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST';
  return new AppError(generic, message ?? 'bad request', { status });
}

/** What Node's HTTP parser refused, as the JSON error every other answer is. */
const CLIENT_ERRORS: Record<string, { status: number; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    code: 'HEADERS_TOO_LARGE',
    message: 'request headers are too large',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    code: 'REQUEST_TIMEOUT',
    message: 'the request was not received in time',
  },
};
const MALFORMED_REQUEST = {
  status: 400,
  code: 'MALFORMED_REQUEST',
  message: 'the request is not valid HTTP/1.1 (request line, headers or Content-Length)',
};

/**
 * Answers requests that Node's HTTP parser refuses before any route sees them (a bad
 * Content-Length, a garbled request line, oversized headers) with a JSON error body and a
 * stable code, as the routes do, instead of Node's bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, code, message } = CLIENT_ERRORS[error.code ?? ''] ?? MALFORMED_REQUEST;
    const body = JSON.stringify({ error: { code, message } });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });
}
