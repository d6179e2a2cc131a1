import type { Pool } from '@cml-rec/shared/db/pool';
import type { Logger } from '@cml-rec/shared/logging/logger';

export interface Impression {
  servedAt: Date;
  rolloutId: string | null;
  variant: string | null;
  modelVersion: string;
  endpoint: string;
  /** The user (or session) the list was served to; null for item-to-item lists. */
  userId: string | null;
  itemIds: string[];
}

export interface ImpressionSink {
  record(impression: Impression): void;
}

export interface ImpressionCounters {
  written(count: number): void;
  dropped(count: number): void;
}

/**
 * Logs served lists to PostgreSQL off the request path: `record` only queues; a timer writes
 * the queue in one INSERT per batch. When the database is slower than the traffic the queue
 * is capped and the excess dropped (and counted) rather than held without bound; a failed
 * batch is retried once on the next flush, then dropped. A batch the database refuses for its
 * data (SQLSTATE class 22 or 23) is written row by row, so one bad row loses only itself.
 */
export class ImpressionLog implements ImpressionSink {
  private queue: Impression[] = [];
  private retry: Impression[] = [];
  private flushing: Promise<void> | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    private readonly options: { flushMs: number; queueLimit: number; batchSize?: number },
    private readonly counters: ImpressionCounters = {
      written: () => undefined,
      dropped: () => undefined,
    },
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs);
    this.timer.unref();
  }

  record(impression: Impression): void {
    if (this.queue.length >= this.options.queueLimit) {
      this.counters.dropped(1);
      return;
    }
    this.queue.push(impression);
  }

  get queued(): number {
    return this.queue.length + this.retry.length;
  }

  /** Writes everything queued so far; concurrent calls share one write. */
  flush(): Promise<void> {
    this.flushing ??= this.writeQueued().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    await this.flush();
  }

  private async writeQueued(): Promise<void> {
    const batchSize = this.options.batchSize ?? 1000;
    const retry = this.retry;
    this.retry = [];
    if (retry.length > 0) this.counters.dropped((await this.write(retry)).length);

    while (this.queue.length > 0) {
      const unwritten = await this.write(this.queue.splice(0, batchSize));
      if (unwritten.length > 0) {
        this.retry = unwritten;
        return;
      }
    }
  }

  /** Writes `batch`; returns the rows left unwritten by a failure worth retrying. */
  private async write(batch: Impression[]): Promise<Impression[]> {
    try {
      await this.insert(batch);
      this.counters.written(batch.length);
      return [];
    } catch (error) {
      if (isDataError(error)) return this.writeRowByRow(batch);
      this.logger.warn({ err: error, impressions: batch.length }, 'failed to write impressions');
      return batch;
    }
  }

  /**
   * Writes each row alone: the rows the database refuses are logged and dropped. Stops at the
   * first other failure (the database went away) and returns the rows not yet written.
   */
  private async writeRowByRow(batch: Impression[]): Promise<Impression[]> {
    let refused = 0;
    for (const [index, row] of batch.entries()) {
      try {
        await this.insert([row]);
        this.counters.written(1);
      } catch (error) {
        if (!isDataError(error)) {
          this.logger.warn(
            { err: error, impressions: batch.length - index },
            'failed to write impressions',
          );
          this.counters.dropped(refused);
          return batch.slice(index);
        }
        refused += 1;
        this.logger.warn(
          { err: error, impression: { ...row, itemIds: row.itemIds.length } },
          'dropped an impression the database refuses',
        );
      }
    }
    this.counters.dropped(refused);
    return [];
  }

  private async insert(batch: Impression[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO impressions
           (served_at, rollout_id, variant, model_version, endpoint, user_id, item_ids)
         SELECT b.served_at, b.rollout_id, b.variant, b.model_version, b.endpoint, b.user_id,
                ARRAY(SELECT jsonb_array_elements_text(b.item_ids))
           FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[],
                       $6::text[], $7::jsonb[])
             AS b(served_at, rollout_id, variant, model_version, endpoint, user_id, item_ids)`,
      [
        batch.map((row) => row.servedAt.toISOString()),
        batch.map((row) => row.rolloutId),
        batch.map((row) => row.variant),
        batch.map((row) => row.modelVersion),
        batch.map((row) => row.endpoint),
        batch.map((row) => row.userId),
        batch.map((row) => JSON.stringify(row.itemIds)),
      ],
    );
  }
}

/** Data exceptions (22xxx) and integrity violations (23xxx): the rows, not the database, are at fault. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('23'));
}
