import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { AppError } from '@cml-rec/shared/errors';
import { MANIFEST, writeModelVersion } from '@cml-rec/shared/model/version-files';
import { randomEncoder, randomFloats, seededRandom } from '@cml-rec/shared/onnx/testing';
import { ServingModel } from './serving-model.js';

const DIM = 8;
const parameters = { m: 16, efConstruction: 100, efSearch: 50 };

function version(seed: number, numUsers: number, numItems: number) {
  const random = seededRandom(seed);
  return {
    random,
    tables: {
      dim: DIM,
      numUsers,
      numItems,
      users: randomFloats(random, numUsers * DIM, 0.3),
      items: randomFloats(random, numItems * DIM, 0.3),
    },
    ids: {
      users: Array.from({ length: numUsers }, (_, n) => `user-${n}`),
      items: Array.from({ length: numItems }, (_, n) => `item-${n}`),
    },
  };
}

describe('recommender > serving model > load', () => {
  let folder: string;
  let store: FileArtifactStore;
  before(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'cml-serving-model-'));
    store = new FileArtifactStore(folder);
  });
  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('serves exactly the vectors the version holds, read in a worker thread', async () => {
    // More items than one ONNX Runtime call reads, so the slicing is exercised.
    const { random, tables, ids } = version(1, 70, 70_000);
    const encoder = {
      spec: randomEncoder(random, [5, 8, DIM]),
      featureVocabulary: ['a', 'b', 'c', 'd', 'e'],
    };
    const written = await writeModelVersion(store, 'v-ok', tables, ids, { encoder });
    const model = await ServingModel.load(
      store,
      { id: 'v-ok', checksum: written.checksum },
      parameters,
    );

    assert.equal(model.dim, DIM);
    assert.equal(model.numItems, 70_000);
    for (const user of [0, 33, 69]) {
      assert.equal(model.userIndex(`user-${user}`), user);
      assert.deepEqual(model.userVector(user), tables.users.subarray(user * DIM, (user + 1) * DIM));
    }
    for (const item of [0, 65_535, 65_536, 69_999]) {
      assert.equal(model.itemIndex(`item-${item}`), item);
      assert.deepEqual(model.itemVector(item), tables.items.subarray(item * DIM, (item + 1) * DIM));
    }
    assert.deepEqual(model.encoder?.vocabulary, encoder.featureVocabulary);
    const query = model.userVector(5);
    assert.equal(model.index.search(query, 10).method, 'hnsw');

    await model.release();
    const answer = model.index.search(query, 10);
    assert.equal(answer.method, 'exact-fallback');
    assert.deepEqual(answer.neighbours, model.index.exactSearch(query, 10));
  });

  it('keeps the code of an error raised in the worker', async () => {
    const { tables, ids } = version(2, 10, 40);
    // One item id short of the model's rows: refused once the worker has opened the model.
    const written = await writeModelVersion(store, 'v-short', tables, {
      users: ids.users,
      items: ids.items.slice(1),
    });
    await assert.rejects(
      ServingModel.load(store, { id: 'v-short', checksum: written.checksum }, parameters),
      (error: unknown) => {
        assert.ok(error instanceof AppError, String(error));
        assert.equal(error.code, 'ARTIFACT_FORMAT');
        assert.match(error.message, /id maps \(10 users, 39 items\) do not match the model/);
        return true;
      },
    );
  });

  it('refuses a version whose model or id maps disagree with its manifest', async () => {
    const { tables, ids } = version(3, 10, 40);
    const load = (id: string, checksum: string) =>
      ServingModel.load(store, { id, checksum }, parameters);
    const refused = (pattern: RegExp) => (error: unknown) => {
      assert.ok(error instanceof AppError, String(error));
      assert.equal(error.code, 'ARTIFACT_FORMAT');
      assert.match(error.message, pattern);
      return true;
    };

    const repeated = { users: ids.users, items: [...ids.items.slice(0, 39), 'item-7'] };
    const withRepeat = await writeModelVersion(store, 'v-repeat', tables, repeated);
    await assert.rejects(
      load('v-repeat', withRepeat.checksum),
      refused(/item-ids\.json: id "item-7" appears at rows 7 and 39/),
    );

    // A manifest that records other counts than the model (rewritten with its new checksum).
    const written = await writeModelVersion(store, 'v-manifest', tables, ids);
    const manifest = { ...written.manifest, numItems: 41 };
    const checksum = await store.put('v-manifest', MANIFEST, Buffer.from(JSON.stringify(manifest)));
    await assert.rejects(
      load('v-manifest', checksum),
      refused(/the manifest records dim 8, 10 users and 41 items, the model has dim 8/),
    );
  });
});
