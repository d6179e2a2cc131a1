import { AppError } from '@cml-rec/shared/errors';

/**
 * SQLSTATE classes worth retrying: the server went away or is restarting (08, 57), ran out
 * of something (53, 58), or rolled the transaction back for concurrency (40: serialization
 * failure, deadlock). Any error without a SQLSTATE (ECONNREFUSED, "Connection terminated
 * unexpectedly", timeouts) is a connection problem and is retried too.
 */
const RETRIABLE_SQLSTATE = /^(08|40|53|57|58)/;

/**
 * SQLSTATE classes that blame the data: a cardinality violation (21: one statement would
 * update a row twice), a data exception (22) or a constraint (23). A batch failing with one
 * of these is retried message by message so that the culprit is isolated and rejected
 * instead of blocking its partition forever.
 */
const DATA_SQLSTATE = /^(21|22|23)/;

export type DatabaseFailure = 'retriable' | 'data' | 'fatal';

/** Decides how the consumer reacts to an error thrown by a database write. */
export function classifyDatabaseError(error: unknown): DatabaseFailure {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (DATA_SQLSTATE.test(code)) return 'data';
    return RETRIABLE_SQLSTATE.test(code) ? 'retriable' : 'fatal';
  }
  // A RangeError comes from turning a value into a query parameter (an invalid Date, say),
  // never from a lost connection: the data is to blame.
  if (error instanceof RangeError) return 'data';
  return 'retriable';
}

/** The SQLSTATE of a database error, or `unknown`. */
export function sqlState(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'unknown';
}

/** The broker did not acknowledge events sent through the HTTP API. */
export function kafkaUnavailable(cause: unknown): AppError {
  return new AppError('KAFKA_UNAVAILABLE', 'the events could not be written to Kafka', {
    status: 503,
    retriable: true,
    cause,
  });
}
