/**
 * One error vocabulary for every cml-rec process.
 *
 * Each error carries a stable machine-readable `code`, an optional HTTP status for the API
 * layers, a `retriable` flag that the consumers and jobs use to choose between retrying and
 * giving up, and the underlying `cause`.
 */
export interface AppErrorOptions {
  status?: number;
  retriable?: boolean;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status ?? 500;
    this.retriable = options.retriable ?? false;
    this.details = options.details ?? {};
  }
}

/** Thrown at start-up when configuration is invalid; lists every problem at once. */
export class ConfigError extends AppError {
  readonly problems: string[];

  constructor(problems: string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Input data (a file, a message, a request) that cannot be used as given. */
export class InputError extends AppError {
  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(code, message, { status: 400, ...options });
    this.name = 'InputError';
  }
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
