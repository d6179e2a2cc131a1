import { AppError, ConfigError, errorMessage } from '../errors.js';
import type { Logger } from '../logging/logger.js';

/** Exit codes a scheduler can act on. */
export const ExitCode = {
  ok: 0,
  /** The run failed; trying again later may work (database down, lock held). */
  failed: 1,
  /** The command line or configuration is wrong; retrying will not help. */
  usage: 2,
} as const;

export class UsageError extends AppError {
  constructor(message: string) {
    super('USAGE', message, { status: 400 });
    this.name = 'UsageError';
  }
}

/**
 * Runs a CLI's main function and turns its outcome into an exit code and one clear message:
 * usage and configuration problems print what to change; other failures are logged with
 * their cause.
 */
export function runCli(main: () => Promise<number | void>, logger: Logger, usage: string): void {
  main()
    .then((code) => {
      process.exitCode = code ?? ExitCode.ok;
    })
    .catch((error: unknown) => {
      if (error instanceof UsageError || error instanceof ConfigError) {
        process.stderr.write(`error: ${error.message}\n\n${usage}\n`);
        process.exitCode = ExitCode.usage;
        return;
      }
      if (error instanceof AppError && error.status < 500) {
        process.stderr.write(`error: ${error.message}\n`);
        process.exitCode = ExitCode.usage;
        return;
      }
      logger.error({ err: error }, 'command failed');
      process.stderr.write(`error: ${errorMessage(error)}\n`);
      process.exitCode = ExitCode.failed;
    });
}

/** Parses `key=value,key=value` (the --map option). */
export function parseKeyValueList(text: string, option: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const part of text.split(',')) {
    const [key, value, ...rest] = part.split('=');
    if (!key || !value || rest.length > 0) {
      throw new UsageError(
        `${option} expects key=value pairs separated by commas, got ${JSON.stringify(part)}`,
      );
    }
    result[key.trim()] = value.trim();
  }
  return result;
}

/** A numeric option with a range check and a message that names the option. */
export function parseNumberOption(
  value: string | undefined,
  option: string,
  fallback: number,
  { min = -Infinity, max = Infinity, integer = false } = {},
): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  const valid = Number.isFinite(parsed) && parsed >= min && parsed <= max;
  if (!valid || (integer && !Number.isInteger(parsed))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new UsageError(
      `${option} must be ${kind} in [${min}, ${max}], got ${JSON.stringify(value)}`,
    );
  }
  return parsed;
}
