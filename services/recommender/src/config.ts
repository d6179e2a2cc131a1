import { z } from 'zod';
import { loadEnvConfig } from '@cml-rec/shared/config/env';
import { parseApiKeys } from '@cml-rec/shared/http/auth';
import { parseByteSize } from '@cml-rec/shared/http/body';

const recommenderConfigSchema = z.object({
  /** TCP port of the HTTP API. */
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Interface to listen on; 0.0.0.0 in containers. */
  host: z.string().default('127.0.0.1'),
  /** Largest k a request may ask for. */
  maxK: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** HNSW graph degree M: higher means better recall and more memory. */
  hnswM: z.coerce.number().int().min(2).max(128).default(16),
  /** HNSW efConstruction: candidate list size while building; higher builds slower, better. */
  hnswEfConstruction: z.coerce.number().int().min(8).max(4096).default(200),
  /** HNSW ef at query time (raised to k, or k + excluded items, when that is larger). */
  hnswEfSearch: z.coerce.number().int().min(1).max(4096).default(200),
  /** How long a user's seen items are cached before being re-read whole, in milliseconds. */
  seenCacheMs: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  /** How often interactions stored since the last look are added to cached users, in ms. */
  seenRefreshMs: z.coerce.number().int().min(0).max(60_000).default(1000),
  /** How often to check the registry and rollouts for changes, in milliseconds (NOTIFY is faster). */
  reloadPollMs: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
  /** How often item features (genre/tag filters) and popular items are re-read, in milliseconds. */
  catalogRefreshMs: z.coerce.number().int().min(1000).max(86_400_000).default(60_000),
  /** Comma-separated bearer tokens accepted by the API (a Kubernetes Secret in production). */
  apiKeys: z.string().default('').transform(parseApiKeys),
  /** The API-key check is off only when this is explicitly true. */
  authDisabled: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true'),
  /** Largest accepted JSON request body (bytes, or a string such as 64kb). */
  bodyLimit: z
    .string()
    .default('64kb')
    .refine((size) => parseByteSize(size) !== undefined, {
      error: 'must be a size in bytes such as 65536, 64kb or 1mb',
    }),
  /** Most recent item ids an anonymous-session request may send. */
  maxSessionItems: z.coerce.number().int().min(1).max(10_000).default(200),
  /** Impressions are written in batches at least this often, in milliseconds. */
  impressionFlushMs: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** Impressions queued beyond this are dropped (and counted) rather than held in memory. */
  impressionQueueLimit: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  /**
   * On SIGTERM, how long requests in flight may finish before their connections are cut, in
   * milliseconds. Kept well under Kubernetes' 30 s grace period, which must also cover the
   * impression flush and closing the database.
   */
  shutdownDrainMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
});

export type RecommenderConfig = z.infer<typeof recommenderConfigSchema>;

export function loadRecommenderConfig(env: NodeJS.ProcessEnv = process.env): RecommenderConfig {
  return loadEnvConfig(
    recommenderConfigSchema,
    {
      port: 'PORT',
      host: 'HOST',
      maxK: 'MAX_K',
      hnswM: 'HNSW_M',
      hnswEfConstruction: 'HNSW_EF_CONSTRUCTION',
      hnswEfSearch: 'HNSW_EF_SEARCH',
      seenCacheMs: 'SEEN_CACHE_MS',
      seenRefreshMs: 'SEEN_REFRESH_MS',
      reloadPollMs: 'RELOAD_POLL_MS',
      catalogRefreshMs: 'CATALOG_REFRESH_MS',
      apiKeys: 'API_KEYS',
      authDisabled: 'AUTH_DISABLED',
      bodyLimit: 'BODY_LIMIT',
      maxSessionItems: 'MAX_SESSION_ITEMS',
      impressionFlushMs: 'IMPRESSION_FLUSH_MS',
      impressionQueueLimit: 'IMPRESSION_QUEUE_LIMIT',
      shutdownDrainMs: 'SHUTDOWN_DRAIN_MS',
    },
    env,
  );
}
