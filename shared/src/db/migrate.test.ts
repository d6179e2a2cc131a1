import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { migrate } from './migrate.js';
import { createTestDatabase, type TestDatabase } from './testing.js';

describe('db > migrate', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('migrate');
  });
  after(async () => {
    await db.drop();
  });

  it('creates the core tables in the private schema', async () => {
    const { rows } = await db.pool.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
      [db.schema],
    );
    const tables = rows.map((row) => row.table_name);
    for (const table of ['interactions', 'items', 'model_versions', 'users']) {
      assert.ok(tables.includes(table), `missing table ${table} in ${tables.join(', ')}`);
    }
  });

  it('applies nothing the second time', async () => {
    assert.deepEqual(await migrate(db.pool, { schema: db.schema }), []);
  });

  it('refuses migrations whose versions do not increase', async () => {
    const bad = [
      { version: 2, name: 'b', sql: 'SELECT 1' },
      { version: 1, name: 'a', sql: 'SELECT 1' },
    ];
    await assert.rejects(migrate(db.pool, { schema: db.schema, migrations: bad }), /must increase/);
  });
});
