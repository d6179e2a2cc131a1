import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { initTables } from '@cml-rec/shared/cml/tables';
import { createTestDatabase, testDatabaseUrl, type TestDatabase } from '@cml-rec/shared/db/testing';
import { writeModelVersion } from '@cml-rec/shared/model/version-files';
import { getActiveVersion, getVersion, registerVersion } from '@cml-rec/shared/registry/registry';

const cli = fileURLToPath(new URL('./versions.js', import.meta.url));

describe('trainer > cli > versions', () => {
  let db: TestDatabase;
  let folder: string;

  const run = (...args: string[]) =>
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
          timeout: 30_000,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  async function register(id: string, recall: number) {
    const store = new FileArtifactStore(folder);
    const written = await writeModelVersion(store, id, initTables(3, 2, 4, { seed: 1 }), {
      users: ['a', 'b', 'c'],
      items: ['x', 'y'],
    });
    await registerVersion(db.pool, {
      id,
      dataSnapshot: {
        interactionCount: 1,
        latestTimestamp: null,
        maxInteractionId: 1,
        users: 3,
        items: 2,
        positives: 1,
      },
      hyperparameters: { dim: 4 },
      metrics: { cml: { users: 3, at: { 10: { ndcg: 0.2 }, 50: { recall } } } },
      artifactUri: written.artifactUri,
      checksum: written.checksum,
    });
  }

  before(async () => {
    db = await createTestDatabase('versions');
    folder = await mkdtemp(path.join(tmpdir(), 'cml-versions-'));
    await register('v1', 0.4);
    await register('v2', 0.2);
  });
  after(async () => {
    await db.drop();
    await rm(folder, { recursive: true, force: true });
  });

  it('lists versions with their status and gate metrics', async () => {
    const { code, stdout } = await run('list');
    assert.equal(code, 0);
    assert.match(
      stdout,
      /^id\s+status\s+created\s+promoted\s+cml\.at\.50\.recall\s+cml\.at\.10\.ndcg/,
    );
    assert.match(stdout, /\nv1\s+candidate\s.*0\.4000\s+0\.2000\s+registered/);
  });

  it('promotes through the gate, refuses a worse version with exit 3, and forces it', async () => {
    assert.equal((await run('promote', 'v1')).code, 0);
    const refused = await run('promote', 'v2');
    assert.equal(refused.code, 3);
    assert.match(refused.stdout, /v2 stays a candidate: promotion gate failed against v1/);
    assert.equal((await getActiveVersion(db.pool))?.id, 'v1');

    const forced = await run('promote', 'v2', '--force', '--reason', 'hotfix');
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /v2 is active \(was v1\): forced past the gate/);
    assert.match(
      (await getVersion(db.pool, 'v2'))?.statusReason ?? '',
      /forced by cml-versions: hotfix/,
    );
  });

  it('shows a version with its history', async () => {
    const { code, stdout } = await run('show', 'v2');
    assert.equal(code, 0);
    assert.match(stdout, /previous active\s+v1/);
    assert.match(stdout, /registered\s+registered[\s\S]*rejected[\s\S]*activated/);
  });

  it('rolls back to the previous version, then has nowhere further to go', async () => {
    const back = await run('rollback', '--reason', 'bad clicks');
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /rolled back from v2 to v1/);
    assert.equal((await getActiveVersion(db.pool))?.id, 'v1');
    assert.match(
      (await getVersion(db.pool, 'v2'))?.statusReason ?? '',
      /rolled back to v1: bad clicks/,
    );

    const none = await run('rollback');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /v1 has no previously active version to roll back to/);
  });

  it('explains unknown versions and commands', async () => {
    const unknown = await run('promote', 'nope');
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /model version nope is not registered/);
    const usage = await run('frobnicate');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown command "frobnicate"[\s\S]*usage: cml-versions/);
  });
});
