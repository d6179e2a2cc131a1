import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import type { BuildRequest } from './index-builder-worker.js';
import { runWorkerTask } from './worker-task.js';
import { squaredDistance } from '@cml-rec/shared/cml/hinge';

export interface IndexParameters {
  m: number;
  efConstruction: number;
  efSearch: number;
}

export interface Neighbour {
  item: number;
  /** True Euclidean distance (HNSW's l2 space works with squared distances). */
  distance: number;
}

export interface SearchConstraints {
  /** Items never returned (the user's seen items, the query items themselves). */
  excluded?: ReadonlySet<number>;
  /** When given, only these items may be returned (an item filter such as a genre). */
  allowed?: ReadonlySet<number>;
}

/** How a search was answered, for metrics. */
export type SearchMethod = 'hnsw' | 'hnsw-filtered' | 'exact' | 'exact-fallback';

export interface SearchResult {
  neighbours: Neighbour[];
  method: SearchMethod;
}

/**
 * Below this many excluded items HNSW is asked for k + |excluded| neighbours and the excluded
 * ones are dropped; above it a filter inside the graph search skips them, so a user who has
 * seen 50,000 items does not make ef 50,000.
 */
const OVERFETCH_LIMIT = 256;
/** An item filter that allows at most this many items is answered by scanning just those. */
const SMALL_ALLOWED_SET = 4096;

/**
 * Euclidean k-NN over the item vectors: HNSW for speed, an exact scan as the safety net.
 *
 * Guarantee: a search returns exactly min(k, number of eligible items) neighbours, nearest
 * first, whatever the number of excluded items: when HNSW returns fewer eligible items than
 * that (a poorly connected region, a very selective filter), the exact scan answers instead.
 */
export class ItemIndex {
  readonly numItems: number;
  /**
   * The query handed to hnswlib, which takes a plain array: one reused array per index instead
   * of `Array.from(query)` per search, which allocated several kB per request (an iterator step
   * and a boxed number per dimension) for the young-generation collector to sweep.
   */
  private readonly queryPoint: number[];

  /** `graph` is shared with the copies withEfSearch makes; the disposer empties it. */
  private constructor(
    private readonly vectors: Float32Array,
    readonly dim: number,
    private readonly graph: Graph,
    private readonly parameters: IndexParameters,
  ) {
    this.numItems = vectors.length / dim;
    this.queryPoint = new Array<number>(dim).fill(0);
  }

  /**
   * Builds the HNSW graph in a worker thread, which writes it to a temporary file that this
   * thread reads back with hnswlib's asynchronous readIndex: the event loop is never held by
   * the build (the vectors are shared with the worker, not copied through a message).
   */
  static async build(
    vectors: Float32Array,
    dim: number,
    parameters: IndexParameters,
  ): Promise<ItemIndex> {
    checkShape(vectors, dim);
    const shared = onSharedMemory(vectors);
    const file = temporaryIndexFile();
    try {
      await runBuilder({
        vectors: shared,
        dim,
        m: parameters.m,
        efConstruction: parameters.efConstruction,
        file,
      });
      const hnsw = new hnswlib.HierarchicalNSW('l2', dim);
      await whileNativeTaskRuns(hnsw, hnsw.readIndex(file));
      return new ItemIndex(shared, dim, { hnsw }, parameters);
    } finally {
      await rm(file, { force: true });
    }
  }

  /** Builds on the calling thread: for tests and benchmarks of small catalogues. */
  static buildSync(vectors: Float32Array, dim: number, parameters: IndexParameters): ItemIndex {
    checkShape(vectors, dim);
    const hnsw = buildHnsw(vectors, dim, parameters.m, parameters.efConstruction);
    return new ItemIndex(vectors, dim, { hnsw }, parameters);
  }

