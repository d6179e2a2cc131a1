/** Timestamps later than this after "now" are rejected as clock or producer bugs. */
export const MAX_FUTURE_SKEW_MS = 24 * 60 * 60 * 1000;

// Epoch values at or above this are taken as milliseconds: 1e11 seconds is the year 5138,
// while 1e11 milliseconds is March 1973, so the two readings cannot be confused in practice.
const MILLISECOND_THRESHOLD = 1e11;

/**
 * Parses epoch seconds, epoch milliseconds or an ISO-8601 string. Returns an error text for
 * anything else, or for instants implausibly far in the future.
 */
export function parseTimestamp(raw: string, now = Date.now()): Date | { error: string } {
  const text = raw.trim();
  let millis: number;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const value = Number(text);
    millis = value >= MILLISECOND_THRESHOLD ? value : value * 1000;
  } else if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    millis = Date.parse(text);
  } else {
    return {
      error: `timestamp ${JSON.stringify(raw)} is neither epoch seconds, epoch ms nor ISO-8601`,
    };
  }
  // JavaScript dates end at ±8.64e15 ms; anything beyond cannot even be printed as a date.
  if (!Number.isFinite(millis) || Math.abs(millis) > 8.64e15) {
    return { error: `timestamp ${JSON.stringify(raw)} is not a valid date` };
  }
  if (millis > now + MAX_FUTURE_SKEW_MS) {
    return {
      error: `timestamp ${new Date(millis).toISOString()} is more than a day in the future`,
    };
  }
  return new Date(millis);
}
