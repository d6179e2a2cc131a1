import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { initTables } from '@cml-rec/shared/cml/tables';
import { defaultHyperparameters } from '@cml-rec/shared/cml/train';
import { generateSyntheticDataset, type SyntheticRating } from '@cml-rec/shared/data/synthetic';
import { upsertInteractions } from '@cml-rec/shared/db/interactions';
import { withTransaction } from '@cml-rec/shared/db/pool';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '@cml-rec/shared/db/testing';
import { silentLogger } from '@cml-rec/shared/logging/logger';
import { readModelVersion, writeModelVersion } from '@cml-rec/shared/model/version-files';
import {
  activateVersion,
  getActiveVersion,
  getVersion,
  listVersions,
  registerVersion,
  type ModelVersion,
} from '@cml-rec/shared/registry/registry';
import { defaultGate } from './gate.js';
import {
  acquireRetrainLock,
  exitCodeFor,
  retrain,
  RetrainExitCode,
  type RetrainOptions,
} from './retrain.js';

const DIM = 8;

const options: RetrainOptions = {
  minRating: 4,
  pipeline: {
    hyperparameters: { ...defaultHyperparameters, dim: DIM, epochs: 2 },
    testFraction: 0.2,
    validationFraction: 0,
    splitSeed: 1,
    ks: [10, 50],
    bpr: false,
  },
  gate: defaultGate,
  activate: true,
  forceActivate: false,
  force: false,
  warmStart: true,
  lockWaitMs: 0,
};

const synthetic = generateSyntheticDataset({
  numUsers: 160,
  numItems: 90,
  numClusters: 4,
  meanInteractions: 14,
  seed: 11,
});
const byUser = (from: number, to: number) =>
  synthetic.ratings.filter((r) => Number(r.userId) >= from && Number(r.userId) < to);

async function seed(db: TestDatabase, ratings: SyntheticRating[]): Promise<void> {
  await withTransaction(db.pool, (client) =>
    upsertInteractions(
      client,
      ratings.map((r) => ({
        userId: r.userId,
        itemId: r.itemId,
        eventType: 'rating' as const,
        weight: r.rating,
        occurredAt: new Date(r.timestamp * 1000),
        source: 'test',
      })),
    ),
  );
}

async function vectorsOf(store: FileArtifactStore, version: ModelVersion) {
  const loaded = await readModelVersion(store, version.id, version.checksum);
  try {
    return {
      userIds: loaded.userIds,
      users: await loaded.model.embedUsers(loaded.userIds.map((_, n) => n)),
      dim: loaded.model.dim,
    };
  } finally {
    await loaded.release();
  }
}