  /** Reads the graph that `writeIndex` saved for these vectors (benchmarks reuse big graphs). */
  static async fromFile(
    vectors: Float32Array,
    dim: number,
    parameters: IndexParameters,
    file: string,
  ): Promise<ItemIndex> {
    checkShape(vectors, dim);
    const hnsw = new hnswlib.HierarchicalNSW('l2', dim);
    await whileNativeTaskRuns(hnsw, hnsw.readIndex(file));
    if (hnsw.getCurrentCount() !== vectors.length / dim) {
      throw new Error(
        `index file ${file} holds ${hnsw.getCurrentCount()} items, not ${vectors.length / dim}`,
      );
    }
    return new ItemIndex(vectors, dim, { hnsw }, parameters);
  }

  /** The same graph and vectors searched with another ef (benchmarks compare several). */
  withEfSearch(efSearch: number): ItemIndex {
    return new ItemIndex(this.vectors, this.dim, this.graph, { ...this.parameters, efSearch });
  }

  writeIndex(file: string): Promise<boolean> {
    const hnsw = this.graph.hnsw;
    if (!hnsw) throw new Error('the HNSW graph of this index has been freed');
    return whileNativeTaskRuns(hnsw, hnsw.writeIndex(file));
  }

  /**
   * A function that frees the HNSW graph's native memory (about 480 MB for a million 64-d
   * items) without keeping this index, or its vectors, reachable until then. Searches after
   * that are answered by the exact scan: correct, only slower.
   *
   * Left to garbage collection the graph could stay indefinitely, since V8 does not see
   * hnswlib's memory and feels no pressure to collect the small wrapper that owns it, and its
   * finalizer would then free it on the event loop (60 ms for a million items). Instead a
   * one-element graph is read into the same wrapper: hnswlib-node deletes the graph it
   * replaces inside readIndex's thread-pool task, off the event loop.
   */
  disposer(): () => Promise<void> {
    const graph = this.graph;
    const dim = this.dim;
    return async () => {
      const hnsw = graph.hnsw;
      if (!hnsw) return;
      graph.hnsw = undefined;
      const file = temporaryIndexFile();
      try {
        const empty = new hnswlib.HierarchicalNSW('l2', dim);
        empty.initIndex(1);
        await whileNativeTaskRuns(empty, empty.writeIndex(file));
        // A save of this graph still running would read it while it is deleted.
        await nativeTasksDone(hnsw);
        await whileNativeTaskRuns(hnsw, hnsw.readIndex(file));
      } finally {
        await rm(file, { force: true });
      }
    };
  }

  vector(item: number): Float32Array {
    return this.vectors.subarray(item * this.dim, (item + 1) * this.dim);
  }

  /** The k nearest eligible items to `query`, nearest first; see the class comment. */
  search(query: Float32Array, k: number, constraints: SearchConstraints = {}): SearchResult {
    checkQuery(query, this.dim);
    const { excluded, allowed } = constraints;
    const eligible = allowed
      ? countEligible(allowed, excluded, this.numItems)
      : this.numItems - (excluded ? countInRange(excluded, this.numItems) : 0);
    const wanted = Math.min(k, eligible);
    if (wanted <= 0) return { neighbours: [], method: 'exact' };
    const hnsw = this.graph.hnsw;
    if (!hnsw) {
      return { neighbours: this.exactSearch(query, wanted, constraints), method: 'exact-fallback' };
    }

    if (allowed && allowed.size <= SMALL_ALLOWED_SET) {
      return { neighbours: this.scan(query, wanted, allowed, excluded), method: 'exact' };
    }

    const excludedCount = excluded?.size ?? 0;
    const overfetch = !allowed && excludedCount <= OVERFETCH_LIMIT;
    const asked = overfetch ? Math.min(this.numItems, wanted + excludedCount) : wanted;
    // ef never below the number of results asked for: hnswlib returns at most ef of them.
    hnsw.setEf(Math.max(this.parameters.efSearch, asked));
    const filter = overfetch ? undefined : eligibility(excluded, allowed);
    for (let d = 0; d < this.dim; d++) this.queryPoint[d] = query[d];
    const result = hnsw.searchKnn(this.queryPoint, asked, filter);

    const neighbours: Neighbour[] = [];
    for (let n = 0; n < result.neighbors.length && neighbours.length < wanted; n++) {
      const item = result.neighbors[n];
      if (excluded?.has(item)) continue;
      neighbours.push({ item, distance: Math.sqrt(Math.max(0, result.distances[n])) });
    }
    if (neighbours.length === wanted) {
      return { neighbours, method: overfetch ? 'hnsw' : 'hnsw-filtered' };
    }
    return {
      neighbours: this.exactSearch(query, wanted, constraints),
      method: 'exact-fallback',
    };
  }

