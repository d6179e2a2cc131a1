import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@cml-rec/shared/logging/logger';
import { createTestDatabase, type TestDatabase } from '@cml-rec/shared/db/testing';
import { createKafka, createProducer } from './kafka.js';
import { createTopics } from './testing/fixture.js';
import { spawnIngest } from './testing/ingestProcess.js';
import { startMockKafka, type MockKafka } from './testing/mockKafka.js';
import { ingestEnv, runFaultScenario } from './testing/scenario.js';
import { auditIngest, countStored, makeWorkload, produceAll, waitFor } from './testing/workload.js';

describe('ingest > main', () => {
  let mock: MockKafka;
  let db: TestDatabase;
  before(async () => {
    mock = await startMockKafka();
  });
  after(async () => {
    await mock.stop();
  });

  it('stores every event exactly once across a SIGKILL and terminated connections', async () => {
    db = await createTestDatabase('ingest_main');
    try {
      const result = await runFaultScenario(mock, db, {
        events: 5_000,
        malformedEvery: 100,
        batchSize: 250,
      });

      assert.equal(result.killedBy, 'SIGKILL');
      assert.ok(result.rowsAtKill < result.expectedRows, 'killed after the work was done');
      assert.ok(result.terminatedConnections > 0, 'no database connection was terminated');
      assert.equal(result.audit.rows, result.expectedRows);
      assert.deepEqual(
        {
          missing: result.audit.missing,
          unexpected: result.audit.unexpected,
          duplicates: result.audit.duplicates,
        },
        { missing: 0, unexpected: 0, duplicates: 0 },
      );
      assert.equal(result.audit.rejects, result.expectedRejects);
      assert.equal(result.audit.duplicateRejects, 0);
      assert.equal(result.audit.rejectsWithoutReason, 0);
      assert.equal(result.sigtermExitCode, 0);
      assert.deepEqual(result.logStartOffsets, [0, 0, 0]);
    } finally {
      await db.drop();
    }
  });

  it('on SIGTERM commits what it wrote, leaves the group and exits 0', async () => {
    db = await createTestDatabase('ingest_main');
    const kafka = createKafka({ brokers: mock.brokers, clientId: 'test', logger: silentLogger });
    const producer = createProducer(kafka);
    const admin = kafka.admin();
    await Promise.all([producer.connect(), admin.connect()]);
    try {
      const topics = await createTopics(mock, 'sigterm');
      const { env } = ingestEnv(mock, db, topics, { INGEST_BATCH_SIZE: '100' });
      const committed = async () => {
        const [offsets] = await admin.fetchOffsets({
          groupId: env.KAFKA_GROUP_ID,
          topics: [topics.interactions],
        });
        return offsets.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      };
      const workload = makeWorkload({ count: 6_000, malformedEvery: 50, runId: topics.items });
      await produceAll(producer, topics.interactions, workload.messages);

      // Trace logs include kafkajs's protocol requests, so the LeaveGroup exchange is visible.
      const first = await spawnIngest({ ...env, LOG_LEVEL: 'trace' });
      await waitFor(async () => (await countStored(db.pool)).rows > 1_000, 'first rows');
      const stopped = await first.kill('SIGTERM');
      assert.equal(stopped.code, 0);
      assert.ok(first.logs.some((line) => line.msg === 'consumer stopped, left group'));
      // The coordinator acknowledged the LeaveGroup. (librdkafka's mock coordinator still
      // waits a session timeout before the next join, so join timing cannot show this.)
      const left = first.logs.find((line) => String(line.msg).startsWith('Response LeaveGroup'));
      assert.deepEqual((left?.data as { errorCode?: number } | undefined)?.errorCode, 0);

      // Nothing written is left uncommitted, and nothing committed is unwritten.
      const stored = await countStored(db.pool);
      assert.ok(stored.rows < workload.validEventIds.length, 'finished before the signal');
      assert.equal(await committed(), stored.rows + stored.rejects);

      const second = await spawnIngest(env);
      try {
        await waitFor(
          async () => (await committed()) === workload.messages.length,
          'all committed',
        );
      } finally {
        await second.kill('SIGTERM');
      }

      const audit = await auditIngest(db.pool, workload);
      assert.equal(audit.rows, workload.validEventIds.length);
      assert.equal(audit.missing + audit.duplicates, 0);
      assert.equal(audit.rejects, workload.malformedCount);
    } finally {
      await Promise.all([producer.disconnect(), admin.disconnect()]);
      await db.drop();
    }
  });

  it('refuses to start without API keys unless AUTH_DISABLED=true', async () => {
    db = await createTestDatabase('ingest_main');
    try {
      const topics = await createTopics(mock, 'auth');
      const { env } = ingestEnv(mock, db, topics, { AUTH_DISABLED: 'false', API_KEYS: '' });
      await assert.rejects(spawnIngest(env), /API_KEYS/);
    } finally {
      await db.drop();
    }
  });
});
