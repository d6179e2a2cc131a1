import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Random } from '@cml-rec/shared/util/random';
import { ItemIndex, removeStaleGraphFiles } from './item-index.js';

const parameters = { m: 16, efConstruction: 100, efSearch: 10 };

function randomVectors(count: number, dim: number, seed: number): Float32Array {
  const random = new Random(seed);
  const vectors = new Float32Array(count * dim);
  for (let n = 0; n < vectors.length; n++) vectors[n] = random.float() * 2 - 1;
  return vectors;
}

function euclidean(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let d = 0; d < a.length; d++) sum += (a[d] - b[d]) ** 2;
  return Math.sqrt(sum);
}

describe('recommender > index > search', () => {
  const dim = 8;
  const numItems = 600;
  const vectors = randomVectors(numItems, dim, 1);
  const index = ItemIndex.buildSync(vectors, dim, parameters);
  const queries = randomVectors(20, dim, 2);
  const query = (n: number) => queries.subarray(n * dim, (n + 1) * dim);

  it('reports true Euclidean distances, nearest first', () => {
    const { neighbours } = index.search(query(0), 10);
    assert.equal(neighbours.length, 10);
    for (const { item, distance } of neighbours) {
      const expected = euclidean(query(0), vectors.subarray(item * dim, (item + 1) * dim));
      assert.ok(Math.abs(distance - expected) < 1e-5, `${distance} vs ${expected}`);
    }
    const distances = neighbours.map((n) => n.distance);
    assert.deepEqual(
      distances,
      [...distances].sort((a, b) => a - b),
    );
  });

  it('agrees with the exact scan on almost every neighbour (recall@10)', () => {
    let found = 0;
    for (let n = 0; n < 20; n++) {
      const exact = new Set(index.exactSearch(query(n), 10).map((x) => x.item));
      found += index.search(query(n), 10).neighbours.filter((x) => exact.has(x.item)).length;
    }
    assert.ok(found / 200 >= 0.95, `recall ${found / 200}`);
  });

  it('returns exactly k unseen items whatever the number excluded', () => {
    for (const excludedCount of [0, 50, 300, 590]) {
      const excluded = new Set(Array.from({ length: excludedCount }, (_, n) => (n * 7) % numItems));
      const k = 10;
      const { neighbours } = index.search(query(1), k, { excluded });
      assert.equal(neighbours.length, Math.min(k, numItems - excluded.size), `${excludedCount}`);
      for (const { item } of neighbours) assert.ok(!excluded.has(item));
      const exact = new Set(index.exactSearch(query(1), k, { excluded }).map((n) => n.item));
      const overlap = neighbours.filter((n) => exact.has(n.item)).length;
      assert.ok(overlap >= 8, `excluded ${excludedCount}: ${overlap} of 10 exact neighbours`);
    }
  });

  it('returns every eligible item when k exceeds them', () => {
    const excluded = new Set([0, 1, 2]);
    const { neighbours } = index.search(query(2), 10_000, { excluded });
    assert.equal(neighbours.length, numItems - 3);
    assert.equal(new Set(neighbours.map((n) => n.item)).size, numItems - 3);
    assert.equal(
      index.search(query(2), 5, { excluded: new Set(vectors.keys()) }).neighbours.length,
      0,
    );
  });

  it('keeps to an allowed set, small (scanned) or large (filtered graph search)', () => {
    const small = new Set([3, 30, 300, 400]);
    const answer = index.search(query(3), 10, { allowed: small, excluded: new Set([30]) });
    assert.deepEqual(new Set(answer.neighbours.map((n) => n.item)), new Set([3, 300, 400]));

    const evens = new Set(Array.from({ length: numItems / 2 }, (_, n) => n * 2));
    const big = ItemIndex.buildSync(randomVectors(10_000, dim, 3), dim, parameters);
    const bigEvens = new Set(Array.from({ length: 5000 }, (_, n) => n * 2));
    const filtered = big.search(query(4), 20, { allowed: bigEvens });
    assert.equal(filtered.neighbours.length, 20);
    assert.ok(filtered.method.startsWith('hnsw') || filtered.method === 'exact-fallback');
    for (const { item } of filtered.neighbours) assert.equal(item % 2, 0);
    assert.ok(evens.size > 0);
  });

  it('refuses a query of the wrong dimension', () => {
    assert.throws(
      () => index.search(new Float32Array(3), 5),
      /query vector has 3 values, the index has dim 8/,
    );
  });
});

describe('recommender > index > build', () => {
  it('builds the same graph in a worker thread as on the calling thread', async () => {
    const dim = 16;
    const vectors = randomVectors(2000, dim, 4);
    const inWorker = await ItemIndex.build(vectors, dim, parameters);
    const inline = ItemIndex.buildSync(vectors, dim, parameters);
    const queries = randomVectors(10, dim, 5);
    for (let n = 0; n < 10; n++) {
      const q = queries.subarray(n * dim, (n + 1) * dim);
      assert.deepEqual(
        inWorker.search(q, 10).neighbours.map((x) => x.item),
        inline.search(q, 10).neighbours.map((x) => x.item),
      );
    }
  });
});

describe('recommender > index > freeing the graph', () => {
  it('answers exactly from the vectors once the graph is freed, in every copy', async () => {
    const dim = 8;
    const vectors = randomVectors(3000, dim, 6);
    const index = await ItemIndex.build(vectors, dim, parameters);
    const copy = index.withEfSearch(50);
    const query = randomVectors(1, dim, 7);
    const excluded = new Set([1, 2, 3]);
    assert.equal(index.search(query, 10, { excluded }).method, 'hnsw');

    const free = index.disposer();
    await free();
    await free(); // a second call finds nothing left to free

    const exact = index.exactSearch(query, 10, { excluded });
    for (const freed of [index, copy]) {
      const answer = freed.search(query, 10, { excluded });
      assert.equal(answer.method, 'exact-fallback');
      assert.deepEqual(answer.neighbours, exact);
    }
    await assert.rejects(async () => index.writeIndex('/dev/null'), /graph .* has been freed/);
  });
});

describe('recommender > index > stale graph files', () => {
  it('removes only graph files left untouched for longer than a load takes', async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'cml-stale-'));
    try {
      const old = Date.now() / 1000 - 3600;
      for (const name of ['cml-hnsw-1-aaaa', 'cml-hnsw-2-bbbb', 'other-file']) {
        await writeFile(path.join(folder, name), 'x');
      }
      await utimes(path.join(folder, 'cml-hnsw-1-aaaa'), old, old);
      await utimes(path.join(folder, 'other-file'), old, old);

      const removed = await removeStaleGraphFiles(folder, 30 * 60_000);
      assert.deepEqual(removed, [path.join(folder, 'cml-hnsw-1-aaaa')]);
      assert.deepEqual((await readdir(folder)).sort(), ['cml-hnsw-2-bbbb', 'other-file']);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
