import { Worker } from 'node:worker_threads';
import { Random } from '../util/random.js';
import type { PassStats } from './engine.js';
import { addPassStats, computeSquaredNorms, emptyPassStats } from './engine.js';
import { PositiveMembership } from './membership.js';
import type { OptimizerState } from './optimizer.js';
import { UserItemSets } from './positives.js';
import type { EmbeddingTables } from './tables.js';
import { assertFinite, type CmlHyperparameters, type CmlState } from './train.js';

/** What a worker needs to rebuild an engine over the shared memory. */
export interface WorkerSetup {
  tables: EmbeddingTables;
  optimizer: { users: OptimizerState; items: OptimizerState };
  itemSquaredNorms: Float32Array;
  positives: { numUsers: number; numItems: number; offsets: Int32Array; items: Int32Array };
  /** The positives' bit matrix on shared memory (null: binary search), built once for all. */
  positiveBits: Int32Array | null;
  pairUsers: Int32Array;
  order: Int32Array;
  /** cursor[0]: the next unclaimed position in `order` during an epoch. */
  cursor: Int32Array;
  hyperparameters: CmlHyperparameters;
  seed: number;
}

/** Train on chunks of `order[0..end)` claimed from the shared cursor until none are left. */
export type WorkerRequest = { kind: 'run'; end: number; chunkSize: number };
export type WorkerReply = { kind: 'done'; stats: PassStats } | { kind: 'failed'; message: string };

/**
 * Hogwild training on worker threads: the tables, optimizer state and item-norm cache live on
 * SharedArrayBuffers, every worker runs its own engine over chunks of each epoch's shuffled
 * pairs, and nobody takes a lock on the tables. Updates touch three rows of thousands, so two
 * workers rarely write the same row at once, and when they do one small update is lost,
 * which SGD tolerates (Recht et al., 2011).
 *
 * Requires a state created with `createCmlState(..., shared = true)`. Not deterministic: use
 * SerialCmlTrainer when a run must be reproducible.
 */
export class HogwildCmlTrainer {
  private readonly workers: Worker[];
  private readonly order: Int32Array;
  private readonly cursor: Int32Array;
  private readonly chunkSize: number;
  private readonly random: Random;
  private epoch = 0;

  constructor(
    readonly state: CmlState,
    train: UserItemSets,
    hp: CmlHyperparameters,
    readonly numThreads: number,
  ) {
    if (!(state.tables.users.buffer instanceof SharedArrayBuffer)) {
      throw new Error(
        'HogwildCmlTrainer needs tables on SharedArrayBuffer: createCmlState(..., true)',
      );
    }
    computeSquaredNorms(state.tables.items, state.tables.dim, state.itemSquaredNorms);
    this.order = sharedInts(train.numPairs);
    this.order.forEach((_, n) => (this.order[n] = n));
    this.cursor = sharedInts(1);
    // A chunk is one covariance batch, so each engine sees the batches the serial trainer would.
    this.chunkSize = hp.batchSize;
    this.random = new Random(hp.seed + 2);

    const positives = {
      numUsers: train.numUsers,
      numItems: train.numItems,
      offsets: copyToShared(train.offsets),
      items: copyToShared(train.items),
    };
    const positiveBits = PositiveMembership.build(train, { shared: true }).bits;
    const pairUsers = copyToShared(train.pairUsers());
    this.workers = Array.from({ length: numThreads }, (_, index) => {
      const setup: WorkerSetup = {
        tables: state.tables,
        optimizer: state.optimizer,
        itemSquaredNorms: state.itemSquaredNorms,
        positives,
        positiveBits,
        pairUsers,
        order: this.order,
        cursor: this.cursor,
        hyperparameters: hp,
        seed: hp.seed + 1 + index * 7919,
      };
      return new Worker(new URL('./hogwild-worker.js', import.meta.url), { workerData: setup });
    });
  }

  /**
   * One epoch: a fresh shuffle, then every worker claims chunks of it until none are left.
   * Claiming, rather than fixed halves, keeps both threads busy to the end of the epoch when
   * one of them is slowed down (a JIT tier-up, another process taking its core).
   */
  async runEpoch(): Promise<PassStats> {
    this.epoch++;
    this.random.shuffle(this.order);
    Atomics.store(this.cursor, 0, 0);
    const request: WorkerRequest = {
      kind: 'run',
      end: this.order.length,
      chunkSize: this.chunkSize,
    };
    const results = await Promise.all(this.workers.map((worker) => runChunks(worker, request)));
    assertFinite(this.state.tables, this.epoch);
    return results.reduce(addPassStats, emptyPassStats());
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

function runChunks(worker: Worker, request: WorkerRequest): Promise<PassStats> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: WorkerReply) => {
      worker.off('error', onError);
      if (reply.kind === 'done') resolve(reply.stats);
      else reject(new Error(`hogwild worker failed: ${reply.message}`));
    };
    const onError = (error: Error) => {
      worker.off('message', onMessage);
      reject(error);
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.postMessage(request);
  });
}

function sharedInts(length: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(length * Int32Array.BYTES_PER_ELEMENT));
}

function copyToShared(values: Int32Array): Int32Array {
  const copy = sharedInts(values.length);
  copy.set(values);
  return copy;
}
