import { dedupeKey, type Interaction } from '../domain/interaction.js';
import type { Pool, PoolClient } from './pool.js';

export interface UpsertResult {
  /** Rows written now. */
  inserted: number;
  /** Rows skipped because their dedupe key was already stored (or repeated in the batch). */
  duplicates: number;
}

/**
 * Writes a batch of interactions idempotently with a fixed number of statements, whatever the
 * batch size: users and items are created on first sight, and interactions whose dedupe key
 * already exists are skipped. Run it inside the caller's transaction.
 */
export async function upsertInteractions(
  client: PoolClient,
  batch: Interaction[],
): Promise<UpsertResult> {
  if (batch.length === 0) return { inserted: 0, duplicates: 0 };

  await ensureReferencedRows(client, batch);
  return insertInteractions(client, batch);
}

/**
 * The insert half of `upsertInteractions`, for callers that created the batch's users and
 * items already with `ensureReferencedRows` (ingest does it in a statement of its own, to keep
 * row locks brief). A row whose user or item does not exist would be dropped by the join, so that must hold.
 */
export async function insertInteractions(
  client: PoolClient,
  batch: Interaction[],
): Promise<UpsertResult> {
  if (batch.length === 0) return { inserted: 0, duplicates: 0 };

  const { sql, values } = interactionsInsertStatement(batch);
  const result = await client.query(sql, values);

  const inserted = result.rowCount ?? 0;
  return { inserted, duplicates: batch.length - inserted };
}

/**
 * The INSERT … SELECT behind `insertInteractions`, without RETURNING so that a caller can also
 * run it as one part of a larger statement: rows whose user or item does not exist are dropped
 * by the join, rows whose dedupe key is stored or repeated in the batch are skipped.
 */
export function interactionsInsertStatement(events: Interaction[]): {
  sql: string;
  values: unknown[];
} {
  // Within one statement, which of two rows with one dedupe key wins is up to the plan; keep
  // the first in stream order here, as a replay across batches does.
  const { batch, keys } = firstOfEachDedupeKey(events);
  return {
    sql: `INSERT INTO interactions
            (user_id, item_id, event_type, weight, occurred_at, source, dedupe_key)
          SELECT u.id, i.id, b.event_type, b.weight, b.occurred_at, b.source, b.dedupe_key
            FROM unnest($1::text[], $2::text[], $3::text[], $4::real[], $5::timestamptz[],
                        $6::text[], $7::text[])
                 AS b(user_ext, item_ext, event_type, weight, occurred_at, source, dedupe_key)
            JOIN users u ON u.external_id = b.user_ext
            JOIN items i ON i.external_id = b.item_ext
          ON CONFLICT (dedupe_key) DO NOTHING`,
    values: [
      batch.map((row) => row.userId),
      batch.map((row) => row.itemId),
      batch.map((row) => row.eventType),
      batch.map((row) => row.weight),
      batch.map((row) => row.occurredAt.toISOString()),
      batch.map((row) => row.source),
      keys,
    ],
  };
}

/**
 * Creates the users and items that a batch of interactions refers to and that do not exist
 * yet, in one statement: one round trip, and atomic like a transaction of its own.
 *
 * The NOT EXISTS filter keeps ids already stored (nearly all of them, once a catalogue is
 * warm) away from the INSERT: an id that reaches ON CONFLICT still draws a value from the
 * bigserial sequence and makes a speculative insertion, which costs more than the index
 * probe. ON CONFLICT stays for the race with a concurrent writer creating the same id.
 *
 * Users are created before items, so that writers that
 * create both lock new keys in one order and cannot deadlock each other: the items INSERT
 * first reads the users CTE's row count, which runs that CTE to completion. Ids are sorted
 * for the same reason.
 */
export async function ensureReferencedRows(
  db: Pool | PoolClient,
  interactions: Interaction[],
): Promise<void> {
  if (interactions.length === 0) return;

  await db.query(
    `WITH created_users AS (
       INSERT INTO users (external_id)
       SELECT wanted.id FROM unnest($1::text[]) AS wanted(id)
        WHERE NOT EXISTS (SELECT 1 FROM users WHERE users.external_id = wanted.id)
       ON CONFLICT DO NOTHING
       RETURNING 1
     )
     INSERT INTO items (external_id)
     SELECT wanted.id FROM unnest($2::text[]) AS wanted(id)
      WHERE (SELECT count(*) FROM created_users) >= 0
        AND NOT EXISTS (SELECT 1 FROM items WHERE items.external_id = wanted.id)
     ON CONFLICT DO NOTHING`,
    [
      sortedUnique(interactions.map((row) => row.userId)),
      sortedUnique(interactions.map((row) => row.itemId)),
    ],
  );
}

function firstOfEachDedupeKey(events: Interaction[]): { batch: Interaction[]; keys: string[] } {
  const seen = new Set<string>();
  const batch: Interaction[] = [];
  for (const event of events) {
    const key = dedupeKey(event);
    if (seen.has(key)) continue;
    seen.add(key);
    batch.push(event);
  }
  return { batch, keys: [...seen] };
}

function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort();
}
