import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { AppError, ConfigError } from '../errors.js';

/** Paths that orchestrators probe without credentials. */
export const UNAUTHENTICATED_PATHS: readonly string[] = ['/healthz', '/readyz'];

export interface ApiKeyGuardOptions {
  /** Accepted bearer tokens (API_KEYS). */
  keys: readonly string[];
  /** True only when AUTH_DISABLED=true was set explicitly. */
  disabled: boolean;
  /** Paths served without a token; defaults to the health probes. */
  openPaths?: readonly string[];
}

/**
 * Requires `Authorization: Bearer <key>` with one of the configured keys on every path but
 * the health probes. Refuses to start with no keys unless auth was explicitly disabled, so a
 * missing secret never silently opens the API.
 *
 * Keys are compared as SHA-256 digests with `timingSafeEqual`: the digests have one length
 * whatever the key's, so neither the content nor the length of a key leaks through timing,
 * and every configured key is compared on every request.
 */
export function apiKeyGuard(options: ApiKeyGuardOptions): RequestHandler {
  const openPaths = new Set(options.openPaths ?? UNAUTHENTICATED_PATHS);
  if (options.disabled) return (_req, _res, next) => next();

  const keys = options.keys.filter((key) => key.length > 0);
  if (keys.length === 0) {
    throw new ConfigError(['API_KEYS: at least one key is required unless AUTH_DISABLED=true']);
  }
  const digests = keys.map(digest);

  return (req, _res, next) => {
    if (openPaths.has(req.path)) return next();

    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      return next(
        new AppError('UNAUTHENTICATED', 'missing bearer token in the Authorization header', {
          status: 401,
        }),
      );
    }

    const presented = digest(match[1]);
    let accepted = false;
    for (const expected of digests) {
      // No early exit: the time taken does not say which key (if any) matched.
      accepted = timingSafeEqual(presented, expected) || accepted;
    }
    if (!accepted) {
      return next(new AppError('UNAUTHENTICATED', 'invalid API key', { status: 401 }));
    }
    next();
  };
}

/** Parses API_KEYS (comma-separated, blanks ignored). */
export function parseApiKeys(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key.length > 0);
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
