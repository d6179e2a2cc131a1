import express, { type RequestHandler } from 'express';
import { AppError } from '../errors.js';

/** Default JSON body limit for the HTTP APIs. */
export const DEFAULT_JSON_LIMIT = '1mb';

const UNITS: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

/**
 * A size in bytes from a count (`65536`) or a count with a unit (`64kb`, `1mb`, `1.5mb`), or
 * undefined when the text is neither: the caller reports it, since body-parser would read an
 * unparseable limit as "no limit".
 */
export function parseByteSize(size: string | number): number | undefined {
  if (typeof size === 'number') return Number.isSafeInteger(size) && size >= 0 ? size : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$/i.exec(size);
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

function limitInBytes(limit: string | number): number {
  const bytes = parseByteSize(limit);
  if (bytes === undefined) {
    throw new Error(`body limit ${JSON.stringify(limit)} is not a size such as 65536, 64kb or 1mb`);
  }
  return bytes;
}

/**
 * A JSON body parser with a size limit; bodies over it fail with BODY_TOO_LARGE (413) and
 * malformed ones with MALFORMED_JSON (400) through `errorHandler`.
 */
export function jsonBody(limit: string | number = DEFAULT_JSON_LIMIT): RequestHandler {
  return express.json({ limit: limitInBytes(limit), strict: true });
}

/** Methods whose routes read a body; a body sent with any other is never read. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * Keeps clients from making the server read bodies it will not use, so that no request, with
 * or without a valid API key, makes it read more than `limit` bytes:
 *
 * - a declared Content-Length over `limit` is refused at once with 413 BODY_TOO_LARGE (the
 *   JSON parser would first read the whole body and throw it away, however large);
 * - a body without a Content-Length (chunked) on a method that takes a body is refused with
 *   411 LENGTH_REQUIRED: its size is unknown until it has been read, and the JSON parser reads
 *   the rest of an over-limit body before answering, as Node does for any body a response
 *   leaves unread;
 * - a body sent with a method whose routes take none (GET, DELETE, ...) gets its response and
 *   then the connection is closed, since Node would otherwise read the rest of it to reuse
 *   the connection.
 *
 * A refused request's connection is closed after the response; a client still sending may
 * see the connection reset instead.
 */
export function bodyLimitGuard(limit: string | number = DEFAULT_JSON_LIMIT): RequestHandler {
  const maxBytes = limitInBytes(limit);
  return (req, res, next) => {
    const declared = req.headers['content-length'];
    const chunked = declared === undefined && req.headers['transfer-encoding'] !== undefined;
    if (declared === undefined && !chunked) return next();
    if (declared === '0') return next();

    const takesBody = BODY_METHODS.has(req.method);
    if (declared !== undefined && Number(declared) > maxBytes) {
      res.setHeader('Connection', 'close');
      return next(
        new AppError(
          'BODY_TOO_LARGE',
          `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`,
          { status: 413, details: { limitBytes: maxBytes } },
        ),
      );
    }
    if (chunked && takesBody) {
      res.setHeader('Connection', 'close');
      return next(
        new AppError(
          'LENGTH_REQUIRED',
          `send the request body with a Content-Length (at most ${maxBytes} bytes); ` +
            'chunked bodies are not accepted',
          { status: 411, details: { limitBytes: maxBytes } },
        ),
      );
    }
    if (!takesBody) res.setHeader('Connection', 'close');
    next();
  };
}
