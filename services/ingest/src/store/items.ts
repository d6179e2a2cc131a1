import type { PoolClient } from '@cml-rec/shared/db/pool';
import type { ItemUpdate } from '@cml-rec/shared/domain/messages';
import { insertTogether, type InsertPart } from './insertParts.js';

/**
 * Applies catalogue updates: creates unknown items, replaces the features and active flag of
 * known ones. Within a batch the last update of an item wins (Kafka keeps one item's updates
 * in order when they are keyed by item id), so replaying a batch converges to the same rows.
 */
export function upsertItemsPart(updates: ItemUpdate[]): InsertPart {
  // ON CONFLICT DO UPDATE may not touch one row twice in a statement: keep the last update.
  const latest = new Map<string, ItemUpdate>();
  for (const update of updates) latest.set(update.itemId, update);
  // Sorted so that concurrent batches lock rows in one order.
  const rows = [...latest.values()].sort((a, b) => (a.itemId < b.itemId ? -1 : 1));

  return {
    sql: `INSERT INTO items (external_id, features, active)
          SELECT * FROM unnest($1::text[], $2::jsonb[], $3::boolean[])
          ON CONFLICT (external_id) DO UPDATE
             SET features = EXCLUDED.features, active = EXCLUDED.active, updated_at = now()`,
    values: [
      rows.map((row) => row.itemId),
      rows.map((row) => JSON.stringify(row.features)),
      rows.map((row) => row.active),
    ],
    inputRows: rows.length,
  };
}

/** `upsertItemsPart` on its own; returns the items created or updated. */
export async function upsertItems(client: PoolClient, updates: ItemUpdate[]): Promise<number> {
  const written = await insertTogether(client, { items: upsertItemsPart(updates) });
  return written.items;
}
