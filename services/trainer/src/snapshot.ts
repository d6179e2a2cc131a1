import type { Pool } from '@cml-rec/shared/db/pool';
import { buildDataset, type Dataset } from '@cml-rec/shared/cml/dataset';
import { POSITIVE_EVENT_TYPES } from '@cml-rec/shared/domain/interaction';
import type { DataSnapshot } from '@cml-rec/shared/registry/registry';
import type { ItemFeatures } from '@cml-rec/shared/data/item-formats';

export interface Snapshot {
  dataset: Dataset;
  info: DataSnapshot;
  /** items.features aligned with dataset.items (undefined where an item has none). */
  itemFeatures: (ItemFeatures | undefined)[];
  /** Catalogue items nobody has interacted with: the cold items placed from features. */
  unseenItems: Set<number>;
}

/**
 * Reads what the trainer learns from, as of one instant: a REPEATABLE READ transaction makes
 * every query see the same committed state, so the version can say exactly which rows it saw
 * (all interactions with id <= maxInteractionId). Positives follow `isPositive` in the
 * interaction domain; every active item is in the catalogue, even without positives.
 */
export async function readSnapshot(pool: Pool, minRating: number): Promise<Snapshot> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const totals = await client.query<{
      count: string;
      latest: Date | null;
      max_id: string | null;
    }>('SELECT count(*) AS count, max(occurred_at) AS latest, max(id) AS max_id FROM interactions');
    const pairs = await client.query<[string, string]>({
      text: `SELECT DISTINCT u.external_id, i.external_id
               FROM interactions x
               JOIN users u ON u.id = x.user_id
               JOIN items i ON i.id = x.item_id
              WHERE i.active
                AND ((x.event_type = 'rating' AND x.weight >= $1) OR x.event_type = ANY($2))
              ORDER BY 1, 2`,
      values: [minRating, POSITIVE_EVENT_TYPES],
      rowMode: 'array',
    });
    const items = await client.query<[string, ItemFeatures | null, boolean]>({
      text: `SELECT i.external_id, i.features,
                    EXISTS (SELECT 1 FROM interactions x WHERE x.item_id = i.id) AS seen
               FROM items i WHERE i.active ORDER BY i.id`,
      rowMode: 'array',
    });
    await client.query('COMMIT');

    const dataset = buildDataset(
      pairs.rows.map(([userId, itemId]) => ({ userId, itemId })),
      { items: items.rows.map(([id]) => id) },
    );
    const [total] = totals.rows;
    const featuresById = new Map(items.rows.map(([id, features]) => [id, features ?? undefined]));
    const unseenItems = new Set(
      items.rows.flatMap(([id, , seen]) => (seen ? [] : [dataset.items.get(id) as number])),
    );
    return {
      dataset,
      itemFeatures: dataset.items.ids.map((id) => featuresById.get(id)),
      unseenItems,
      info: {
        interactionCount: Number(total.count),
        latestTimestamp: total.latest ? total.latest.toISOString() : null,
        maxInteractionId: Number(total.max_id ?? 0),
        users: dataset.users.size,
        items: dataset.items.size,
        positives: dataset.positives.numPairs,
      },
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
