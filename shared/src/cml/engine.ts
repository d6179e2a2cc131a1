import { Random } from '../util/random.js';
import { covarianceLoss } from './covariance.js';
import { squaredDistance } from './hinge.js';
import { createOptimizer, type OptimizerState, type RowOptimizer } from './optimizer.js';
import type { UserItemSets } from './positives.js';
import type { EmbeddingTables } from './tables.js';
import { estimateRank, warpWeight } from './warp.js';

/** The knobs of one pass of the metric loss over positive pairs. */
export interface EngineOptions {
  /** Hinge margin m in [m + d(u,i)² − d(u,k)²]_+. */
  margin: number;
  /** U: negatives sampled per positive pair for the hinge and the WARP rank estimate. */
  numNegatives: number;
  /** λ_c; 0 turns the covariance regularizer off. */
  covarianceWeight: number;
  /** Pairs per mini-batch: the covariance term is applied once per batch. */
  batchSize: number;
  /** Most rows fed to one covariance step: a random subsample keeps its O(N·D²) cost small. */
  covarianceRows: number;
}

export interface PassStats {
  pairs: number;
  /** Σ w · hinge over the pairs (the metric loss L_m of the pass). */
  metricLoss: number;
  /** Σ λ_c · L_c over the batches. */
  covarianceLoss: number;
  /** Pairs whose sampled negatives all stayed outside the margin (no update needed). */
  satisfiedPairs: number;
}

/** Row ids in the covariance batch buffer: users keep their id, items are offset by numUsers. */
const NO_ROW = -1;

/**
 * The sparse CML training loop on Float32Arrays (CML-NOTES section 6).
 *
 * For each positive pair (u, i): sample U items that are not positives of u, count the M that
 * violate the margin, estimate rank = floor(J·M/U), weight w = log(rank + 1), and take the
 * weighted hinge on the hardest (closest) sampled negative. The three touched rows are updated
 * at once and projected back into the unit ball. After every `batchSize` pairs the covariance
 * regularizer takes one step on a subsample of the rows the batch touched.
 *
 * Several engines (one per worker thread) may run over the same shared tables and optimizer
 * state without locks (Hogwild): updates are sparse, so collisions are rare and harmless.
 */
export class CmlEngine {
  private readonly random: Random;
  private readonly userOptimizer: RowOptimizer;
  private readonly itemOptimizer: RowOptimizer;
  private readonly gradUser: Float64Array;
  private readonly gradPositive: Float64Array;
  private readonly gradNegative: Float64Array;
  private readonly batchRows: Int32Array;
  private batchRowCount = 0;

  constructor(
    private readonly tables: EmbeddingTables,
    private readonly positives: UserItemSets,
    optimizerStates: { users: OptimizerState; items: OptimizerState },
    private readonly options: EngineOptions,
    seed: number,
  ) {
    checkOptions(options);
    this.random = new Random(seed);
    this.userOptimizer = createOptimizer(optimizerStates.users);
    this.itemOptimizer = createOptimizer(optimizerStates.items);
    this.gradUser = new Float64Array(tables.dim);
    this.gradPositive = new Float64Array(tables.dim);
    this.gradNegative = new Float64Array(tables.dim);
    this.batchRows = new Int32Array(3 * options.batchSize);
  }

  /** Trains on pairs `order[start..end)`, where pair p is (pairUsers[p], pairItems[p]). */
  run(
    pairUsers: Int32Array,
    pairItems: Int32Array,
    order: Int32Array,
    start: number,
    end: number,
  ): PassStats {
    const stats: PassStats = { pairs: 0, metricLoss: 0, covarianceLoss: 0, satisfiedPairs: 0 };
    this.batchRowCount = 0;
    let inBatch = 0;

    for (let n = start; n < end; n++) {
      const pair = order[n];
      const loss = this.trainPair(pairUsers[pair], pairItems[pair]);
      stats.pairs++;
      if (loss === 0) stats.satisfiedPairs++;
      stats.metricLoss += loss;

      if (++inBatch === this.options.batchSize) {
        stats.covarianceLoss += this.covarianceStep();
        inBatch = 0;
      }
    }
    if (inBatch > 0) stats.covarianceLoss += this.covarianceStep();
    return stats;
  }

  /** One positive pair: returns its weighted hinge (0 when no sampled negative violates). */
  private trainPair(user: number, item: number): number {
    const { dim, users, items, numItems } = this.tables;
    const { margin, numNegatives } = this.options;
    const userOffset = user * dim;
    const positiveDistance = squaredDistance(users, userOffset, items, item * dim, dim);

    let violators = 0;
    let hardest = NO_ROW;
    let hardestDistance = Infinity;
    for (let s = 0; s < numNegatives; s++) {
      const negative = this.sampleNegative(user);
      if (negative === NO_ROW) break;
      const negativeDistance = squaredDistance(users, userOffset, items, negative * dim, dim);
      if (negativeDistance < positiveDistance + margin) violators++;
      if (negativeDistance < hardestDistance) {
        hardestDistance = negativeDistance;
        hardest = negative;
      }
    }
    if (violators === 0) return 0;

    const weight = warpWeight(estimateRank(numItems, violators, numNegatives));
    const slack = margin + positiveDistance - hardestDistance;
    this.applyTriplet(user, item, hardest, weight);
    return weight * slack;
  }

