import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout stays free for command output such as `--json`).
 *
 * `LOG_LEVEL` overrides the level; `LOG_PRETTY=1` is not supported on purpose: one format
 * everywhere keeps logs machine-readable in every environment.
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name: service,
      level,
      redact: {
        paths: ['databaseUrl', '*.databaseUrl', 'password', '*.password', 'authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** A logger that drops everything, for tests and libraries called without one. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Hides the password of a connection URL before it is logged or printed. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '[unparseable url]';
  }
}
