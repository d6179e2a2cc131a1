#!/usr/bin/env node
import type { AddressInfo } from 'node:net';
import { loadDatabaseConfig, openDatabase } from '@cml-rec/shared/db/database';
import { answerClientErrors } from '@cml-rec/shared/http/errors';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { loadIngestConfig } from './config.js';
import { createIngestConsumer } from './consumer/ingestConsumer.js';
import { createIngestApp } from './http/app.js';
import { createKafka, createProducer } from './kafka.js';
import { createMetrics } from './metrics.js';

// Longest a graceful stop may take before the process exits anyway; under the default 30 s
// Kubernetes grace period so that the process is never killed mid-shutdown.
const SHUTDOWN_TIMEOUT_MS = 25_000;

/**
 * The ingest service: the Kafka consumer and the HTTP API in one process.
 * SIGTERM/SIGINT stop the HTTP server, finish or abandon the batch in flight, leave the
 * consumer group and close the database, then exit 0.
 */
async function main(): Promise<void> {
  const logger = createLogger('ingest');
  const config = loadIngestConfig();
  const database = await openDatabase(loadDatabaseConfig(), logger);
  const metrics = createMetrics();

  const kafka = createKafka({ brokers: config.brokers, clientId: config.clientId, logger });
  const producer = createProducer(kafka);
  let producerConnected = false;
  producer.on(producer.events.CONNECT, () => (producerConnected = true));
  producer.on(producer.events.DISCONNECT, () => (producerConnected = false));
  await producer.connect();

  const consumer = config.consumerDisabled
    ? undefined
    : createIngestConsumer({ kafka, producer, pool: database.pool, logger, metrics, ...config });

  const app = createIngestApp({
    producer,
    interactionsTopic: config.interactionsTopic,
    metrics,
    logger,
    apiKeys: config.apiKeys,
    authDisabled: config.authDisabled,
    maxEvents: config.httpMaxEvents,
    bodyLimit: config.httpBodyLimit,
    maxFutureSkewMs: config.maxFutureSkewMs,
    readiness: [
      {
        name: 'database',
        check: async () => (await database.pool.query('SELECT 1')).rowCount === 1,
      },
      { name: 'kafkaProducer', check: () => producerConnected },
      ...(consumer ? [{ name: 'kafkaConsumer', check: () => consumer.isReady() }] : []),
    ],
  });
  if (config.authDisabled) logger.warn({}, 'API-key check disabled (AUTH_DISABLED=true)');

  const server = app.listen(config.port, config.host);
  answerClientErrors(server);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  await consumer?.start();
  logger.info({ port, host: config.host, consumer: consumer !== undefined }, 'ingest ready');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    timer.unref();

    server.close();
    server.closeAllConnections();
    await consumer?.stop();
    await producer.disconnect();
    await database.close();
    logger.info({}, 'stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((error: unknown) => {
  createLogger('ingest').fatal({ err: error }, 'ingest failed to start');
  process.exit(1);
});
