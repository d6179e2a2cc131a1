import { setTimeout as sleep } from 'node:timers/promises';

/** Returned by `retryUntilDone` when the consumer stopped or lost the partition meanwhile. */
export const ABANDONED = Symbol('abandoned');

export interface RetryOptions {
  /** First delay, ms; doubled after each failure up to `maxMs`. */
  initialMs: number;
  maxMs: number;
  /** Errors for which this returns false are thrown at once. */
  isRetriable: (error: unknown) => boolean;
  /** Keeps the group membership alive while waiting (kafkajs throttles the real calls). */
  heartbeat: () => Promise<void>;
  /** False once the batch should be given up: the consumer is stopping or was reassigned. */
  shouldContinue: () => boolean;
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Jitter source in [0, 1); injectable so tests are deterministic. */
  random?: () => number;
}

// While waiting, wake up this often to heartbeat and to notice a stop.
const WAIT_SLICE_MS = 250;

/**
 * Runs `work` until it succeeds, waiting with capped exponential backoff (plus up to 20 %
 * jitter, so replicas do not retry in lock step) between attempts. Never gives up on a
 * retriable error: a batch that cannot be written must not be skipped, so the partition
 * waits instead, without committing its offsets.
 */
export async function retryUntilDone<T>(
  work: () => Promise<T>,
  options: RetryOptions,
): Promise<T | typeof ABANDONED> {
  const random = options.random ?? Math.random;
  let delay = options.initialMs;

  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!options.isRetriable(error)) throw error;
      const wait = Math.round(delay * (1 + 0.2 * random()));
      options.onRetry?.(error, attempt, wait);

      const until = Date.now() + wait;
      while (Date.now() < until) {
        if (!options.shouldContinue()) return ABANDONED;
        await options.heartbeat();
        await sleep(Math.min(WAIT_SLICE_MS, Math.max(0, until - Date.now())));
      }
      if (!options.shouldContinue()) return ABANDONED;
      delay = Math.min(options.maxMs, delay * 2);
    }
  }
}
