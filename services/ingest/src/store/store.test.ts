import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ensureReferencedRows } from '@cml-rec/shared/db/interactions';
import { createTestDatabase, type TestDatabase } from '@cml-rec/shared/db/testing';
import type { Interaction } from '@cml-rec/shared/domain/interaction';
import { insertTogether } from './insertParts.js';
import { insertInteractionsPart } from './interactions.js';
import { upsertItemsPart } from './items.js';
import { brokerTimestamp, insertRejectsPart, type Reject } from './rejects.js';

describe('ingest > store', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase('ingest_store');
  });
  after(async () => {
    await db.drop();
  });

  const interaction = (n: number, userId: string, itemId: string): Interaction => ({
    userId,
    itemId,
    eventType: 'view',
    weight: 1,
    occurredAt: new Date(Date.UTC(2026, 0, 1) + n),
    source: 'kafka:test',
    eventId: `store-${n}`,
  });
  const reject = (offset: number): Reject => ({
    topic: 'store-test',
    partition: 0,
    offset: String(offset),
    reason: 'invalid_json',
    detail: 'Unexpected end of JSON input',
    key: Buffer.from('k'),
    value: Buffer.from('{'),
    timestamp: '1767225600000',
  });
  const ids = async (table: 'users' | 'items') =>
    (await db.pool.query<{ id: string }>(`SELECT id FROM ${table} ORDER BY id`)).rows.map((row) =>
      Number(row.id),
    );

  it('creates only the missing users and items, without drawing ids for known ones', async () => {
    await ensureReferencedRows(db.pool, [interaction(1, 'u1', 'i1'), interaction(2, 'u2', 'i1')]);
    await ensureReferencedRows(db.pool, [interaction(3, 'u1', 'i1'), interaction(4, 'u3', 'i2')]);

    // A known id that reached ON CONFLICT would still have drawn a sequence value: a gap.
    assert.deepEqual(await ids('users'), [1, 2, 3]);
    assert.deepEqual(await ids('items'), [1, 2]);
  });

  it('writes every part in one statement and counts what each part wrote', async () => {
    const rows = [interaction(10, 'u1', 'i1'), interaction(11, 'u2', 'i2')];
    await ensureReferencedRows(db.pool, rows);

    const first = await insertTogether(db.pool, {
      // Before the interactions on purpose: the part that writes items must not hide the
      // items table from the part that joins it.
      items: upsertItemsPart([{ itemId: 'i9', features: { year: 1994 }, active: true }]),
      interactions: insertInteractionsPart([...rows, rows[0]]),
      rejects: insertRejectsPart([reject(1), reject(2)]),
      empty: insertRejectsPart([]),
    });
    const replayed = await insertTogether(db.pool, {
      interactions: insertInteractionsPart(rows),
      rejects: insertRejectsPart([reject(1), reject(2)]),
    });

    assert.deepEqual(first, { items: 1, interactions: 2, rejects: 2, empty: 0 });
    assert.deepEqual(replayed, { interactions: 0, rejects: 0 });
  });

  it('writes no part when one of them fails', async () => {
    await db.pool.query(`ALTER TABLE rejects ADD CONSTRAINT no_poison CHECK (detail <> 'poison')`);
    const rows = [interaction(20, 'u1', 'i1')];

    await assert.rejects(
      insertTogether(db.pool, {
        interactions: insertInteractionsPart(rows),
        rejects: insertRejectsPart([{ ...reject(3), detail: 'poison' }]),
      }),
      (error: { code?: string }) => error.code === '23514',
    );
    const { rows: stored } = await db.pool.query(
      `SELECT 1 FROM interactions WHERE dedupe_key = 'id:store-20'`,
    );
    assert.equal(stored.length, 0);
  });

  it('stores a reject whose broker timestamp PostgreSQL cannot hold, with no timestamp', async () => {
    const odd = ['260000000000000', '8639999999999999', '-62198755200001', 'abc'];
    const rejects = odd.map((timestamp, n) => ({ ...reject(900 + n), timestamp }));
    const written = await insertTogether(db.pool, { rejects: insertRejectsPart(rejects) });
    assert.equal(written.rejects, odd.length);

    const stored = await db.pool.query<{ produced_at: Date | null }>(
      `SELECT produced_at FROM rejects WHERE kafka_offset >= 900 ORDER BY kafka_offset`,
    );
    assert.deepEqual(
      stored.rows.map((row) => row.produced_at),
      odd.map(() => null),
    );
    assert.equal(brokerTimestamp('1767225600000'), '2026-01-01T00:00:00.000Z');
    assert.equal(brokerTimestamp(undefined), null);
  });

  it('keeps the first of two events with one dedupe key in a batch, as a replay would', async () => {
    const first = { ...interaction(700, 'first-user', 'first-item'), eventId: undefined };
    const later = { ...first, weight: 3 };
    const filler = Array.from({ length: 3000 }, (_, n) => interaction(10_000 + n, 'f', `fi${n}`));
    const byId = [interaction(701, 'id-user', 'id-item'), ...filler];
    byId.push({ ...byId[0], weight: 5 });

    await ensureReferencedRows(db.pool, [first, ...byId]);
    const written = await insertTogether(db.pool, {
      interactions: insertInteractionsPart([first, later, ...byId]),
    });
    assert.equal(written.interactions, 2 + filler.length);

    const weights = await db.pool.query<{ external_id: string; weight: number }>(
      `SELECT u.external_id, i.weight FROM interactions i JOIN users u ON u.id = i.user_id
        WHERE u.external_id IN ('first-user', 'id-user') ORDER BY u.external_id`,
    );
    assert.deepEqual(
      weights.rows.map((row) => [row.external_id, row.weight]),
      [
        ['first-user', 1],
        ['id-user', 1],
      ],
    );
  });
});
