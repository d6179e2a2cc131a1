/**
 * End-to-end ingest throughput: events per second from the first produce to the last
 * committed offset (every row committed before it), for several batch sizes.
 *
 *   node services/ingest/dist/bench/throughput.js [events] [batch sizes] [live|backlog]
 *     [librdkafka|kafkajs]
 *   (defaults: 50000 events, batch sizes 250,1000,5000, live, librdkafka)
 *
 * live: the consumer is joined before the clock starts and producing overlaps consuming,
 * as in production. backlog: every event is in Kafka before the consumer starts; the clock
 * starts when it has joined; this is the consumer's drain rate. Either way, keep events ×
 * ~180 bytes / 3 under 5 MiB (the mock's per-partition retention), i.e. at most about 80,000
 * events: the librdkafka producer writes them all faster than the consumer reads.
 *
 * The producer shares this machine's cores with the service, as the load generator of a
 * benchmark should not: librdkafka (inside the mock cluster's helper) produces at a few µs
 * of CPU per event; kafkajs spends about 20 µs per event, more with big requests (it groups
 * a request's messages per partition in quadratic time), so it measures itself as much as
 * the service. The kafkajs producer stays available for comparison with older figures.
 *
 * Each run uses the compiled service (dist/main.js) as a child process, a fresh mock Kafka
 * topic set (3 partitions) and a fresh schema on the test PostgreSQL. librdkafka's mock broker
 * returns one producer record batch per partition per fetch (a real broker fills the fetch up
 * to its byte limit), so the producer puts batchSize messages per partition in a request to
 * let the consumer's batches reach the batch size.
 * Results go to stdout as a markdown table and to
 * bench-results/ingest-throughput-<mode>-<producer>.json.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@cml-rec/shared/db/testing';
import { silentLogger } from '@cml-rec/shared/logging/logger';
import { createKafka, createProducer } from '../kafka.js';
import { createTopics } from '../testing/fixture.js';
import { spawnIngest } from '../testing/ingestProcess.js';
import { startMockKafka } from '../testing/mockKafka.js';
import { ingestEnv } from '../testing/scenario.js';
import {
  countStored,
  makeWorkload,
  produceAll,
  waitFor,
  writeProduceFile,
} from '../testing/workload.js';

interface Run {
  mode: string;
  producer: string;
  batchSize: number;
  events: number;
  produceMs: number;
  endToEndMs: number;
  eventsPerSecond: number;
  rows: number;
}

const events = Number(process.argv[2] ?? 50_000);
const batchSizes = (process.argv[3] ?? '250,1000,5000').split(',').map(Number);
const mode = process.argv[4] === 'backlog' ? 'backlog' : 'live';
const producerKind = process.argv[5] === 'kafkajs' ? 'kafkajs' : 'librdkafka';
const produceFile = path.join(os.tmpdir(), `cml-ingest-bench-${process.pid}.bin`);

const mock = await startMockKafka();
const kafka = createKafka({ brokers: mock.brokers, clientId: 'bench', logger: silentLogger });
const producer = createProducer(kafka);
const admin = kafka.admin();
await Promise.all([producer.connect(), admin.connect()]);
const runs: Run[] = [];

try {
  for (const batchSize of batchSizes) {
    const db = await createTestDatabase('ingest_bench');
    try {
      const topics = await createTopics(mock, 'bench');
      const workload = makeWorkload({ count: events, malformedEvery: 0, runId: topics.items });
      const { env } = ingestEnv(mock, db, topics, { INGEST_BATCH_SIZE: String(batchSize) });
      const committed = async () => {
        const [offsets] = await admin.fetchOffsets({
          groupId: env.KAFKA_GROUP_ID,
          topics: [topics.interactions],
        });
        return offsets.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      };
      // The mock broker answers a fetch with one producer record batch per partition, so the
      // producer sends batchSize messages per partition per request to let batches fill up.
      if (producerKind === 'librdkafka') writeProduceFile(workload.messages, produceFile);
      const produce = () =>
        producerKind === 'librdkafka'
          ? mock.produceFile(topics.interactions, produceFile, batchSize)
          : produceAll(producer, topics.interactions, workload.messages, {
              chunk: Math.max(1_000, batchSize * 3),
              inFlight: 2,
            });

      // backlog: everything is in Kafka before the consumer starts (its drain rate).
      let produceMs = 0;
      if (mode === 'backlog') {
        const produceStart = performance.now();
        await produce();
        produceMs = performance.now() - produceStart;
      }
      const ingest = await spawnIngest(env);
      try {
        const start = performance.now();
        if (mode === 'live') {
          await produce();
          produceMs = performance.now() - start;
        }
        await waitFor(async () => (await committed()) === events, 'every offset committed', {
          timeoutMs: 600_000,
          intervalMs: 20,
        });
        const endToEndMs = performance.now() - start;
        const { rows } = await countStored(db.pool);
        const run = {
          mode,
          producer: producerKind,
          batchSize,
          events,
          produceMs: Math.round(produceMs),
          endToEndMs: Math.round(endToEndMs),
          eventsPerSecond: Math.round(events / (endToEndMs / 1000)),
          rows,
        };
        runs.push(run);
        console.error(JSON.stringify(run));
      } finally {
        await ingest.kill('SIGTERM');
      }
    } finally {
      await db.drop();
    }
  }
} finally {
  await Promise.all([producer.disconnect(), admin.disconnect()]);
  await mock.stop();
  rmSync(produceFile, { force: true });
}

const span = mode === 'live' ? 'first produce → all committed' : 'consumer ready → all committed';
console.log(
  `| mode | producer | batch size | events | produce ms | ${span} ms | events/s | rows |`,
);
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const run of runs) {
  console.log(
    `| ${run.mode} | ${run.producer} | ${run.batchSize} | ${run.events} | ${run.produceMs} | ` +
      `${run.endToEndMs} | ${run.eventsPerSecond} | ${run.rows} |`,
  );
}

const resultsDir = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../bench-results',
);
mkdirSync(resultsDir, { recursive: true });
writeFileSync(
  path.join(resultsDir, `ingest-throughput-${mode}-${producerKind}.json`),
  JSON.stringify({ cpus: os.cpus().length, node: process.version, runs }, null, 2),
);
