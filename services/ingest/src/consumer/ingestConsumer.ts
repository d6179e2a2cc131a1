import type { Pool } from '@cml-rec/shared/db/pool';
import type { Logger } from '@cml-rec/shared/logging/logger';
import type { Batch, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import { sqlState } from '../errors.js';
import type { IngestMetrics } from '../metrics.js';
import {
  classifyBatch,
  writeBatch,
  type ClassifiedBatch,
  type TopicKind,
  type WriteResult,
} from './batchWriter.js';
import { sendDeadLetters } from './deadLetter.js';
import { ABANDONED, retryUntilDone } from './retry.js';

export interface IngestConsumerOptions {
  kafka: Kafka;
  /** Shared with the HTTP API; used here for the dead-letter topic. */
  producer: Producer;
  pool: Pool;
  logger: Logger;
  metrics: IngestMetrics;
  groupId: string;
  interactionsTopic: string;
  itemsTopic: string;
  deadLetterTopic: string;
  /** Most messages per transaction. */
  batchSize: number;
  partitionsConcurrency: number;
  maxBytesPerPartition: number;
  sessionTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  maxFutureSkewMs: number;
  /** Test seam: runs before each transaction (e.g. to make a batch slow). */
  beforeWrite?: (batch: ClassifiedBatch) => Promise<void>;
  /** Test seam: runs after the transaction committed, before the offsets are (e.g. a crash). */
  afterWrite?: (batch: ClassifiedBatch) => Promise<void>;
}

export interface IngestConsumer {
  start(): Promise<void>;
  /** Finishes or abandons the batch in flight, commits what was written and leaves the group. */
  stop(): Promise<void>;
  /** Joined the group and not crashed. */
  isReady(): boolean;
}

/**
 * The Kafka side of ingest: a consumer group on the interactions and items topics whose
 * batches are validated, written in one transaction each, and only then acknowledged.
 *
 * Order per batch (at most `batchSize` messages): validate → one transaction with the good
 * rows and the rejects → copy the rejects to the dead-letter topic → resolve and commit the
 * offsets → heartbeat. A crash anywhere before the commit replays the batch, and the
 * idempotent writes make the replay harmless.
 */
export function createIngestConsumer(options: IngestConsumerOptions): IngestConsumer {
  const { metrics } = options;
  const log = options.logger.child({ component: 'consumer', groupId: options.groupId });
  const heartbeatIntervalMs = Math.max(100, Math.floor(options.sessionTimeoutMs / 10));
  const consumer = options.kafka.consumer({
    groupId: options.groupId,
    sessionTimeout: options.sessionTimeoutMs,
    heartbeatInterval: heartbeatIntervalMs,
    maxBytesPerPartition: options.maxBytesPerPartition,
    maxBytes: options.maxBytesPerPartition * 4,
    maxWaitTimeInMs: 100,
    allowAutoTopicCreation: true,
    // A consumer that hit a fatal Kafka error restarts instead of dying: it never gives up.
    retry: { retries: 10, restartOnFailure: async () => true },
  });

  let joined = false;
  let crashed = false;
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    joined = true;
    crashed = false;
    metrics.groupJoins.inc();
    log.info({ assignment: event.payload.memberAssignment }, 'joined group');
  });
  consumer.on(consumer.events.CRASH, (event) => {
    crashed = !event.payload.restart;
    log.error({ err: event.payload.error, restart: event.payload.restart }, 'consumer crashed');
  });

  const kindOf = (topic: string): TopicKind =>
    topic === options.itemsTopic ? 'items' : 'interactions';

  async function handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const batchLog = log.child({ topic: batch.topic, partition: batch.partition });
    const shouldContinue = () => payload.isRunning() && !payload.isStale();

    for (let start = 0; start < batch.messages.length; start += options.batchSize) {
      if (!shouldContinue()) {
        batchLog.info({ offset: batch.messages[start].offset }, 'batch abandoned');
        return;
      }
      const chunk = batch.messages.slice(start, start + options.batchSize);
      const done = await processChunk(payload, chunk, batchLog, shouldContinue);
      if (!done) {
        batchLog.info({ offset: chunk[0].offset }, 'batch abandoned');
        return;
      }
    }
  }

  /** Writes and acknowledges one transaction's worth of messages; false if abandoned. */
  async function processChunk(
    payload: EachBatchPayload,
    chunk: Batch['messages'],
    batchLog: Logger,
    shouldContinue: () => boolean,
  ): Promise<boolean> {
    const { batch } = payload;
    const started = performance.now();
    const last = chunk[chunk.length - 1];
    const classified = classifyBatch(kindOf(batch.topic), batch.topic, batch.partition, chunk, {
      maxFutureSkewMs: options.maxFutureSkewMs,
    });
    const validated = performance.now();

    const retry = {
      initialMs: options.retryInitialMs,
      maxMs: options.retryMaxMs,
      heartbeat: payload.heartbeat,
      shouldContinue,
    };
    // A single transaction can outlast the session timeout (a huge batch, a slow or locked
    // database); heartbeat beside it so that the group does not evict this member meanwhile.
    const keepAlive = setInterval(() => {
      payload.heartbeat().catch((error: unknown) => {
        batchLog.debug({ err: error }, 'background heartbeat failed');
      });
    }, heartbeatIntervalMs);
    let written: WriteResult | typeof ABANDONED;
    try {
      written = await retryUntilDone(
        async () => {
          await options.beforeWrite?.(classified);
          return writeBatch(options.pool, classified);
        },
        {
          ...retry,
          // Data errors were isolated by writeBatch already; anything still failing is the
          // database's or the schema's fault, and skipping the batch would lose it: wait.
          isRetriable: () => true,
          onRetry: (error, attempt, delayMs) => {
            metrics.retries.inc({ stage: 'database' });
            metrics.databaseUp.set(0);
            const fields = {
              err: error,
              sqlState: sqlState(error),
              attempt,
              delayMs,
              offset: chunk[0].offset,
            };
            if (attempt === 1) batchLog.warn(fields, 'database write failed, retrying');
            else batchLog.debug(fields, 'database write failed again');
          },
        },
      );
    } finally {
      clearInterval(keepAlive);
    }
    if (written === ABANDONED) return false;
    metrics.databaseUp.set(1);
    const writtenAt = performance.now();
    if (written.isolated) {
      batchLog.warn({ offset: chunk[0].offset }, 'batch had a data error, written one by one');
    }

    const sent = await retryUntilDone(
      () => sendDeadLetters(options.producer, options.deadLetterTopic, classified.rejects),
      {
        ...retry,
        isRetriable: () => true,
        onRetry: (error, attempt, delayMs) => {
          metrics.retries.inc({ stage: 'dead_letter' });
          batchLog.warn({ err: error, attempt, delayMs }, 'dead-letter send failed, retrying');
        },
      },
    );
    if (sent === ABANDONED) return false;
    await options.afterWrite?.(classified);

    payload.resolveOffset(last.offset);
    await payload.commitOffsetsIfNecessary();
    await payload.heartbeat();

    recordChunk(batch, classified, written, last.offset, started);
    batchLog.debug(
      {
        firstOffset: chunk[0].offset,
        lastOffset: last.offset,
        messages: chunk.length,
        validateMs: Math.round(validated - started),
        writeMs: Math.round(writtenAt - validated),
        commitMs: Math.round(performance.now() - writtenAt),
        inserted: written.interactionsInserted,
        rejected: classified.rejects.length,
      },
      'batch committed',
    );
    return true;
  }

  function recordChunk(
    batch: Batch,
    classified: ClassifiedBatch,
    written: WriteResult,
    lastOffset: string,
    started: number,
  ): void {
    const topic = batch.topic;
    const size = classified.interactions.length + classified.items.length;
    metrics.consumed.inc({ topic }, size + classified.rejects.length);
    metrics.written.inc({ table: 'interactions' }, written.interactionsInserted);
    metrics.written.inc({ table: 'items' }, written.itemsWritten);
    metrics.written.inc({ table: 'rejects' }, written.rejectsInserted);
    metrics.duplicates.inc({ topic }, written.duplicates);
    for (const reject of classified.rejects) metrics.rejected.inc({ topic, reason: reject.reason });
    const lag = BigInt(batch.highWatermark) - 1n - BigInt(lastOffset);
    metrics.lag.set({ topic, partition: String(batch.partition) }, Number(lag < 0n ? 0n : lag));
    metrics.batchSeconds.observe({ topic }, (performance.now() - started) / 1000);
    metrics.batchMessages.observe({ topic }, size + classified.rejects.length);
  }

  return {
    async start() {
      await consumer.connect();
      await consumer.subscribe({
        topics: [options.interactionsTopic, options.itemsTopic],
        fromBeginning: true,
      });
      await consumer.run({
        eachBatchAutoResolve: false,
        autoCommit: true,
        // With a threshold of one resolved offset, commitOffsetsIfNecessary() commits at once:
        // offsets are resolved only after their transaction committed.
        autoCommitThreshold: 1,
        partitionsConsumedConcurrently: options.partitionsConcurrency,
        eachBatch: handleBatch,
      });
      log.info(
        { topics: [options.interactionsTopic, options.itemsTopic], batchSize: options.batchSize },
        'consumer started',
      );
    },
    async stop() {
      // kafkajs waits for the batch in flight (which gives up at its next step once
      // isRunning() is false), commits the resolved offsets and leaves the group.
      await consumer.disconnect();
      joined = false;
      log.info({}, 'consumer stopped, left group');
    },
    isReady: () => joined && !crashed,
  };
}
