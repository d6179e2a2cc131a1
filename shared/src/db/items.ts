import type { ItemFeatures } from '../data/item-formats.js';
import type { PoolClient } from './pool.js';

export interface ItemFeatureUpsert {
  itemId: string;
  features: ItemFeatures;
}

export interface ItemUpsertResult {
  inserted: number;
  updated: number;
  /** Items whose stored features already equalled the merged result: a re-import. */
  unchanged: number;
}

/**
 * Merges feature keys into items (creating unknown items): keys given here replace the same
 * keys in the stored features, other keys are kept, so genres and tags can come from
 * different files. Rows whose result would not change are not written, which makes a
 * re-import a no-op and lets it count them.
 */
export async function upsertItemFeatures(
  client: PoolClient,
  batch: ItemFeatureUpsert[],
): Promise<ItemUpsertResult> {
  if (batch.length === 0) return { inserted: 0, updated: 0, unchanged: 0 };
  const sorted = [...batch].sort((a, b) =>
    a.itemId < b.itemId ? -1 : a.itemId > b.itemId ? 1 : 0,
  );

  const { rows } = await client.query<{ inserted: boolean }>(
    `INSERT INTO items (external_id, features)
     SELECT * FROM unnest($1::text[], $2::jsonb[])
     ON CONFLICT (external_id) DO UPDATE
       SET features = COALESCE(items.features, '{}'::jsonb) || EXCLUDED.features,
           updated_at = now()
       WHERE items.features IS DISTINCT FROM COALESCE(items.features, '{}'::jsonb) || EXCLUDED.features
     RETURNING (xmax = 0) AS inserted`,
    [sorted.map((row) => row.itemId), sorted.map((row) => JSON.stringify(row.features))],
  );

  const inserted = rows.filter((row) => row.inserted).length;
  const updated = rows.length - inserted;
  return { inserted, updated, unchanged: batch.length - rows.length };
}
