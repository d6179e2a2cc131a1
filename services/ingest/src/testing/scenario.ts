import { randomBytes } from 'node:crypto';
import { testDatabaseUrl, type TestDatabase } from '@cml-rec/shared/db/testing';
import { silentLogger } from '@cml-rec/shared/logging/logger';
import { createKafka, createProducer } from '../kafka.js';
import { createTopics, type Topics } from './fixture.js';
import { spawnIngest, type IngestProcess } from './ingestProcess.js';
import type { MockKafka } from './mockKafka.js';
import {
  auditIngest,
  countStored,
  makeWorkload,
  produceAll,
  waitFor,
  type IngestAudit,
} from './workload.js';

/** Environment for a child ingest process on `topics`, writing to `db`'s schema. */
export function ingestEnv(
  mock: MockKafka,
  db: TestDatabase,
  topics: Topics,
  extra: Record<string, string> = {},
): { env: Record<string, string>; applicationName: string } {
  const applicationName = `cml_ingest_${randomBytes(4).toString('hex')}`;
  const url = new URL(db.connectionString ?? testDatabaseUrl);
  url.searchParams.set('application_name', applicationName);
  return {
    applicationName,
    env: {
      KAFKA_BROKERS: mock.brokers.join(','),
      KAFKA_GROUP_ID: `group-${applicationName}`,
      KAFKA_INTERACTIONS_TOPIC: topics.interactions,
      KAFKA_ITEMS_TOPIC: topics.items,
      KAFKA_DEAD_LETTER_TOPIC: topics.deadLetter,
      DATABASE_URL: url.toString(),
      DATABASE_SCHEMA: db.schema,
      AUTH_DISABLED: 'true',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
      ...extra,
    },
  };
}

export interface FaultScenarioOptions {
  events: number;
  malformedEvery: number;
  /** INGEST_BATCH_SIZE of the consumer. */
  batchSize: number;
  /** SIGKILL the first consumer once this share of the valid rows is stored. */
  killAt?: number;
  /** Terminate the second consumer's connections once this share is stored. */
  terminateAt?: number;
  timeoutMs?: number;
  progress?: (message: string) => void;
}

export interface FaultScenarioResult {
  audit: IngestAudit;
  expectedRows: number;
  expectedRejects: number;
  rowsAtKill: number;
  killedBy: string | null;
  terminatedConnections: number;
  rowsAtTerminate: number;
  /** Rows skipped as already stored: replays after the kill or the terminations. */
  duplicatesSkipped: number;
  /** Exit code of the second consumer after SIGTERM. */
  sigtermExitCode: number | null;
  /** From the first consumer's start to the last event produced. */
  produceMs: number;
  /** From the first consumer's start to every offset committed, restarts included. */
  consumeMs: number;
  /** First offset still in each partition (above 0 once the mock's retention deleted some). */
  logStartOffsets: number[];
}

// Uncommitted messages the producer lets build up (see runFaultScenario).
const MAX_UNCOMMITTED = 30_000;

/**
 * The ingest acceptance scenario: produce a workload with malformed events, consume it with
 * the real service (dist/main.js) while SIGKILLing it once and terminating its database
 * connections once, then audit the tables. Used by main.test.ts (scaled down) and by
 * src/bench/acceptance.ts (100,000 events).
 */
