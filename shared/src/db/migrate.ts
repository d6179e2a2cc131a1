import type { Logger } from '../logging/logger.js';
import { silentLogger } from '../logging/logger.js';
import { migrations as allMigrations } from './migrations/index.js';
import { quoteIdentifier, withTransaction, type Pool } from './pool.js';

export interface Migration {
  /** Strictly increasing; recorded in schema_migrations once applied. */
  version: number;
  name: string;
  sql: string;
}

// Arbitrary constant: every cml-rec process that migrates takes this advisory lock, so that
// replicas starting together apply each migration exactly once.
const MIGRATION_LOCK_KEY = 0x636d6c72;

/**
 * Applies the migrations that the database has not seen yet, all in one transaction under an
 * advisory lock, so a failure leaves the schema as it was. Returns the versions it applied.
 */
export async function migrate(
  pool: Pool,
  options: { schema?: string; logger?: Logger; migrations?: Migration[] } = {},
): Promise<number[]> {
  const logger = options.logger ?? silentLogger;
  const migrations = options.migrations ?? allMigrations;
  assertOrdered(migrations);

  return withTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    if (options.schema) {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(options.schema)}`);
    }
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);

    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM schema_migrations',
    );
    const applied = new Set(rows.map((row) => row.version));
    const pending = migrations.filter((migration) => !applied.has(migration.version));

    for (const migration of pending) {
      logger.info({ version: migration.version, migration: migration.name }, 'applying migration');
      await client.query(migration.sql);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
    return pending.map((migration) => migration.version);
  });
}

function assertOrdered(migrations: Migration[]): void {
  for (let i = 1; i < migrations.length; i++) {
    if (migrations[i].version <= migrations[i - 1].version) {
      throw new Error(
        `migration ${migrations[i].name} has version ${migrations[i].version}, ` +
          `not above ${migrations[i - 1].version}: versions must increase`,
      );
    }
  }
}
