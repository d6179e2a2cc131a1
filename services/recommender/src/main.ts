#!/usr/bin/env node
import path from 'node:path';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { runCli } from '@cml-rec/shared/cli/run';
import { loadDatabaseConfig, openDatabase } from '@cml-rec/shared/db/database';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { loadRecommenderConfig } from './config.js';
import { createApp } from './http/app.js';
import { ModelHolder } from './model/model-holder.js';
import { SeenItems } from './seen-items.js';

const logger = createLogger('recommender');
const usage = 'usage: cml-serve   (configured by environment variables; see the README)';

async function main(): Promise<void> {
  const config = loadRecommenderConfig();
  const databaseConfig = loadDatabaseConfig();
  const database = await openDatabase(databaseConfig, logger);
  const store = new FileArtifactStore(
    process.env.ARTIFACT_DIR ?? path.join(databaseConfig.dataDir, 'artifacts'),
  );

  const models = new ModelHolder(
    database.pool,
    store,
    { m: config.hnswM, efConstruction: config.hnswEfConstruction, efSearch: config.hnswEfSearch },
    logger,
  );
  await models.refresh();
  const poll = setInterval(
    () =>
      void models.refresh().catch((error) => logger.warn({ err: error }, 'model refresh failed')),
    config.reloadPollMs,
  );

  const app = createApp({
    config,
    models,
    seen: new SeenItems(database.pool, config.seenCacheMs),
    logger,
  });
  const server = app.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    logger.info(
      { host: config.host, port, modelVersion: models.current?.versionId },
      'recommender listening',
    );
  });

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down: draining requests');
    clearInterval(poll);
    server.close(() => {
      void database.close().finally(() => process.exit(0));
    });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

runCli(main, logger, usage);
