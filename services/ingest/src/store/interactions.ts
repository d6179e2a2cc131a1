import type { Pool, PoolClient } from '@cml-rec/shared/db/pool';
import { interactionsInsertStatement } from '@cml-rec/shared/db/interactions';
import type { Interaction } from '@cml-rec/shared/domain/interaction';
import type { InsertPart } from './insertParts.js';

/**
 * Creates the users and items that a batch of interactions refers to and that do not exist
 * yet, in one statement: one round trip, and atomic like a transaction of its own.
 *
 * The NOT EXISTS filter keeps ids already stored (nearly all of them, once a catalogue is
 * warm) away from the INSERT: an id that reaches ON CONFLICT still draws a value from the
 * bigserial sequence and makes a speculative insertion, which costs more than the index
 * probe. ON CONFLICT stays for the race with a concurrent writer creating the same id.
 *
 * Users are created before items, as in the shared `upsertInteractions`, so that writers that
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

/**
 * The INSERT of interactions whose users and items exist already (`ensureReferencedRows`),
 * skipping those whose dedupe key is stored or repeated: the rows the shared
 * `insertInteractions` writes, as a part of a batch statement.
 */
export function insertInteractionsPart(rows: Interaction[]): InsertPart {
  return { ...interactionsInsertStatement(rows), inputRows: rows.length };
}

function sortedUnique(values: string[]): string[] {
  return [...new Set(values)].sort();
}
