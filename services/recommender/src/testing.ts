import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { buildDataset } from '@cml-rec/shared/cml/dataset';
import {
  createCmlState,
  defaultHyperparameters,
  SerialCmlTrainer,
} from '@cml-rec/shared/cml/train';
import { generateSyntheticDataset } from '@cml-rec/shared/data/synthetic';
import { upsertInteractions } from '@cml-rec/shared/db/interactions';
import { withTransaction } from '@cml-rec/shared/db/pool';
import { createTestDatabase, type TestDatabase } from '@cml-rec/shared/db/testing';
import { silentLogger } from '@cml-rec/shared/logging/logger';
import { writeModelVersion } from '@cml-rec/shared/model/version-files';
import { activateVersion, newVersionId, registerVersion } from '@cml-rec/shared/registry/registry';
import { loadRecommenderConfig, type RecommenderConfig } from './config.js';
import { createApp } from './http/app.js';
import { ModelHolder } from './model/model-holder.js';
import { SeenItems } from './seen-items.js';

export interface RecommenderFixture {
  db: TestDatabase;
  store: FileArtifactStore;
  models: ModelHolder;
  config: RecommenderConfig;
  baseUrl: string;
  /** Trains a small model on what is stored, registers and activates it; returns its id. */
  publishModel(): Promise<string>;
  close(): Promise<void>;
}

/**
 * A recommender API on a random loopback port over a private database schema, seeded with a
 * small synthetic dataset, and a way to publish model versions to it as the trainer would.
 */
export async function startRecommenderFixture(
  env: NodeJS.ProcessEnv = {},
): Promise<RecommenderFixture> {
  const db = await createTestDatabase('rec');
  const folder = await mkdtemp(path.join(tmpdir(), 'cml-rec-artifacts-'));
  const store = new FileArtifactStore(folder);
  const config = loadRecommenderConfig({ MAX_K: '50', SEEN_CACHE_MS: '0', ...env });

  const data = generateSyntheticDataset({
    numUsers: 120,
    numItems: 80,
    numClusters: 4,
    meanInteractions: 12,
    seed: 5,
  });
  await withTransaction(db.pool, (client) =>
    upsertInteractions(
      client,
      data.ratings.map((r) => ({
        userId: r.userId,
        itemId: r.itemId,
        eventType: 'rating' as const,
        weight: r.rating,
        occurredAt: new Date(r.timestamp * 1000),
        source: 'test',
      })),
    ),
  );

  const models = new ModelHolder(
    db.pool,
    store,
    { m: config.hnswM, efConstruction: config.hnswEfConstruction, efSearch: config.hnswEfSearch },
    silentLogger,
  );
  const app = createApp({
    config,
    models,
    seen: new SeenItems(db.pool, config.seenCacheMs),
    logger: silentLogger,
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;

  return {
    db,
    store,
    models,
    config,
    baseUrl: `http://127.0.0.1:${port}`,
    async publishModel() {
      const dataset = buildDataset(
        data.ratings.filter((r) => r.rating >= 4),
        {
          items: data.ratings.map((r) => r.itemId),
        },
      );
      const hp = { ...defaultHyperparameters, dim: 8, epochs: 2 };
      const state = createCmlState(dataset.users.size, dataset.items.size, hp);
      const trainer = new SerialCmlTrainer(state, dataset.positives, hp);
      for (let epoch = 0; epoch < hp.epochs; epoch++) trainer.runEpoch();

      const id = newVersionId();
      const written = await writeModelVersion(store, id, state.tables, {
        users: dataset.users.ids,
        items: dataset.items.ids,
      });
      await registerVersion(db.pool, {
        id,
        dataSnapshot: {
          interactionCount: 0,
          latestTimestamp: null,
          maxInteractionId: 0,
          users: 0,
          items: 0,
          positives: 0,
        },
        hyperparameters: {},
        metrics: {},
        artifactUri: written.artifactUri,
        checksum: written.checksum,
      });
      await activateVersion(db.pool, id, 'test');
      return id;
    },
    async close() {
      await new Promise((resolve) => server.close(resolve));
      await db.drop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
