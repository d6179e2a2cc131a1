import type { Pool } from '@cml-rec/shared/db/pool';

/**
 * The items each user has interacted with (any event type), from PostgreSQL, cached for a
 * short time so a burst of requests costs one query while a new interaction is still
 * excluded within `ttlMs`.
 */
export class SeenItems {
  private readonly cache = new Map<string, { expires: number; items: string[] }>();

  constructor(
    private readonly pool: Pool,
    private readonly ttlMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  async forUser(userId: string): Promise<string[]> {
    const now = Date.now();
    const cached = this.cache.get(userId);
    if (cached && cached.expires > now) return cached.items;

    const { rows } = await this.pool.query<[string]>({
      text: `SELECT DISTINCT i.external_id
               FROM interactions x
               JOIN users u ON u.id = x.user_id
               JOIN items i ON i.id = x.item_id
              WHERE u.external_id = $1`,
      values: [userId],
      rowMode: 'array',
    });
    const items = rows.map(([id]) => id);
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(userId, { expires: now + this.ttlMs, items });
    return items;
  }
}