export async function runFaultScenario(
  mock: MockKafka,
  db: TestDatabase,
  options: FaultScenarioOptions,
): Promise<FaultScenarioResult> {
  const progress = options.progress ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const topics = await createTopics(mock, 'accept');
  const workload = makeWorkload({
    count: options.events,
    malformedEvery: options.malformedEvery,
    runId: randomBytes(3).toString('hex'),
  });
  const expectedRows = workload.validEventIds.length;
  const total = workload.messages.length;

  const kafka = createKafka({ brokers: mock.brokers, clientId: 'scenario', logger: silentLogger });
  const producer = createProducer(kafka);
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const processes: IngestProcess[] = [];
  try {
    const { env, applicationName } = ingestEnv(mock, db, topics, {
      INGEST_BATCH_SIZE: String(options.batchSize),
    });
    const committed = async () => {
      const [offsets] = await admin.fetchOffsets({
        groupId: env.KAFKA_GROUP_ID,
        topics: [topics.interactions],
      });
      return offsets.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    };
    const rowsReach = (share: number) => async () =>
      (await countStored(db.pool)).rows >= Math.floor(expectedRows * share);

    const consumeStart = performance.now();
    const first = await spawnIngest(env);
    processes.push(first);

    // Producing runs beside the consumers, as in production. librdkafka's mock broker keeps
    // only the last 5 MiB of each partition (a hard-coded retention), so the producer waits
    // while more than MAX_UNCOMMITTED messages are uncommitted, or the oldest would be deleted
    // before they were read (the audit would then count them as missing).
    let produceMs = 0;
    const producing = produceAll(producer, topics.interactions, workload.messages, {
      // One record batch per partition per fetch from the mock broker: see bench/throughput.ts.
      chunk: Math.max(1_000, options.batchSize * 3),
      inFlight: 2,
      beforeSend: (sent) =>
        waitFor(async () => sent - (await committed()) <= MAX_UNCOMMITTED, 'consumer progress', {
          timeoutMs,
          intervalMs: 20,
        }),
    }).then(() => {
      produceMs = performance.now() - consumeStart;
      progress(`produced ${total} events`);
    });
    producing.catch(() => undefined);

    // A backend with a transaction id has written rows it has not committed: a batch is
    // in flight. Waiting for one makes the kill and the termination land mid-batch.
    const midBatch = async () => {
      const { rowCount } = await db.pool.query(
        `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND backend_xid IS NOT NULL`,
        [applicationName],
      );
      return (rowCount ?? 0) > 0;
    };

    await waitFor(rowsReach(options.killAt ?? 0.3), 'rows before the kill', {
      timeoutMs,
      intervalMs: 10,
    });
    await waitFor(midBatch, 'a batch in flight', { timeoutMs, intervalMs: 2 });
    const killed = await first.kill('SIGKILL');
    const rowsAtKill = (await countStored(db.pool)).rows;
    progress(`SIGKILLed the consumer at ${rowsAtKill} rows`);

    const second = await spawnIngest(env);
    processes.push(second);
    await waitFor(rowsReach(options.terminateAt ?? 0.6), 'rows before the termination', {
      timeoutMs,
      intervalMs: 10,
    });
    await waitFor(midBatch, 'a batch in flight', { timeoutMs, intervalMs: 2 });
    const terminated = await db.pool.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      [applicationName],
    );
    const rowsAtTerminate = (await countStored(db.pool)).rows;
    progress(`terminated ${terminated.rowCount} connections at ${rowsAtTerminate} rows`);

    await producing;
    await waitFor(async () => (await committed()) === total, 'every offset committed', {
      timeoutMs,
      intervalMs: 50,
    });
    const consumeMs = performance.now() - consumeStart;
    progress(`all offsets committed ${Math.round(consumeMs)} ms after the first start`);
    const logStartOffsets = (await admin.fetchTopicOffsets(topics.interactions)).map((p) =>
      Number(p.low),
    );

    const metrics = await fetch(`http://127.0.0.1:${second.port}/metrics`).then((r) => r.text());
    const duplicatesSkipped = /^ingest_duplicates_skipped_total\{[^}]*\} (\d+)/m.exec(metrics);
    const stopped = await second.kill('SIGTERM');

    return {
      audit: await auditIngest(db.pool, workload),
      expectedRows,
      expectedRejects: workload.malformedCount,
      rowsAtKill,
      killedBy: killed.signal,
      terminatedConnections: terminated.rowCount ?? 0,
      rowsAtTerminate,
      duplicatesSkipped: Number(duplicatesSkipped?.[1] ?? 0),
      sigtermExitCode: stopped.code,
      produceMs,
      consumeMs,
      logStartOffsets,
    };
  } finally {
    await Promise.all(processes.map((process) => process.kill('SIGKILL')));
    await Promise.all([producer.disconnect(), admin.disconnect()]);
  }
}