  /** ∂/∂u = 2w(v_k − v_i), ∂/∂v_i = 2w(v_i − u), ∂/∂v_k = 2w(u − v_k), all from the old values. */
  private applyTriplet(user: number, positive: number, negative: number, weight: number): void {
    const { dim, users, items } = this.tables;
    const userOffset = user * dim;
    const positiveOffset = positive * dim;
    const negativeOffset = negative * dim;
    const scale = 2 * weight;
    let userSquares = 0;
    let positiveSquares = 0;
    let negativeSquares = 0;
    for (let d = 0; d < dim; d++) {
      const u = users[userOffset + d];
      const vi = items[positiveOffset + d];
      const vk = items[negativeOffset + d];
      const gu = scale * (vk - vi);
      const gi = scale * (vi - u);
      const gk = scale * (u - vk);
      this.gradUser[d] = gu;
      this.gradPositive[d] = gi;
      this.gradNegative[d] = gk;
      userSquares += gu * gu;
      positiveSquares += gi * gi;
      negativeSquares += gk * gk;
    }
    this.userOptimizer.step(users, user, this.gradUser, userSquares);
    this.itemOptimizer.step(items, positive, this.gradPositive, positiveSquares);
    this.itemOptimizer.step(items, negative, this.gradNegative, negativeSquares);

    const numUsers = this.tables.numUsers;
    this.batchRows[this.batchRowCount++] = user;
    this.batchRows[this.batchRowCount++] = numUsers + positive;
    this.batchRows[this.batchRowCount++] = numUsers + negative;
  }

  /**
   * A uniformly drawn item the user has not interacted with, or NO_ROW when repeated draws
   * keep hitting positives (a user who has nearly the whole catalogue).
   */
  private sampleNegative(user: number): number {
    const { numItems } = this.tables;
    for (let attempt = 0; attempt < 32; attempt++) {
      const candidate = this.random.int(numItems);
      if (!this.positives.has(user, candidate)) return candidate;
    }
    return NO_ROW;
  }

  /** λ_c · L_c on up to `covarianceRows` distinct rows touched by the batch; returns its value. */
  private covarianceStep(): number {
    const { covarianceWeight, covarianceRows } = this.options;
    const count = this.batchRowCount;
    this.batchRowCount = 0;
    if (covarianceWeight === 0 || count < 2) return 0;

    const rows = this.sampleDistinctRows(count, covarianceRows);
    const { dim, users, items, numUsers } = this.tables;
    const values = new Float64Array(rows.length * dim);
    rows.forEach((row, n) => {
      const [table, offset] = row < numUsers ? [users, row * dim] : [items, (row - numUsers) * dim];
      for (let d = 0; d < dim; d++) values[n * dim + d] = table[offset + d];
    });

    const gradient = new Float64Array(rows.length * dim);
    const loss = covarianceLoss(values, rows.length, dim, gradient);
    const rowGradient = new Float64Array(dim);
    rows.forEach((row, n) => {
      let squares = 0;
      for (let d = 0; d < dim; d++) {
        rowGradient[d] = covarianceWeight * gradient[n * dim + d];
        squares += rowGradient[d] * rowGradient[d];
      }
      if (row < numUsers) this.userOptimizer.step(users, row, rowGradient, squares);
      else this.itemOptimizer.step(items, row - numUsers, rowGradient, squares);
    });
    return covarianceWeight * loss;
  }

  private sampleDistinctRows(count: number, limit: number): number[] {
    const distinct = [...new Set(this.batchRows.subarray(0, count))];
    if (distinct.length <= limit) return distinct;
    // Partial Fisher-Yates: the first `limit` entries become a uniform sample.
    for (let n = 0; n < limit; n++) {
      const pick = n + this.random.int(distinct.length - n);
      [distinct[n], distinct[pick]] = [distinct[pick], distinct[n]];
    }
    return distinct.slice(0, limit);
  }
}

function checkOptions(options: EngineOptions): void {
  const problems: string[] = [];
  if (!(options.margin > 0)) problems.push(`margin must be > 0, got ${options.margin}`);
  if (!(Number.isInteger(options.numNegatives) && options.numNegatives >= 1)) {
    problems.push(`numNegatives must be an integer >= 1, got ${options.numNegatives}`);
  }
  if (!(options.covarianceWeight >= 0)) {
    problems.push(`covarianceWeight must be >= 0, got ${options.covarianceWeight}`);
  }
  if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1)) {
    problems.push(`batchSize must be an integer >= 1, got ${options.batchSize}`);
  }
  if (!(Number.isInteger(options.covarianceRows) && options.covarianceRows >= 2)) {
    problems.push(`covarianceRows must be an integer >= 2, got ${options.covarianceRows}`);
  }
  if (problems.length > 0) throw new Error(`CmlEngine: ${problems.join('; ')}`);
}
