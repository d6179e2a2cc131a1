import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, type TestDatabase } from '@cml-rec/shared/db/testing';
import { silentLogger } from '@cml-rec/shared/logging/logger';
import { ImpressionLog, type Impression } from './impressions.js';

describe('recommender > rollouts > impressions', () => {
  let db: TestDatabase;
  const impression = (userId: string): Impression => ({
    servedAt: new Date(),
    rolloutId: null,
    variant: null,
    modelVersion: 'v1',
    endpoint: 'user',
    userId,
    itemIds: ['1', '2'],
  });
  const storedUsers = async () => {
    const { rows } = await db.pool.query<{ user_id: string }>(
      'SELECT user_id FROM impressions ORDER BY user_id',
    );
    return rows.map((row) => row.user_id);
  };

  before(async () => {
    db = await createTestDatabase('imp');
  });
  after(async () => {
    await db.drop();
  });

  it('writes the rest of a batch when the database refuses one row of it', async () => {
    let written = 0;
    let dropped = 0;
    const log = new ImpressionLog(
      db.pool,
      silentLogger,
      { flushMs: 60_000, queueLimit: 100 },
      { written: (count) => (written += count), dropped: (count) => (dropped += count) },
    );
    // PostgreSQL text cannot hold NUL: this row fails the batch INSERT with 22021.
    for (const userId of ['a', 'b\u0000', 'c']) log.record(impression(userId));
    await log.close();

    assert.deepEqual(await storedUsers(), ['a', 'c']);
    assert.deepEqual(
      { written, dropped, queued: log.queued },
      { written: 2, dropped: 1, queued: 0 },
    );
  });

  it('keeps the batch for a retry when the database itself fails', async () => {
    await db.pool.query('DELETE FROM impressions');
    const failing = {
      query: async () => {
        throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
      },
    } as unknown as TestDatabase['pool'];
    const log = new ImpressionLog(failing, silentLogger, { flushMs: 60_000, queueLimit: 100 });
    for (const userId of ['a', 'b']) log.record(impression(userId));
    await log.flush();
    assert.equal(log.queued, 2);
    await log.close();
  });
});
