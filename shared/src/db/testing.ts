import { randomBytes } from 'node:crypto';
import { silentLogger } from '../logging/logger.js';
import { migrate } from './migrate.js';
import { createPool, quoteIdentifier, type Pool } from './pool.js';

/** The server tests use: `TEST_DATABASE_URL`, else the machine's local PostgreSQL. */
export const testDatabaseUrl =
  process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  pool: Pool;
  connectionString: string;
  /** A schema private to this test run; dropped by `drop()`. */
  schema: string;
  drop(): Promise<void>;
}

/**
 * A freshly migrated, private schema on the test server, so that test files running side by
 * side never see each other's rows.
 */
export async function createTestDatabase(prefix = 't'): Promise<TestDatabase> {
  const schema = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const pool = createPool({ connectionString: testDatabaseUrl, schema, max: 8 });
  await migrate(pool, { schema, logger: silentLogger });

  return {
    pool,
    connectionString: testDatabaseUrl,
    schema,
    async drop() {
      await pool.query(`DROP SCHEMA ${quoteIdentifier(schema)} CASCADE`);
      await pool.end();
    },
  };
}
