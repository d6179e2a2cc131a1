#!/usr/bin/env node
/**
 * Does memory come back after a version is dropped? Loads the same version `--cycles` times
 * through `ServingModel.load` (ONNX Runtime embeddings, HNSW built in a worker), keeping only
 * the newest, and prints the process RSS after each load with forced garbage collection.
 *
 *   node --expose-gc services/recommender/dist/bench/bench-reload-memory.js [--items 50000]
 *     [--users 5000] [--cycles 10]
 *
 * A leak shows as RSS growing by about one model per cycle; allocator retention as a plateau.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { writeModelVersion } from '@cml-rec/shared/model/version-files';
import { ServingModel } from '../model/serving-model.js';
import { clusteredVectors } from './common.js';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '50000' },
    users: { type: 'string', default: '5000' },
    cycles: { type: 'string', default: '10' },
  },
});
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const numItems = Number(args.items);
const numUsers = Number(args.users);
const dim = 64;

const folder = await mkdtemp(path.join(tmpdir(), 'cml-bench-memory-'));
try {
  const store = new FileArtifactStore(folder);
  const written = await writeModelVersion(
    store,
    'vmemory',
    {
      dim,
      numUsers,
      numItems,
      users: clusteredVectors(numUsers, dim, 1),
      items: clusteredVectors(numItems, dim, 2),
    },
    {
      users: Array.from({ length: numUsers }, (_, n) => `u${n}`),
      items: Array.from({ length: numItems }, (_, n) => `i${n}`),
    },
  );
  const rss = async () => {
    // Several rounds: native objects are freed by finalizers that run after a collection.
    for (let round = 0; round < 4; round++) {
      gc();
      await sleep(100);
    }
    const usage = process.memoryUsage();
    const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
    // What V8 and ArrayBuffers account for; the rest of RSS is native (hnswlib, ONNX Runtime,
    // the allocator's free lists) and code.
    return `${mib(usage.rss)} (heap ${mib(usage.heapUsed)}, buffers ${mib(usage.arrayBuffers)})`;
  };

  const readings = [await rss()];
  let model: ServingModel | undefined;
  for (let cycle = 1; cycle <= Number(args.cycles); cycle++) {
    await model?.release();
    model = await ServingModel.load(
      store,
      { id: 'vmemory', checksum: written.checksum },
      { m: 16, efConstruction: 50, efSearch: 100 },
    );
    readings.push(await rss());
  }
  console.log(
    `${numItems} items, ${numUsers} users, 64 dims: RSS MiB before any model, then with one ` +
      `model after each of ${args.cycles} loads: ${readings.join(', ')}`,
  );
} finally {
  await rm(folder, { recursive: true, force: true });
}
