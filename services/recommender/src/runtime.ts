import type { Server } from 'node:http';
import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import type { Pool } from '@cml-rec/shared/db/pool';
import type { Logger } from '@cml-rec/shared/logging/logger';
import type { RecommenderConfig } from './config.js';
import { createApp } from './http/app.js';
import { closeServer, listen } from './http/server.js';
import { ItemCatalog } from './item-catalog.js';
import { createMetrics, type RecommenderMetrics } from './metrics.js';
import { removeStaleGraphFiles } from './model/item-index.js';
import { ModelHolder } from './model/model-holder.js';
import { ImpressionLog } from './rollouts/impressions.js';
import { SeenItems } from './seen-items.js';

export interface Recommender {
  server: Server;
  port: number;
  models: ModelHolder;
  catalog: ItemCatalog;
  impressions: ImpressionLog;
  metrics: RecommenderMetrics;
  /**
   * Stops accepting requests, drains them (cutting what is still open after shutdownDrainMs),
   * flushes impressions, stops listening and timers.
   */
  close(): Promise<void>;
}

/**
 * Wires the recommender over a database pool and an artifact store: loads what is active,
 * listens for changes (NOTIFY, with polling as the fallback), refreshes the item catalogue,
 * and serves HTTP. Shared by main.ts and the test fixture, so tests run the real wiring.
 */
export async function startRecommender(options: {
  config: RecommenderConfig;
  pool: Pool;
  store: ArtifactStore;
  logger: Logger;
  /** Default true; tests switch it off to keep output and timers small. */
  defaultMetrics?: boolean;
}): Promise<Recommender> {
  const { config, pool, store, logger } = options;
  const stale = await removeStaleGraphFiles().catch((error: unknown) => {
    logger.warn({ err: error }, 'could not look for stale HNSW graph files');
    return [];
  });
  if (stale.length > 0) logger.info({ files: stale }, 'removed graph files a killed load left');
  const metrics = createMetrics({ defaultMetrics: options.defaultMetrics });
  const models = new ModelHolder(
    pool,
    store,
    { m: config.hnswM, efConstruction: config.hnswEfConstruction, efSearch: config.hnswEfSearch },
    logger,
    { metrics },
  );
  const catalog = new ItemCatalog(pool);
  const impressions = new ImpressionLog(
    pool,
    logger,
    { flushMs: config.impressionFlushMs, queueLimit: config.impressionQueueLimit },
    {
      written: (count) => metrics.impressionsWritten.inc(count),
      dropped: (count) => metrics.impressionsDropped.inc(count),
    },
  );
  const seen = new SeenItems(
    pool,
    {
      ttlMs: config.seenCacheMs,
      refreshMs: config.seenRefreshMs,
      onLookup: (hit) => metrics.seenLookups.inc({ result: hit ? 'hit' : 'miss' }),
    },
    logger,
  );

  await catalog.refresh();
  await seen.start();
  await models.refresh();
  await models.listen();
  const poll = setInterval(
    () =>
      void models.refresh().catch((error) => logger.warn({ err: error }, 'model refresh failed')),
    config.reloadPollMs,
  );
  const catalogTimer = setInterval(
    () =>
      void catalog
        .refresh()
        .catch((error) => logger.warn({ err: error }, 'catalog refresh failed')),
    config.catalogRefreshMs,
  );
  poll.unref();
  catalogTimer.unref();

  const app = createApp({ config, models, seen, catalog, impressions, metrics, pool, logger });
  const server = await listen(app, config.port, config.host);
  // Idle keep-alive connections stay open longer than a load balancer's usual 60 s idle
  // timeout, so the server never closes a socket just as a client reuses it (ECONNRESET).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;

  return {
    server,
    port,
    models,
    catalog,
    impressions,
    metrics,
    async close() {
      clearInterval(poll);
      clearInterval(catalogTimer);
      await closeServer(server, config.shutdownDrainMs);
      await impressions.close();
      await seen.stop();
      await models.close();
    },
  };
}
