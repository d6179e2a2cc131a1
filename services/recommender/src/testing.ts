import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { buildDataset } from '@cml-rec/shared/cml/dataset';
import {
  createCmlState,
  defaultHyperparameters,
  SerialCmlTrainer,
} from '@cml-rec/shared/cml/train';
import { generateSyntheticDataset, type SyntheticDataset } from '@cml-rec/shared/data/synthetic';
import { upsertInteractions } from '@cml-rec/shared/db/interactions';
import { upsertItemFeatures } from '@cml-rec/shared/db/items';
import { withTransaction } from '@cml-rec/shared/db/pool';
import { createTestDatabase, type TestDatabase } from '@cml-rec/shared/db/testing';
import { silentLogger, type Logger } from '@cml-rec/shared/logging/logger';
import { EMBEDDINGS, writeModelVersion } from '@cml-rec/shared/model/version-files';
import { activateVersion, newVersionId, registerVersion } from '@cml-rec/shared/registry/registry';
import { loadRecommenderConfig, type RecommenderConfig } from './config.js';
import { startRecommender, type Recommender } from './runtime.js';

/** The bearer token the fixture's API accepts (unless the env given says otherwise). */
export const FIXTURE_API_KEY = 'fixture-key';

/** The genres the fixture gives items: item n gets GENRES[n % 4], and `tag-even` when n is even. */
export const FIXTURE_GENRES = ['Action', 'Comedy', 'Drama', 'Horror'];

export interface PublishOptions {
  /** Default true: make it the active version (as the promotion gate would). */
  activate?: boolean;
  /** Truncate its embeddings after registering, as a damaged artifact store would. */
  corrupt?: boolean;
  /** Training seed; different seeds give different vectors. */
  seed?: number;
}

export interface RecommenderFixture {
  db: TestDatabase;
  store: FileArtifactStore;
  data: SyntheticDataset;
  recommender: Recommender;
  /** `recommender.models`, kept for older tests. */
  models: Recommender['models'];
  config: RecommenderConfig;
  baseUrl: string;
  /** fetch against the API with the fixture's bearer token. */
  request(route: string, init?: RequestInit): Promise<Response>;
  /** Trains a small model on the stored data and registers it (and activates it); returns its id. */
  publishModel(options?: PublishOptions): Promise<string>;
  /** Stores one interaction now, as the ingest service would. */
  addInteraction(userId: string, itemId: string): Promise<void>;
  /** Starts a second recommender over the same database and store (a restart, or a replica). */
  startReplica(env?: NodeJS.ProcessEnv): Promise<Recommender>;
  close(): Promise<void>;
}

/**
 * A recommender API on a random loopback port over a private database schema, seeded with a
 * small synthetic dataset (120 users, 80 items with genres and tags), and a way to publish
 * model versions to it as the trainer would. Runs the real wiring (`startRecommender`).
 */
export async function startRecommenderFixture(
  env: NodeJS.ProcessEnv = {},
  logger: Logger = silentLogger,
): Promise<RecommenderFixture> {
  const db = await createTestDatabase('rec');
  const folder = await mkdtemp(path.join(tmpdir(), 'cml-rec-artifacts-'));
  const store = new FileArtifactStore(folder);
  const fullEnv: NodeJS.ProcessEnv = {
    MAX_K: '50',
    SEEN_CACHE_MS: '0',
    API_KEYS: FIXTURE_API_KEY,
    PORT: '0',
    RELOAD_POLL_MS: '60000',
    IMPRESSION_FLUSH_MS: '50',
    ...env,
  };
  const config = loadRecommenderConfig(fullEnv);

  const data = generateSyntheticDataset({
    numUsers: 120,
    numItems: 80,
    numClusters: 4,
    meanInteractions: 12,
    seed: 5,
  });
  const itemIds = [...new Set(data.ratings.map((r) => r.itemId))].sort(
    (a, b) => Number(a) - Number(b),
  );
  await withTransaction(db.pool, async (client) => {
    await upsertInteractions(
      client,
      data.ratings.map((r) => ({
        userId: r.userId,
        itemId: r.itemId,
        eventType: 'rating' as const,
        weight: r.rating,
        occurredAt: new Date(r.timestamp * 1000),
        source: 'test',
      })),
    );
    await upsertItemFeatures(
      client,
      itemIds.map((itemId) => ({
        itemId,
        features: {
          genres: [FIXTURE_GENRES[Number(itemId) % FIXTURE_GENRES.length]],
          tags: Number(itemId) % 2 === 0 ? ['tag-even'] : [],
        },
      })),
    );
  });

  const startOne = (extra: NodeJS.ProcessEnv = {}) =>
    startRecommender({
      config: loadRecommenderConfig({ ...fullEnv, ...extra }),
      pool: db.pool,
      store,
      logger,
      defaultMetrics: false,
    });
  const recommender = await startOne();
  const replicas: Recommender[] = [];
  const baseUrl = `http://127.0.0.1:${recommender.port}`;
  const authorization = `Bearer ${fullEnv.API_KEYS?.split(',')[0] ?? ''}`;

  return {
    db,
    store,
    data,
    recommender,
    models: recommender.models,
    config,
    baseUrl,
    request(route, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', authorization);
      return fetch(`${baseUrl}${route}`, { ...init, headers });
    },
    async publishModel(options = {}) {
      const dataset = buildDataset(
        data.ratings.filter((r) => r.rating >= 4),
        { items: data.ratings.map((r) => r.itemId) },
      );
      const hp = { ...defaultHyperparameters, dim: 8, epochs: 2, seed: options.seed ?? 42 };
      const state = createCmlState(dataset.users.size, dataset.items.size, hp);
      const trainer = new SerialCmlTrainer(state, dataset.positives, hp);
      for (let epoch = 0; epoch < hp.epochs; epoch++) trainer.runEpoch();

      const id = newVersionId();
      const written = await writeModelVersion(store, id, state.tables, {
        users: dataset.users.ids,
        items: dataset.items.ids,
      });
      if (options.corrupt) {
        const file = path.join(store.locate(id), EMBEDDINGS);
        await truncate(file, 100);
      }
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
      if (options.activate ?? true) await activateVersion(db.pool, id, 'test');
      return id;
    },
    async addInteraction(userId, itemId) {
      await withTransaction(db.pool, (client) =>
        upsertInteractions(client, [
          {
            userId,
            itemId,
            eventType: 'click',
            weight: 1,
            occurredAt: new Date(),
            source: 'test',
          },
        ]),
      );
    },
    async startReplica(extra = {}) {
      const replica = await startOne(extra);
      replicas.push(replica);
      return replica;
    },
    async close() {
      for (const replica of replicas) await replica.close();
      await recommender.close();
      await db.drop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
