#!/usr/bin/env node
import path from 'node:path';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { runCli } from '@cml-rec/shared/cli/run';
import { loadDatabaseConfig, openDatabase } from '@cml-rec/shared/db/database';
import { apiKeyGuard } from '@cml-rec/shared/http/auth';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { loadRecommenderConfig } from './config.js';
import { startRecommender } from './runtime.js';

const logger = createLogger('recommender');
const usage = 'usage: cml-serve   (configured by environment variables; see the README)';

async function main(): Promise<void> {
  // Both configs are read before anything starts, so a bad setting stops start-up at once.
  const config = loadRecommenderConfig();
  const databaseConfig = loadDatabaseConfig();
  // Building the guard checks the key settings (no keys and auth not disabled is refused).
  apiKeyGuard({ keys: config.apiKeys, disabled: config.authDisabled });
  if (config.authDisabled) logger.warn('API-key check disabled (AUTH_DISABLED=true)');

  const database = await openDatabase(databaseConfig, logger);
  const store = new FileArtifactStore(
    process.env.ARTIFACT_DIR ?? path.join(databaseConfig.dataDir, 'artifacts'),
  );
  let recommender;
  try {
    recommender = await startRecommender({ config, pool: database.pool, store, logger });
  } catch (error) {
    await database.close();
    throw error;
  }
  logger.info(
    {
      host: config.host,
      port: recommender.port,
      modelVersion: recommender.models.current?.versionId,
    },
    'recommender listening',
  );

  const running = recommender;
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'shutting down: draining requests');
    void running
      .close()
      .catch((error) => logger.error({ err: error }, 'failed to shut down cleanly'))
      .finally(() => void database.close().finally(() => process.exit(0)));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

runCli(main, logger, usage);
