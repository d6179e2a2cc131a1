import type { Pool } from '@cml-rec/shared/db/pool';
import type { Logger } from '@cml-rec/shared/logging/logger';

/** Where a user's already-seen items come from (PostgreSQL in the service, memory in benchmarks). */
export interface SeenItemsSource {
  forUser(userId: string): Promise<Iterable<string>>;
}

export interface SeenItemsOptions {
  /** A user's list is re-read from scratch after this long (ms); 0 disables the cache. */
  ttlMs: number;
  /** How often new interactions are read and added to cached users (ms); 0 disables it. */
  refreshMs: number;
  maxEntries?: number;
  onLookup?: (hit: boolean) => void;
}

/**
 * bigserial ids are handed out at insert time, so a transaction that commits late can land
 * below ids already read. Ids at most this far below the newest one read that no refresh has
 * seen yet (a transaction still open, or one rolled back) are asked for again on every refresh.
 */
const LOOKBACK_IDS = 1000;
const REFRESH_BATCH = 10_000;

/**
 * The items each user has interacted with (any event type), from PostgreSQL.
 *
 * A user's list is read once and cached; every `refreshMs` one query reads the interactions
 * stored since the last refresh and adds them to the cached users, so an interaction ingested
 * now is excluded about `refreshMs` later without a query per request. Entries are re-read
 * after `ttlMs`, which also bounds how long an interaction committed far out of id order
 * can be missed. Concurrent misses for one user share one query.
 */
export class SeenItems implements SeenItemsSource {
  private readonly cache = new Map<string, { expires: number; items: Set<string> }>();
  private readonly pending = new Map<string, Promise<Set<string>>>();
  /** The newest interaction id read. */
  private watermark: number | undefined;
  /** Ids within LOOKBACK_IDS below the watermark not read yet, ascending. */
  private unread: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly options: SeenItemsOptions,
    private readonly logger?: Logger,
  ) {}

  /** Starts the periodic refresh (after reading the current newest interaction id). */
  async start(): Promise<void> {
    if (this.options.refreshMs <= 0 || this.options.ttlMs <= 0) return;
    const { rows } = await this.pool.query<{ max: string | null }>(
      'SELECT max(id) AS max FROM interactions',
    );
    const newest = Number(rows[0]?.max ?? 0);
    // The ids missing just below the start are the ones a late commit could still fill.
    const recent = await this.pool.query<[string]>({
      text: 'SELECT id FROM interactions WHERE id > $1',
      values: [newest - LOOKBACK_IDS],
      rowMode: 'array',
    });
    this.watermark = Math.max(0, newest - LOOKBACK_IDS);
    this.advance(new Set(recent.rows.map(([id]) => Number(id))), newest);
    this.timer = setInterval(() => void this.refresh(), this.options.refreshMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
  }

  forUser(userId: string): Promise<Set<string>> {
    const cached = this.cache.get(userId);
    if (cached && cached.expires > Date.now()) {
      this.options.onLookup?.(true);
      return Promise.resolve(cached.items);
    }
    this.options.onLookup?.(false);
    let query = this.pending.get(userId);
    if (!query) {
      query = this.query(userId).finally(() => this.pending.delete(userId));
      this.pending.set(userId, query);
    }
    return query;
  }

  /** Adds the interactions stored since the last refresh to the cached users. */
  refresh(): Promise<void> {
    this.refreshing ??= this.readNew()
      .catch((error) => this.logger?.warn({ err: error }, 'failed to refresh seen items'))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /**
   * Reads the interactions stored after the watermark and those of the unread ids below it:
   * when nothing new was stored, the query returns no row (re-reading a window of recent
   * interactions every second instead cost the event loop a thousand rows a second).
   */
  private async readNew(): Promise<void> {
    if (this.watermark === undefined) return;
    for (;;) {
      const { rows } = await this.pool.query<[string, string, string]>({
        text: `SELECT x.id, u.external_id, i.external_id
                 FROM interactions x
                 JOIN users u ON u.id = x.user_id
                 JOIN items i ON i.id = x.item_id
                WHERE x.id > $1 OR x.id = ANY($2::bigint[])
                ORDER BY x.id
                LIMIT $3`,
        values: [this.watermark, this.unread, REFRESH_BATCH],
        rowMode: 'array',
      });
      const read = new Set<number>();
      let newest = this.watermark;
      for (const [id, userId, itemId] of rows) {
        this.cache.get(userId)?.items.add(itemId);
        read.add(Number(id));
        newest = Math.max(newest, Number(id));
      }
      this.advance(read, newest);
      // A full batch means more rows are waiting (the ones read are no longer asked for).
      if (rows.length < REFRESH_BATCH) return;
    }
  }

  /**
   * Moves the watermark to `newest` after the ids in `read` were read: the ids skipped on the
   * way, and the unread ones still unread, are kept while they are within LOOKBACK_IDS of it.
   */
  private advance(read: ReadonlySet<number>, newest: number): void {
    const previous = this.watermark ?? 0;
    const floor = newest - LOOKBACK_IDS;
    const unread = this.unread.filter((id) => id > floor && !read.has(id));
    for (let id = Math.max(previous, floor) + 1; id < newest; id++) {
      if (!read.has(id)) unread.push(id);
    }
    this.unread = unread;
    this.watermark = newest;
  }

  private async query(userId: string): Promise<Set<string>> {
    const { rows } = await this.pool.query<[string]>({
      text: `SELECT DISTINCT i.external_id
               FROM interactions x
               JOIN users u ON u.id = x.user_id
               JOIN items i ON i.id = x.item_id
              WHERE u.external_id = $1`,
      values: [userId],
      rowMode: 'array',
    });
    const items = new Set(rows.map(([id]) => id));
    if (this.options.ttlMs > 0) {
      const maxEntries = this.options.maxEntries ?? 100_000;
      // Oldest entries first out: a Map iterates in insertion order.
      if (this.cache.size >= maxEntries) {
        const oldest = this.cache.keys().next();
        if (!oldest.done) this.cache.delete(oldest.value);
      }
      this.cache.delete(userId);
      this.cache.set(userId, { expires: Date.now() + this.options.ttlMs, items });
    }
    return items;
  }
}
