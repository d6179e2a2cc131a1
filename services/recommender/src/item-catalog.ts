import type { Pool } from '@cml-rec/shared/db/pool';
import type { ServingModel } from './model/serving-model.js';

/** Item filters a request may give: an item passes when it has any of the genres and any of the tags. */
export interface ItemFilters {
  genres: string[];
  tags: string[];
}

export function hasFilters(filters: ItemFilters): boolean {
  return filters.genres.length > 0 || filters.tags.length > 0;
}

/**
 * What the service knows about items beyond a model: their genres and tags (from
 * `items.features`) for filters, and the most popular items for the unknown-user fallback.
 * Read from PostgreSQL at start and every `refresh()`; lookups are in memory. Tokens are
 * matched case-insensitively.
 */
export class ItemCatalog {
  private genres = new Map<string, Set<string>>();
  private tags = new Map<string, Set<string>>();
  private popularItems: string[] = [];
  private generation = 0;
  /** (model version, generation, filter) → allowed item positions; small, cleared when full. */
  private readonly allowedCache = new Map<string, ReadonlySet<number>>();

  constructor(
    private readonly pool: Pool,
    private readonly popularLimit = 1000,
  ) {}

  async refresh(): Promise<void> {
    const { rows } = await this.pool.query<{ id: string; genres: unknown; tags: unknown }>(
      `SELECT external_id AS id, features -> 'genres' AS genres, features -> 'tags' AS tags
         FROM items
        WHERE active AND features IS NOT NULL`,
    );
    const genres = new Map<string, Set<string>>();
    const tags = new Map<string, Set<string>>();
    for (const row of rows) {
      addTokens(genres, row.genres, row.id);
      addTokens(tags, row.tags, row.id);
    }

    const popular = await this.pool.query<[string]>({
      text: `SELECT i.external_id
               FROM interactions x JOIN items i ON i.id = x.item_id
              WHERE i.active
              GROUP BY i.external_id
              ORDER BY count(DISTINCT x.user_id) DESC, i.external_id
              LIMIT $1`,
      values: [this.popularLimit],
      rowMode: 'array',
    });

    this.genres = genres;
    this.tags = tags;
    this.popularItems = popular.rows.map(([id]) => id);
    this.generation++;
    this.allowedCache.clear();
  }

  /** Most popular items first (by distinct users), at most `popularLimit`. */
  get popular(): readonly string[] {
    return this.popularItems;
  }

  /** The positions in `model` of the items that pass `filters`. */
  allowedItems(model: ServingModel, filters: ItemFilters): ReadonlySet<number> {
    const key = JSON.stringify([model.versionId, this.generation, filters.genres, filters.tags]);
    const cached = this.allowedCache.get(key);
    if (cached) return cached;

    const byGenre = filters.genres.length > 0 ? union(this.genres, filters.genres) : undefined;
    const byTag = filters.tags.length > 0 ? union(this.tags, filters.tags) : undefined;
    const allowed = new Set<number>();
    const candidates = byGenre ?? byTag ?? new Set<string>();
    for (const itemId of candidates) {
      if (byGenre && byTag && !byTag.has(itemId)) continue;
      const item = model.itemIndex(itemId);
      if (item !== undefined) allowed.add(item);
    }

    if (this.allowedCache.size >= 256) this.allowedCache.clear();
    this.allowedCache.set(key, allowed);
    return allowed;
  }

  /** Whether an item passes `filters` (for lists not produced by the index, such as popular items). */
  passes(itemId: string, filters: ItemFilters): boolean {
    const inAny = (map: Map<string, Set<string>>, tokens: string[]) =>
      tokens.length === 0 || tokens.some((token) => map.get(normalise(token))?.has(itemId));
    return inAny(this.genres, filters.genres) && inAny(this.tags, filters.tags);
  }
}

function addTokens(map: Map<string, Set<string>>, value: unknown, itemId: string): void {
  if (!Array.isArray(value)) return;
  for (const token of value) {
    if (typeof token !== 'string') continue;
    const key = normalise(token);
    const items = map.get(key);
    if (items) items.add(itemId);
    else map.set(key, new Set([itemId]));
  }
}

function union(map: Map<string, Set<string>>, tokens: string[]): Set<string> {
  const result = new Set<string>();
  for (const token of tokens)
    for (const itemId of map.get(normalise(token)) ?? []) result.add(itemId);
  return result;
}

function normalise(token: string): string {
  return token.trim().toLowerCase();
}