describe('trainer > retrain', () => {
  let db: TestDatabase;
  let folder: string;
  let store: FileArtifactStore;
  before(async () => {
    db = await createTestDatabase('retrain');
    folder = await mkdtemp(path.join(tmpdir(), 'cml-retrain-'));
    store = new FileArtifactStore(folder);
    await seed(db, byUser(1, 100));
  });
  after(async () => {
    await db.drop();
    await rm(folder, { recursive: true, force: true });
  });

  it('promotes the first version through the gate', async () => {
    const outcome = await retrain(db.pool, store, options, silentLogger);
    assert.equal(outcome.status, 'promoted');
    assert.equal(exitCodeFor(outcome), RetrainExitCode.ok);
    const active = await getActiveVersion(db.pool);
    assert.ok(outcome.status === 'promoted' && active?.id === outcome.version.id);
    assert.equal(active?.dataSnapshot.interactionCount, byUser(1, 100).length);
    assert.ok(typeof (active?.metrics.cml as { users?: number } | undefined)?.users === 'number');
  });

  it('does nothing when the snapshot is the one the active version learned from', async () => {
    const outcome = await retrain(db.pool, store, options, silentLogger);
    assert.equal(outcome.status, 'unchanged');
    assert.equal(exitCodeFor(outcome), RetrainExitCode.ok);
    assert.equal((await listVersions(db.pool)).length, 1);
  });

  it('starts known users from the active version: with no epochs their rows are identical', async () => {
    await seed(db, byUser(100, 130));
    const active = (await getActiveVersion(db.pool)) as ModelVersion;
    const noTraining = {
      ...options,
      activate: false,
      pipeline: {
        ...options.pipeline,
        hyperparameters: { ...options.pipeline.hyperparameters, epochs: 0 },
      },
    };
    const outcome = await retrain(db.pool, store, noTraining, silentLogger);
    assert.equal(outcome.status, 'registered');
    assert.ok(outcome.status === 'registered');
    assert.deepEqual(outcome.warmStart, {
      fromVersion: active.id,
      users: active.dataSnapshot.users,
      items: active.dataSnapshot.items,
    });

    const old = await vectorsOf(store, active);
    const fresh = await vectorsOf(store, outcome.version);
    let compared = 0;
    old.userIds.forEach((id, row) => {
      const at = fresh.userIds.indexOf(id);
      assert.ok(at >= 0, `user ${id} is missing from the new version`);
      assert.deepEqual(
        fresh.users.subarray(at * DIM, (at + 1) * DIM),
        old.users.subarray(row * DIM, (row + 1) * DIM),
        `user ${id}`,
      );
      compared++;
    });
    assert.equal(compared, old.userIds.length);
    assert.ok(fresh.userIds.length > old.userIds.length, 'new users were added');
  });

  it('keeps a worse model a candidate with the reason, and the active version stays', async () => {
    // An active version whose recorded metrics no honest run can reach.
    const inflated = 'v-inflated';
    const previous = (await getActiveVersion(db.pool)) as ModelVersion;
    const tables = initTables(previous.dataSnapshot.users, previous.dataSnapshot.items, DIM, {
      seed: 5,
    });
    const old = await readModelVersion(store, previous.id, previous.checksum);
    await old.release();
    const written = await writeModelVersion(store, inflated, tables, {
      users: old.userIds,
      items: old.itemIds,
    });
    await registerVersion(db.pool, {
      id: inflated,
      dataSnapshot: previous.dataSnapshot,
      hyperparameters: {},
      metrics: { cml: { users: 1, at: { 10: { ndcg: 0.99 }, 50: { recall: 0.99 } } } },
      artifactUri: written.artifactUri,
      checksum: written.checksum,
    });
    await activateVersion(db.pool, inflated, 'test: inflated metrics');

    await seed(db, byUser(130, 145));
    const outcome = await retrain(db.pool, store, options, silentLogger);
    assert.equal(outcome.status, 'rejected');
    assert.equal(exitCodeFor(outcome), RetrainExitCode.notPromoted);
    assert.ok(outcome.status === 'rejected');
    const stored = await getVersion(db.pool, outcome.version.id);
    assert.equal(stored?.status, 'candidate');
    assert.match(
      stored?.statusReason ?? '',
      /^promotion gate failed against v-inflated: cml\.at\.50\.recall 0\.\d{4} < 0\.9900 - 0\.01/,
    );
    assert.equal((await getActiveVersion(db.pool))?.id, inflated);
  });

  it('lets exactly one of two concurrent runs train', async () => {
    await seed(db, byUser(145, 161));
    const before = (await listVersions(db.pool)).length;
    const outcomes = await Promise.all([
      retrain(db.pool, store, options, silentLogger),
      retrain(db.pool, store, options, silentLogger),
    ]);
    const statuses = outcomes.map((outcome) => outcome.status).sort();
    assert.equal((await listVersions(db.pool)).length, before + 1, `outcomes: ${statuses}`);
    assert.ok(
      statuses.includes('locked') || statuses.includes('unchanged'),
      `one run must stand aside, got ${statuses}`,
    );
  });

  it('stands aside with the lock exit code while another session holds the lock', async () => {
    const lock = await acquireRetrainLock(db.pool);
    assert.ok(lock);
    try {
      const outcome = await retrain(db.pool, store, { ...options, force: true }, silentLogger);
      assert.equal(outcome.status, 'locked');
      assert.equal(exitCodeFor(outcome), RetrainExitCode.locked);
    } finally {
      await lock.release();
    }
  });

  describe('trainer > retrain > command', () => {
    const cli = fileURLToPath(new URL('./cli/retrain.js', import.meta.url));
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [cli, ...args],
          {
            env: {
              PATH: process.env.PATH,
              DATABASE_URL: testDatabaseUrl,
              DATABASE_SCHEMA: db.schema,
              ARTIFACT_DIR: folder,
              LOG_LEVEL: 'silent',
            },
            timeout: 60_000,
          },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });

    it('exits 4 while another run holds the lock, 0 with nothing to do, 2 on bad usage', async () => {
      const lock = await acquireRetrainLock(db.pool);
      assert.ok(lock);
      try {
        const locked = await run(['--dim', String(DIM)]);
        assert.equal(locked.code, 4, locked.stderr);
        assert.match(locked.stdout, /another retrain run holds the lock/);
      } finally {
        await lock.release();
      }
      const idle = await run(['--dim', String(DIM)]);
      assert.equal(idle.code, 0, idle.stderr);
      assert.match(idle.stdout, /^nothing to do: the snapshot/);

      const usage = await run(['--ratings', 'x.data']);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /--ratings is not an option of cml-retrain/);
    });
  });
});
