import { z } from 'zod';
import { loadEnvConfig } from '@cml-rec/shared/config/env';

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
  /** HNSW ef at query time (raised to k when k is larger). */
  hnswEfSearch: z.coerce.number().int().min(1).max(4096).default(100),
  /** How long a user's seen items are cached, in milliseconds. */
  seenCacheMs: z.coerce.number().int().min(0).max(600_000).default(2000),
  /** How often to check the registry for a newly activated version, in milliseconds. */
  reloadPollMs: z.coerce.number().int().min(100).max(3_600_000).default(10_000),
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
      reloadPollMs: 'RELOAD_POLL_MS',
    },
    env,
  );
}
