import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { IdIndex } from '@cml-rec/shared/cml/dataset';
import { initTables } from '@cml-rec/shared/cml/tables';
import { writeModelVersion } from '@cml-rec/shared/model/version-files';
import { copyWarmStartRows, loadWarmStartVectors } from './warm-start.js';

const DIM = 4;

function row(table: Float32Array, index: number, dim = DIM): number[] {
  return Array.from(table.subarray(index * dim, (index + 1) * dim));
}

describe('trainer > warm start', () => {
  let folder: string;
  let store: FileArtifactStore;
  const old = initTables(3, 4, DIM, { seed: 1 });
  const oldIds = { users: ['ann', 'bob', 'cid'], items: ['i1', 'i2', 'i3', 'i4'] };
  let checksum: string;
  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'cml-warm-'));
    store = new FileArtifactStore(folder);
    checksum = (await writeModelVersion(store, 'old', old, oldIds)).checksum;
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('reads a version back through ONNX Runtime with its ids', async () => {
    const vectors = await loadWarmStartVectors(store, { id: 'old', checksum });
    assert.equal(vectors.dim, DIM);
    assert.deepEqual(vectors.userIds, oldIds.users);
    assert.deepEqual(Array.from(vectors.users), Array.from(old.users));
    assert.deepEqual(Array.from(vectors.items), Array.from(old.items));
  });

  it('copies the rows of known users and items by id and leaves new ones as they were', async () => {
    const vectors = await loadWarmStartVectors(store, { id: 'old', checksum });
    // A new dataset in another order, with one new user, one new item and one dropped item.
    const dataset = {
      users: IdIndex.from(['dan', 'cid', 'ann']),
      items: IdIndex.from(['i4', 'i9', 'i1', 'i2']),
    };
    const fresh = initTables(3, 4, DIM, { seed: 2 });
    const danBefore = row(fresh.users, 0);
    const i9Before = row(fresh.items, 1);

    const report = copyWarmStartRows(fresh, dataset, vectors);
    assert.deepEqual(report, { fromVersion: 'old', users: 2, items: 3 });
    assert.deepEqual(row(fresh.users, 1), row(old.users, 2)); // cid
    assert.deepEqual(row(fresh.users, 2), row(old.users, 0)); // ann
    assert.deepEqual(row(fresh.items, 0), row(old.items, 3)); // i4
    assert.deepEqual(row(fresh.items, 3), row(old.items, 1)); // i2
    assert.deepEqual(row(fresh.users, 0), danBefore);
    assert.deepEqual(row(fresh.items, 1), i9Before);
  });

  it('copies nothing when the dimensions differ', async () => {
    const vectors = await loadWarmStartVectors(store, { id: 'old', checksum });
    const fresh = initTables(3, 4, DIM + 2, { seed: 3 });
    const before = Array.from(fresh.users);
    const report = copyWarmStartRows(
      fresh,
      { users: IdIndex.from(oldIds.users), items: IdIndex.from(oldIds.items) },
      vectors,
    );
    assert.equal(report.users, 0);
    assert.match(report.skipped ?? '', /4 dimensions, this run 6/);
    assert.deepEqual(Array.from(fresh.users), before);
  });
});