  /** Brute force over every eligible item, O(items × dim), keeping the k best in a heap. */
  exactSearch(query: Float32Array, k: number, constraints: SearchConstraints = {}): Neighbour[] {
    checkQuery(query, this.dim);
    const { excluded, allowed } = constraints;
    if (allowed) return this.scan(query, k, allowed, excluded);
    const heap = new TopK(k);
    for (let item = 0; item < this.numItems; item++) {
      if (excluded?.has(item)) continue;
      heap.offer(item, squaredDistance(query, 0, this.vectors, item * this.dim, this.dim));
    }
    return heap.sorted();
  }

  private scan(
    query: Float32Array,
    k: number,
    items: Iterable<number>,
    excluded: ReadonlySet<number> | undefined,
  ): Neighbour[] {
    const heap = new TopK(k);
    for (const item of items) {
      if (item < 0 || item >= this.numItems || excluded?.has(item)) continue;
      heap.offer(item, squaredDistance(query, 0, this.vectors, item * this.dim, this.dim));
    }
    return heap.sorted();
  }
}

/** Each wrapper with a native task running, and a promise settled when all of its tasks are. */
const busyWrappers = new Map<object, Promise<unknown>>();

/**
 * Awaits a task that hnswlib-node runs on libuv's thread pool while keeping its wrapper
 * reachable. The task holds a raw pointer to the wrapper's graph but no reference to the
 * wrapper: once V8 optimises a caller that does not use the wrapper after the await, a
 * collection during the task can delete the graph under it (a double free, seen in a stress
 * test of the disposer).
 */
export async function whileNativeTaskRuns<T>(wrapper: object, task: Promise<T>): Promise<T> {
  const settled = task.then(
    () => undefined,
    () => undefined,
  );
  const previous = busyWrappers.get(wrapper);
  const all = previous ? Promise.all([previous, settled]) : settled;
  busyWrappers.set(wrapper, all);
  try {
    return await task;
  } finally {
    if (busyWrappers.get(wrapper) === all) busyWrappers.delete(wrapper);
  }
}

/** Settles once no native task of the wrapper is running (a graph being saved, say). */
function nativeTasksDone(wrapper: object): Promise<unknown> {
  return busyWrappers.get(wrapper) ?? Promise.resolve();
}

interface Graph {
  hnsw: hnswlib.HierarchicalNSW | undefined;
}

const GRAPH_FILE_PREFIX = 'cml-hnsw-';

function temporaryIndexFile(): string {
  return path.join(
    tmpdir(),
    `${GRAPH_FILE_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}`,
  );
}

/**
 * Removes graph files that a process killed mid-load left in the temporary folder (about
 * 0.5 GB per million items; in Kubernetes an emptyDir that outlives container restarts). A
 * file is written and read back within a load, so one untouched for `olderThanMs` belongs to
 * no running load, whichever process sharing the folder made it. Returns the files removed.
 */
export async function removeStaleGraphFiles(
  folder = tmpdir(),
  olderThanMs = 30 * 60_000,
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(folder)) {
    if (!name.startsWith(GRAPH_FILE_PREFIX)) continue;
    const file = path.join(folder, name);
    const modified = await stat(file).then(
      (info) => info.mtimeMs,
      () => undefined,
    );
    if (modified === undefined || Date.now() - modified < olderThanMs) continue;
    await rm(file, { force: true });
    removed.push(file);
  }
  return removed;
}

/** `vectors` itself when it is on shared memory, else a shared copy (one memcpy). */
function onSharedMemory(vectors: Float32Array): Float32Array {
  if (vectors.buffer instanceof SharedArrayBuffer) return vectors;
  const shared = new Float32Array(new SharedArrayBuffer(vectors.byteLength));
  shared.set(vectors);
  return shared;
}

