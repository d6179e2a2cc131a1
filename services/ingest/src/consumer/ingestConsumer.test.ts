import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from '@cml-rec/shared/db/pool';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '@cml-rec/shared/db/testing';
import { DEAD_LETTER_HEADERS } from './deadLetter.js';
import { startConsumerFixture, type ConsumerFixture } from '../testing/fixture.js';
import { startMockKafka, type MockKafka } from '../testing/mockKafka.js';
import { startTcpProxy } from '../testing/tcpProxy.js';
import {
  auditIngest,
  countStored,
  counterValue,
  makeWorkload,
  produceAll,
  waitFor,
} from '../testing/workload.js';

describe('ingest > consumer', () => {
  let mock: MockKafka;
  before(async () => {
    mock = await startMockKafka();
  });
  after(async () => {
    await mock.stop();
  });

  /** A private schema and a consumer on fresh topics for one test. */
  async function setUp(
    options: Parameters<typeof startConsumerFixture>[2] = {},
    pool?: TestDatabase['pool'],
  ): Promise<{ db: TestDatabase; fixture: ConsumerFixture; tearDown: () => Promise<void> }> {
    const db = await createTestDatabase('ingest');
    const fixture = await startConsumerFixture(mock, pool ?? db.pool, options);
    return {
      db,
      fixture,
      tearDown: async () => {
        await fixture.stop();
        await db.drop();
      },
    };
  }

  it('stores every valid event once and rejects each malformed one with a reason', async () => {
    const { db, fixture, tearDown } = await setUp();
    try {
      const workload = makeWorkload({ count: 2_600, malformedEvery: 20, runId: 'valid' });
      await produceAll(fixture.producer, fixture.topics.interactions, workload.messages);
      const total = workload.messages.length;
      await waitFor(
        async () => (await fixture.committed(fixture.topics.interactions)) === total,
        'all offsets committed',
      );

      const audit = await auditIngest(db.pool, workload);
      assert.equal(audit.rows, workload.validEventIds.length);
      assert.deepEqual(
        { missing: audit.missing, unexpected: audit.unexpected, duplicates: audit.duplicates },
        { missing: 0, unexpected: 0, duplicates: 0 },
      );
      assert.equal(audit.rejects, workload.malformedCount);
      assert.equal(audit.rejectsWithoutReason, 0);
      for (const reason of [
        'invalid_json',
        'unknown_event_type',
        'invalid_field',
        'timestamp_in_future',
        'payload_too_large',
        'unsupported_version',
        'unknown_field',
        'not_an_object',
      ]) {
        assert.ok(audit.reasons[reason] > 0, `no reject with reason ${reason}`);
      }

      const { rows } = await db.pool.query<{ topic: string; kafka_partition: number }>(
        'SELECT DISTINCT topic, kafka_partition FROM rejects',
      );
      assert.ok(rows.every((row) => row.topic === fixture.topics.interactions));
      assert.equal(new Set(rows.map((row) => row.kafka_partition)).size, 3);
    } finally {
      await tearDown();
    }
  });

  it('copies each reject to the dead-letter topic with its origin and reason', async () => {
    const { fixture, tearDown } = await setUp();
    const reader = fixture.kafka.consumer({ groupId: `${fixture.groupId}-dlq` });
    try {
      const workload = makeWorkload({ count: 300, malformedEvery: 10, runId: 'dlq' });
      await produceAll(fixture.producer, fixture.topics.interactions, workload.messages);

      const seen: Record<string, string>[] = [];
      await reader.connect();
      await reader.subscribe({ topics: [fixture.topics.deadLetter], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) {
            headers[name] = String(value);
          }
          seen.push(headers);
        },
      });
      await waitFor(() => seen.length >= workload.malformedCount, 'dead letters');
      assert.equal(seen.length, workload.malformedCount);
      for (const headers of seen) {
        assert.equal(headers[DEAD_LETTER_HEADERS.topic], fixture.topics.interactions);
        assert.match(headers[DEAD_LETTER_HEADERS.offset], /^\d+$/);
        assert.ok(headers[DEAD_LETTER_HEADERS.reason].length > 0);
      }
    } finally {
      await reader.disconnect();
      await tearDown();
    }
  });

  it('applies catalogue updates in order and rejects malformed item messages', async () => {
    const { db, fixture, tearDown } = await setUp();
    try {
      const item = (itemId: string, active: boolean, features: Record<string, unknown>) => ({
        key: itemId,
        value: JSON.stringify({ version: 1, itemId, features, active }),
      });
      await produceAll(fixture.producer, fixture.topics.items, [
        item('a', true, { genre: ['drama'], year: 1994 }),
        item('b', true, { genre: ['comedy'] }),
        item('a', false, { genre: ['drama', 'crime'], year: 1994 }),
        { key: 'c', value: JSON.stringify({ version: 1, itemId: 'c', active: 'yes' }) },
      ]);
      await waitFor(
        async () => (await fixture.committed(fixture.topics.items)) === 4,
        'item offsets committed',
      );

      const { rows } = await db.pool.query<{
        external_id: string;
        active: boolean;
        features: unknown;
      }>('SELECT external_id, active, features FROM items ORDER BY external_id');
      assert.deepEqual(rows, [
        { external_id: 'a', active: false, features: { genre: ['drama', 'crime'], year: 1994 } },
        { external_id: 'b', active: true, features: { genre: ['comedy'] } },
      ]);
      assert.equal((await countStored(db.pool)).rejects, 1);
    } finally {
      await tearDown();
    }
  });

  it('waits without committing while the database is down, then catches up by itself', async () => {
    const url = new URL(testDatabaseUrl);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const db = await createTestDatabase('ingest');
    url.host = `127.0.0.1:${proxy.port}`;
    const proxied = createPool({ connectionString: url.toString(), schema: db.schema, max: 4 });
    const fixture = await startConsumerFixture(mock, proxied);
    try {
      const workload = makeWorkload({ count: 1_000, malformedEvery: 50, runId: 'down' });
      const total = workload.messages.length;
      proxy.cut();
      await produceAll(fixture.producer, fixture.topics.interactions, workload.messages);
      await waitFor(
        async () => (await counterValue(fixture.metrics.retries, { stage: 'database' })) >= 3,
        'database retries',
      );
      await sleep(300);
      assert.deepEqual(await countStored(db.pool), { rows: 0, rejects: 0 });
      assert.equal(await fixture.committed(fixture.topics.interactions), 0);

      proxy.restore();
      await waitFor(
        async () => (await fixture.committed(fixture.topics.interactions)) === total,
        'offsets committed after recovery',
      );
      const audit = await auditIngest(db.pool, workload);
      assert.equal(audit.rows, workload.validEventIds.length);
      assert.equal(audit.missing + audit.duplicates, 0);
      assert.equal(audit.rejects, workload.malformedCount);
    } finally {
      await fixture.stop();
      await proxied.end();
      await proxy.close();
      await db.drop();
    }
  });
});
