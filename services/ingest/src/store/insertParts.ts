import type { Pool, PoolClient } from '@cml-rec/shared/db/pool';

/** One INSERT of a batch's rows into one table, with its own parameters $1 … $n. */
export interface InsertPart {
  /** An INSERT … SELECT without RETURNING. */
  sql: string;
  values: unknown[];
  /** Rows handed to the INSERT; a part with none is left out of the statement. */
  inputRows: number;
}

/**
 * Runs a batch's INSERTs as one statement, each as a data-modifying CTE, and returns the rows
 * each one wrote. A statement is atomic, so this is the batch's transaction in one round trip
 * instead of BEGIN, one INSERT per table and COMMIT: under CPU contention every round trip
 * waits for the scheduler on both sides, which for small batches can cost more than the SQL.
 */
export async function insertTogether<Name extends string>(
  db: Pool | PoolClient,
  parts: Record<Name, InsertPart>,
): Promise<Record<Name, number>> {
  const names = Object.keys(parts) as Name[];
  const written = Object.fromEntries(names.map((name) => [name, 0])) as Record<Name, number>;
  const used = names.filter((name) => parts[name].inputRows > 0);
  if (used.length === 0) return written;

  const statement = combine(used.map((name) => parts[name]));
  const result = await db.query<Record<string, string>>(statement.sql, statement.values);
  used.forEach((name, index) => {
    written[name] = Number(result.rows[0][`part${index}`]);
  });
  return written;
}

/**
 * One statement with each part as the CTE `part<i>` and its row count as the column
 * `part<i>`, the parts' parameters numbered one after the other. The CTEs get neutral names:
 * one called `items` would hide the table from the parts that follow it.
 */
function combine(parts: InsertPart[]): { sql: string; values: unknown[] } {
  const ctes: string[] = [];
  const values: unknown[] = [];
  parts.forEach((part, index) => {
    const offset = values.length;
    const sql = part.sql.replace(/\$(\d+)/g, (_match, n: string) => `$${Number(n) + offset}`);
    ctes.push(`part${index} AS (${sql} RETURNING 1)`);
    values.push(...part.values);
  });
  const counts = parts.map((_, index) => `(SELECT count(*) FROM part${index}) AS part${index}`);
  return { sql: `WITH ${ctes.join(',\n')}\nSELECT ${counts.join(', ')}`, values };
}
