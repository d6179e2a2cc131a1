import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from '@cml-rec/shared/db/pool';
import { createTestDatabase, testDatabaseUrl } from '@cml-rec/shared/db/testing';
import { startConsumerFixture } from '../testing/fixture.js';
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

describe('ingest > consumer > faults', () => {
  let mock: MockKafka;
  before(async () => {
    mock = await startMockKafka();
  });
  after(async () => {
    await mock.stop();
  });

  it('stores everything exactly once when its connections are terminated mid-stream', async () => {
    const db = await createTestDatabase('ingest');
    const appName = `ingest_terminate_${process.pid}`;
    const url = new URL(testDatabaseUrl);
    url.searchParams.set('application_name', appName);
    const pool = createPool({ connectionString: url.toString(), schema: db.schema, max: 4 });
    const fixture = await startConsumerFixture(mock, pool, { batchSize: 200 });
    try {
      const workload = makeWorkload({ count: 6_000, malformedEvery: 100, runId: 'term' });
      const total = workload.messages.length;
      await produceAll(fixture.producer, fixture.topics.interactions, workload.messages);

      // Terminate every connection of the consumer each time another fifth of the rows is in.
      let terminated = 0;
      for (const share of [0.2, 0.4, 0.6, 0.8]) {
        await waitFor(
          async () => (await countStored(db.pool)).rows >= workload.validEventIds.length * share,
          `${share * 100} % of the rows`,
          { intervalMs: 5 },
        );
        const { rowCount } = await db.pool.query(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`,
          [appName],
        );
        terminated += rowCount ?? 0;
      }
      await waitFor(
        async () => (await fixture.committed(fixture.topics.interactions)) === total,
        'offsets committed',
      );

      assert.ok(terminated > 0, 'no connection was terminated');
      const audit = await auditIngest(db.pool, workload);
      assert.equal(audit.rows, workload.validEventIds.length);
      assert.equal(audit.missing + audit.unexpected + audit.duplicates, 0);
      assert.equal(audit.rejects, workload.malformedCount);
      assert.equal(audit.duplicateRejects, 0);
    } finally {
      await fixture.stop();
      await pool.end();
      await db.drop();
    }
  });

  it('replays a batch that was written but not acknowledged without storing it twice', async () => {
    const db = await createTestDatabase('ingest');
    let crashes = 0;
    const fixture = await startConsumerFixture(mock, db.pool, {
      batchSize: 100,
      afterWrite: async () => {
        // The transaction committed; fail before the offsets are, once.
        if (crashes++ === 0) throw new Error('simulated crash after the database commit');
      },
    });
    try {
      const workload = makeWorkload({ count: 900, malformedEvery: 30, runId: 'replay' });
      await produceAll(fixture.producer, fixture.topics.interactions, workload.messages);
      await waitFor(
        async () => (await fixture.committed(fixture.topics.interactions)) === 900,
        'offsets committed after the replay',
      );

      assert.ok(await counterValue(fixture.metrics.duplicates), 'nothing was replayed');
      const audit = await auditIngest(db.pool, workload);
      assert.equal(audit.rows, workload.validEventIds.length);
      assert.equal(audit.missing + audit.duplicates, 0);
      assert.equal(audit.rejects, workload.malformedCount);
    } finally {
      await fixture.stop();
      await db.drop();
    }
  });

  it('keeps its group membership through a write and an outage longer than its session', async () => {
    const url = new URL(testDatabaseUrl);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const db = await createTestDatabase('ingest');
    url.host = `127.0.0.1:${proxy.port}`;
    const proxied = createPool({ connectionString: url.toString(), schema: db.schema, max: 4 });
    let slowWrites = 0;
    const fixture = await startConsumerFixture(mock, proxied, {
      // The mock coordinator delays a new group's first join by 3 s and evicts members whose
      // session expires meanwhile, so 4 s is about the shortest session that can join.
      sessionTimeoutMs: 4_000,
      partitionsConcurrency: 1,
      beforeWrite: async () => {
        // The first transaction takes 6 s: longer than the session.
        if (slowWrites++ === 0) await sleep(6_000);
      },
    });
    try {
      const first = makeWorkload({ count: 300, malformedEvery: 0, runId: 'slow' });
      await produceAll(fixture.producer, fixture.topics.interactions, first.messages);
      await waitFor(
        async () => (await fixture.committed(fixture.topics.interactions)) === 300,
        'offsets committed after the slow write',
      );

      proxy.cut();
      const second = makeWorkload({ count: 300, malformedEvery: 0, runId: 'outage', seed: 7 });
      await produceAll(fixture.producer, fixture.topics.interactions, second.messages);
      await sleep(6_000);
      proxy.restore();
      await waitFor(
        async () => (await fixture.committed(fixture.topics.interactions)) === 600,
        'offsets committed after the outage',
      );

      assert.equal(await counterValue(fixture.metrics.groupJoins), 1);
      assert.equal((await countStored(db.pool)).rows, 600);
    } finally {
      await fixture.stop();
      await proxied.end();
      await proxy.close();
      await db.drop();
    }
  });

  it('rejects a message the database refuses and writes the rest of its batch', async () => {
    const db = await createTestDatabase('ingest');
    await db.pool.query(
      `ALTER TABLE users ADD CONSTRAINT no_poison CHECK (external_id <> 'poison-user')`,
    );
    const fixture = await startConsumerFixture(mock, db.pool);
    try {
      const event = (n: number, userId: string) => ({
        key: userId,
        value: JSON.stringify({
          version: 1,
          eventId: `e${n}`,
          userId,
          itemId: 'i1',
          eventType: 'view',
          timestamp: new Date(Date.UTC(2026, 0, 1) + n).toISOString(),
        }),
      });
      await produceAll(fixture.producer, fixture.topics.interactions, [
        event(1, 'u1'),
        event(2, 'poison-user'),
        event(3, 'u1'),
      ]);
      await waitFor(
        async () => (await fixture.committed(fixture.topics.interactions)) === 3,
        'offsets committed',
      );

      const { rows } = await db.pool.query<{ reason: string }>('SELECT reason FROM rejects');
      assert.deepEqual(rows, [{ reason: 'database_23514' }]);
      assert.equal((await countStored(db.pool)).rows, 2);
    } finally {
      await fixture.stop();
      await db.drop();
    }
  });
});
