import { Random } from '../util/random.js';
import { CmlEngine, computeSquaredNorms, type EngineOptions, type PassStats } from './engine.js';
import { createOptimizerState, type OptimizerName, type OptimizerState } from './optimizer.js';
import type { UserItemSets } from './positives.js';
import { allFinite, allocateFloats, initTables, type EmbeddingTables } from './tables.js';

export interface CmlHyperparameters extends EngineOptions {
  dim: number;
  learningRate: number;
  optimizer: OptimizerName;
  epochs: number;
  seed: number;
}

export const defaultHyperparameters: CmlHyperparameters = {
  dim: 64,
  margin: 1.5,
  learningRate: 0.1,
  optimizer: 'adagrad',
  numNegatives: 20,
  covarianceWeight: 1,
  batchSize: 2048,
  covarianceRows: 128,
  epochs: 30,
  seed: 42,
};

/** Everything one training run carries between epochs: the tables and optimizer state. */
export interface CmlState {
  tables: EmbeddingTables;
  optimizer: { users: OptimizerState; items: OptimizerState };
  /** ‖v_j‖² per item, kept current by the engines; recompute after editing tables directly. */
  itemSquaredNorms: Float32Array;
}

export function createCmlState(
  numUsers: number,
  numItems: number,
  hp: CmlHyperparameters,
  shared = false,
): CmlState {
  const { dim, seed, optimizer, learningRate } = hp;
  const tables = initTables(numUsers, numItems, dim, { seed, shared });
  return {
    tables,
    itemSquaredNorms: computeSquaredNorms(tables.items, dim, allocateFloats(numItems, shared)),
    optimizer: {
      users: createOptimizerState(optimizer, numUsers, dim, learningRate, shared),
      items: createOptimizerState(optimizer, numItems, dim, learningRate, shared),
    },
  };
}

export class DivergenceError extends Error {
  constructor(epoch: number) {
    super(
      `training diverged at epoch ${epoch}: an embedding became NaN or Infinity; ` +
        'lower --learning-rate or --covariance-weight and retrain (nothing was registered)',
    );
    this.name = 'DivergenceError';
  }
}

/**
 * Single-threaded, deterministic epochs: the same seed and data give the same tables.
 * Each epoch visits every training pair once in a fresh seeded order.
 */
export class SerialCmlTrainer {
  private readonly engine: CmlEngine;
  private readonly pairUsers: Int32Array;
  private readonly order: Int32Array;
  private readonly random: Random;
  private epoch = 0;

  constructor(
    readonly state: CmlState,
    private readonly train: UserItemSets,
    private readonly hp: CmlHyperparameters,
  ) {
    // Tables may have been edited since creation (a warm start): refresh the norm cache.
    computeSquaredNorms(state.tables.items, state.tables.dim, state.itemSquaredNorms);
    this.engine = new CmlEngine(
      state.tables,
      train,
      state.optimizer,
      state.itemSquaredNorms,
      hp,
      hp.seed + 1,
    );
    this.pairUsers = train.pairUsers();
    this.order = Int32Array.from({ length: train.numPairs }, (_, n) => n);
    this.random = new Random(hp.seed + 2);
  }

  runEpoch(): PassStats {
    this.epoch++;
    this.random.shuffle(this.order);
    const stats = this.engine.run(
      this.pairUsers,
      this.train.items,
      this.order,
      0,
      this.order.length,
    );
    assertFinite(this.state.tables, this.epoch);
    return stats;
  }
}

export function assertFinite(tables: EmbeddingTables, epoch: number): void {
  if (!allFinite(tables.users) || !allFinite(tables.items)) throw new DivergenceError(epoch);
}
