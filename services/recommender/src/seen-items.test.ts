import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Pool } from '@cml-rec/shared/db/pool';
import { createTestDatabase, type TestDatabase } from '@cml-rec/shared/db/testing';
import { SeenItems } from './seen-items.js';

describe('recommender > seen items > refresh', () => {
  let db: TestDatabase;
  let seen: SeenItems;
  /** Rows returned by every query the SeenItems ran, in order. */
  const rowsRead: number[] = [];
  let stored = 0;

  const store = (client: Pick<Pool, 'query'>, userId: string, itemId: string) =>
    client.query(
      `INSERT INTO interactions (user_id, item_id, event_type, occurred_at, source, dedupe_key)
       SELECT u.id, i.id, 'click', now(), 'test', $3
         FROM users u, items i WHERE u.external_id = $1 AND i.external_id = $2`,
      [userId, itemId, `key-${stored++}`],
    );

  before(async () => {
    db = await createTestDatabase('seen');
    await db.pool.query(`INSERT INTO users (external_id) VALUES ('u1'), ('u2')`);
    await db.pool.query(
      `INSERT INTO items (external_id) SELECT 'i' || n FROM generate_series(1, 20) AS n`,
    );
    for (let n = 1; n <= 5; n++) await store(db.pool, 'u2', `i${n}`);
    const counting = Object.create(db.pool) as Pool;
    counting.query = (async (...args: Parameters<Pool['query']>) => {
      const result = await (db.pool.query as (...a: unknown[]) => Promise<{ rowCount: number }>)(
        ...args,
      );
      rowsRead.push(result.rowCount ?? 0);
      return result;
    }) as Pool['query'];
    // The timer never fires during the test: each refresh is called explicitly.
    seen = new SeenItems(counting, { ttlMs: 3_600_000, refreshMs: 3_600_000 });
    await seen.start();
  });
  after(async () => {
    await seen.stop();
    await db.drop();
  });

  it('adds interactions stored after the start to a cached user', async () => {
    assert.deepEqual([...(await seen.forUser('u1'))], []);
    await store(db.pool, 'u1', 'i1');
    await seen.refresh();
    assert.deepEqual([...(await seen.forUser('u1'))], ['i1']);
  });

  it('reads nothing again when nothing new was stored', async () => {
    rowsRead.length = 0;
    await seen.refresh();
    await seen.refresh();
    assert.deepEqual(rowsRead, [0, 0]);
  });

  it('picks up an interaction whose transaction commits after a later one', async () => {
    const late = await db.pool.connect();
    try {
      await late.query('BEGIN');
      await store(late, 'u1', 'i2'); // takes the lower id
      await store(db.pool, 'u1', 'i3'); // takes a higher id and commits first
      await seen.refresh();
      assert.deepEqual([...(await seen.forUser('u1'))].sort(), ['i1', 'i3']);

      await late.query('COMMIT');
      await seen.refresh();
      assert.deepEqual([...(await seen.forUser('u1'))].sort(), ['i1', 'i2', 'i3']);
    } finally {
      late.release();
    }
  });

  it('keeps asking for an id whose transaction rolled back, without reading rows for it', async () => {
    const rolledBack = await db.pool.connect();
    try {
      await rolledBack.query('BEGIN');
      await store(rolledBack, 'u1', 'i4');
      await rolledBack.query('ROLLBACK');
    } finally {
      rolledBack.release();
    }
    await store(db.pool, 'u1', 'i5');
    rowsRead.length = 0;
    await seen.refresh();
    await seen.refresh();
    assert.deepEqual(rowsRead, [1, 0]);
    assert.deepEqual([...(await seen.forUser('u1'))].sort(), ['i1', 'i2', 'i3', 'i5']);
  });
});
