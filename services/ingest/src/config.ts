import { booleanFlag, loadEnvConfig } from '@cml-rec/shared/config/env';
import { ConfigError } from '@cml-rec/shared/errors';
import { parseApiKeys } from '@cml-rec/shared/http/auth';
import { z } from 'zod';

const brokerList = z
  .string()
  .transform((value) => value.split(',').map((broker) => broker.trim()))
  .pipe(z.array(z.string().regex(/^[^\s:]+:\d{1,5}$/, 'host:port expected')).min(1));

const ingestConfigSchema = z.object({
  /** Kafka bootstrap brokers, host:port comma list. */
  brokers: brokerList.default(['127.0.0.1:9092']),
  clientId: z.string().min(1).default('cml-ingest'),
  groupId: z.string().min(1).default('cml-ingest'),
  interactionsTopic: z.string().min(1).default('cml.interactions'),
  itemsTopic: z.string().min(1).default('cml.items'),
  deadLetterTopic: z.string().min(1).default('cml.dead-letter'),
  /** Most messages written in one database transaction (and one offset commit). */
  batchSize: z.coerce.number().int().min(1).max(50_000).default(5_000),
  /** Partitions processed in parallel (each batch still has its own transaction). */
  partitionsConcurrency: z.coerce.number().int().min(1).max(64).default(3),
  /** Bytes fetched per partition per request; bounds memory per batch. */
  maxBytesPerPartition: z.coerce
    .number()
    .int()
    .min(1024)
    .default(4 * 1024 * 1024),
  /** Consumer group session timeout, ms: a member silent this long is evicted. */
  sessionTimeoutMs: z.coerce.number().int().min(1_000).default(30_000),
  /** First and largest delay between retries of a failed database write, ms. */
  retryInitialMs: z.coerce.number().int().min(1).default(200),
  retryMaxMs: z.coerce.number().int().min(1).default(10_000),
  /** Allowed clock skew for event timestamps ahead of the consumer's clock, ms. */
  maxFutureSkewMs: z.coerce
    .number()
    .int()
    .min(0)
    .default(5 * 60 * 1000),
  /** HTTP port for /v1/events, /healthz, /readyz and /metrics (0 picks a free port). */
  port: z.coerce.number().int().min(0).max(65535).default(8081),
  /** Address the HTTP server listens on. */
  host: z.string().default('127.0.0.1'),
  /** Bearer tokens accepted by the HTTP API, comma-separated. */
  apiKeys: z.string().transform(parseApiKeys).default([]),
  /** Only the exact value `true` turns the API-key check off. */
  authDisabled: z.enum(['true', 'false']).optional(),
  /** Most events accepted in one POST /v1/events request. */
  httpMaxEvents: z.coerce.number().int().min(1).max(10_000).default(1_000),
  /** Request body limit for POST /v1/events, bytes. */
  httpBodyLimit: z.coerce
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Disable the consumer (HTTP producer only), for a dedicated API deployment. */
  consumerDisabled: booleanFlag.optional(),
});

export type IngestConfig = Omit<z.infer<typeof ingestConfigSchema>, 'authDisabled'> & {
  authDisabled: boolean;
  consumerDisabled: boolean;
};

/** Reads the ingest settings from the environment; every problem is reported at once. */
export function loadIngestConfig(env: NodeJS.ProcessEnv = process.env): IngestConfig {
  const config = loadEnvConfig(
    ingestConfigSchema,
    {
      brokers: 'KAFKA_BROKERS',
      clientId: 'KAFKA_CLIENT_ID',
      groupId: 'KAFKA_GROUP_ID',
      interactionsTopic: 'KAFKA_INTERACTIONS_TOPIC',
      itemsTopic: 'KAFKA_ITEMS_TOPIC',
      deadLetterTopic: 'KAFKA_DEAD_LETTER_TOPIC',
      batchSize: 'INGEST_BATCH_SIZE',
      partitionsConcurrency: 'INGEST_PARTITIONS_CONCURRENCY',
      maxBytesPerPartition: 'INGEST_MAX_BYTES_PER_PARTITION',
      sessionTimeoutMs: 'KAFKA_SESSION_TIMEOUT_MS',
      retryInitialMs: 'INGEST_RETRY_INITIAL_MS',
      retryMaxMs: 'INGEST_RETRY_MAX_MS',
      maxFutureSkewMs: 'INGEST_MAX_FUTURE_SKEW_MS',
      port: 'PORT',
      host: 'HOST',
      apiKeys: 'API_KEYS',
      authDisabled: 'AUTH_DISABLED',
      httpMaxEvents: 'INGEST_HTTP_MAX_EVENTS',
      httpBodyLimit: 'INGEST_HTTP_BODY_LIMIT',
      consumerDisabled: 'INGEST_CONSUMER_DISABLED',
    },
    env,
  );
  const authDisabled = config.authDisabled === 'true';
  if (!authDisabled && config.apiKeys.length === 0) {
    throw new ConfigError(['API_KEYS: at least one key is required unless AUTH_DISABLED=true']);
  }
  return {
    ...config,
    authDisabled,
    consumerDisabled: config.consumerDisabled === true,
  };
}