/** Adds every row of `vectors` to a new l2 HNSW graph; the worker and buildSync share it. */
export function buildHnsw(
  vectors: Float32Array,
  dim: number,
  m: number,
  efConstruction: number,
): hnswlib.HierarchicalNSW {
  const numItems = vectors.length / dim;
  const hnsw = new hnswlib.HierarchicalNSW('l2', dim);
  hnsw.initIndex({ maxElements: Math.max(1, numItems), m, efConstruction, randomSeed: 100 });
  const point = new Array<number>(dim);
  for (let item = 0; item < numItems; item++) {
    for (let d = 0; d < dim; d++) point[d] = vectors[item * dim + d];
    hnsw.addPoint(point, item);
  }
  return hnsw;
}

async function runBuilder(request: BuildRequest): Promise<void> {
  await runWorkerTask<null>(new URL('./index-builder-worker.js', import.meta.url), request, {
    failureCode: 'INDEX_BUILD_FAILED',
    label: 'HNSW build failed',
  });
}

function eligibility(
  excluded: ReadonlySet<number> | undefined,
  allowed: ReadonlySet<number> | undefined,
): (label: number) => boolean {
  if (allowed && excluded) return (label) => allowed.has(label) && !excluded.has(label);
  if (allowed) return (label) => allowed.has(label);
  if (excluded) return (label) => !excluded.has(label);
  return () => true;
}

function checkShape(vectors: Float32Array, dim: number): void {
  if (!Number.isSafeInteger(dim) || dim <= 0 || vectors.length % dim !== 0) {
    throw new Error(`item vectors: ${vectors.length} values are not rows of dim ${dim}`);
  }
}

function checkQuery(query: Float32Array, dim: number): void {
  if (query.length !== dim) {
    throw new Error(`query vector has ${query.length} values, the index has dim ${dim}`);
  }
}

function countInRange(values: ReadonlySet<number>, limit: number): number {
  let count = 0;
  for (const value of values) if (value >= 0 && value < limit) count++;
  return count;
}

function countEligible(
  allowed: ReadonlySet<number>,
  excluded: ReadonlySet<number> | undefined,
  limit: number,
): number {
  let count = 0;
  for (const item of allowed) if (item >= 0 && item < limit && !excluded?.has(item)) count++;
  return count;
}

/** The k smallest (distance, item) pairs seen, as a binary max-heap on squared distance. */
class TopK {
  private readonly items: number[] = [];
  private readonly keys: number[] = [];

  constructor(private readonly k: number) {}

  offer(item: number, key: number): void {
    const { items, keys } = this;
    if (items.length < this.k) {
      items.push(item);
      keys.push(key);
      this.siftUp(items.length - 1);
    } else if (this.k > 0 && this.before(key, item, keys[0], items[0])) {
      items[0] = item;
      keys[0] = key;
      this.siftDown(0);
    }
  }

  sorted(): Neighbour[] {
    return this.items
      .map((item, n) => ({ item, key: this.keys[n] }))
      .sort((a, b) => a.key - b.key || a.item - b.item)
      .map(({ item, key }) => ({ item, distance: Math.sqrt(key) }));
  }

  /** True when (keyA, itemA) ranks before (keyB, itemB): nearer, ties by lower item. */
  private before(keyA: number, itemA: number, keyB: number, itemB: number): boolean {
    return keyA < keyB || (keyA === keyB && itemA < itemB);
  }

  private siftUp(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.before(this.keys[parent], this.items[parent], this.keys[index], this.items[index]))
        break;
      this.swap(index, parent);
      index = parent;
    }
  }

  private siftDown(index: number): void {
    const size = this.items.length;
    for (;;) {
      let largest = index;
      for (const child of [2 * index + 1, 2 * index + 2]) {
        if (
          child < size &&
          this.before(this.keys[largest], this.items[largest], this.keys[child], this.items[child])
        ) {
          largest = child;
        }
      }
      if (largest === index) return;
      this.swap(index, largest);
      index = largest;
    }
  }

  private swap(a: number, b: number): void {
    [this.items[a], this.items[b]] = [this.items[b], this.items[a]];
    [this.keys[a], this.keys[b]] = [this.keys[b], this.keys[a]];
  }
}
