import { randomBytes } from 'node:crypto';
import type { Pool } from '@cml-rec/shared/db/pool';
import { createLogger, silentLogger, type Logger } from '@cml-rec/shared/logging/logger';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { createIngestConsumer, type IngestConsumerOptions } from '../consumer/ingestConsumer.js';
import { createKafka, createProducer } from '../kafka.js';
import { createMetrics, type IngestMetrics } from '../metrics.js';
import type { MockKafka } from './mockKafka.js';

export interface Topics {
  interactions: string;
  items: string;
  deadLetter: string;
}

/** Fresh topic names (3 partitions each) so that tests sharing a cluster never meet. */
export async function createTopics(kafka: MockKafka, prefix = 'test'): Promise<Topics> {
  const run = `${prefix}-${randomBytes(4).toString('hex')}`;
  const topics = {
    interactions: `${run}.interactions`,
    items: `${run}.items`,
    deadLetter: `${run}.dead-letter`,
  };
  for (const topic of Object.values(topics)) await kafka.createTopic(topic, 3);
  return topics;
}

export interface ConsumerFixture {
  kafka: Kafka;
  producer: Producer;
  admin: Admin;
  metrics: IngestMetrics;
  topics: Topics;
  groupId: string;
  /** Sum over partitions of the group's committed offsets on a topic. */
  committed(topic: string): Promise<number>;
  stop(): Promise<void>;
}

/** An in-process ingest consumer on fresh topics, with a producer and an admin client. */
export async function startConsumerFixture(
  mock: MockKafka,
  pool: Pool,
  overrides: Partial<IngestConsumerOptions> = {},
  // INGEST_TEST_LOG=debug shows the consumer's logs while a test runs.
  logger: Logger = process.env.INGEST_TEST_LOG
    ? createLogger('ingest-test', process.env.INGEST_TEST_LOG)
    : silentLogger,
): Promise<ConsumerFixture> {
  const topics = await createTopics(mock);
  const groupId = `group-${randomBytes(4).toString('hex')}`;
  const kafka = createKafka({ brokers: mock.brokers, clientId: 'ingest-test', logger });
  const producer = createProducer(kafka);
  const admin = kafka.admin();
  await Promise.all([producer.connect(), admin.connect()]);
  const metrics = createMetrics({ defaultMetrics: false });

  const consumer = createIngestConsumer({
    kafka,
    producer,
    pool,
    logger,
    metrics,
    groupId,
    interactionsTopic: topics.interactions,
    itemsTopic: topics.items,
    deadLetterTopic: topics.deadLetter,
    batchSize: 500,
    partitionsConcurrency: 3,
    maxBytesPerPartition: 1024 * 1024,
    sessionTimeoutMs: 6_000,
    retryInitialMs: 50,
    retryMaxMs: 500,
    maxFutureSkewMs: 60_000,
    ...overrides,
  });
  await consumer.start();

  return {
    kafka,
    producer,
    admin,
    metrics,
    topics,
    groupId,
    async committed(topic) {
      const [result] = await admin.fetchOffsets({ groupId, topics: [topic] });
      return result.partitions.reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
    },
    async stop() {
      await consumer.stop();
      await Promise.all([producer.disconnect(), admin.disconnect()]);
    },
  };
}
