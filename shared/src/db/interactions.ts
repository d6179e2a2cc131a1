import { dedupeKey, type Interaction } from '../domain/interaction.js';
import type { PoolClient } from './pool.js';

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

  await ensureUsers(
    client,
    batch.map((row) => row.userId),
  );
  await ensureItems(
    client,
    batch.map((row) => row.itemId),
  );
  return insertInteractions(client, batch);
}

/**
 * The insert half of `upsertInteractions`, for callers that created the batch's users and
 * items already (ingest does it in a short transaction of its own, to keep row locks brief).
 * A row whose user or item does not exist would be dropped by the join, so that must hold.
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

/** Creates the users not yet known. Sorted so concurrent batches lock rows in one order. */
export async function ensureUsers(client: PoolClient, externalIds: string[]): Promise<void> {
  await client.query(
    `INSERT INTO users (external_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
    [sortedUnique(externalIds)],
  );
}

/** Creates the items not yet known, without features (a catalogue event adds those). */
export async function ensureItems(client: PoolClient, externalIds: string[]): Promise<void> {
  await client.query(
    `INSERT INTO items (external_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
    [sortedUnique(externalIds)],
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
