import { Random } from '../util/random.js';
import { covarianceLoss } from './covariance.js';
import { PositiveMembership } from './membership.js';
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

export function emptyPassStats(): PassStats {
  return { pairs: 0, metricLoss: 0, covarianceLoss: 0, satisfiedPairs: 0 };
}

/** The stats of two passes (two slices of an epoch) as one. */
export function addPassStats(a: PassStats, b: PassStats): PassStats {
  return {
    pairs: a.pairs + b.pairs,
    metricLoss: a.metricLoss + b.metricLoss,
    covarianceLoss: a.covarianceLoss + b.covarianceLoss,
    satisfiedPairs: a.satisfiedPairs + b.satisfiedPairs,
  };
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
  private readonly membership: PositiveMembership;
  private readonly userOptimizer: RowOptimizer;
  private readonly itemOptimizer: RowOptimizer;
  private readonly userRow: Float64Array;
  private readonly gradUser: Float64Array;
  private readonly gradPositive: Float64Array;
  private readonly gradNegative: Float64Array;
  private readonly batchRows: Int32Array;
  private batchRowCount = 0;
  private readonly covariance: CovarianceWorkspace;

  constructor(
    private readonly tables: EmbeddingTables,
    positives: UserItemSets,
    optimizerStates: { users: OptimizerState; items: OptimizerState },
    private readonly itemSquaredNorms: Float32Array,
    private readonly options: EngineOptions,
    seed: number,
    membership = PositiveMembership.build(positives),
  ) {
    checkOptions(options);
    const { dim } = tables;
    this.random = new Random(seed);
    this.membership = membership;
    this.userOptimizer = createOptimizer(optimizerStates.users);
    this.itemOptimizer = createOptimizer(optimizerStates.items);
    this.userRow = new Float64Array(dim);
    this.gradUser = new Float64Array(dim);
    this.gradPositive = new Float64Array(dim);
    this.gradNegative = new Float64Array(dim);
    this.batchRows = new Int32Array(3 * options.batchSize);
    this.covariance = new CovarianceWorkspace(
      options.covarianceRows,
      dim,
      tables.numUsers + tables.numItems,
    );
  }

  /** Trains on pairs `order[start..end)`, where pair p is (pairUsers[p], pairItems[p]). */
  run(
    pairUsers: Int32Array,
    pairItems: Int32Array,
    order: Int32Array,
    start: number,
    end: number,
  ): PassStats {
    const stats = emptyPassStats();
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

  /**
   * One positive pair: returns its weighted hinge (0 when no sampled negative violates).
   *
   * Distances use d(u,v)² = ‖u‖² + ‖v‖² − 2u·v with cached item norms and the user row copied
   * once into float64: a dot product per negative instead of a difference and a square, which
   * measured about a third faster than `squaredDistance` in this loop.
   */
  private trainPair(user: number, item: number): number {
    const { dim, users, items, numItems } = this.tables;
    const { margin, numNegatives } = this.options;
    const userRow = this.userRow;
    const norms = this.itemSquaredNorms;
    const userOffset = user * dim;
    let userSquaredNorm = 0;
    for (let d = 0; d < dim; d++) {
      const value = users[userOffset + d];
      userRow[d] = value;
      userSquaredNorm += value * value;
    }
    const positiveDistance =
      userSquaredNorm + norms[item] - 2 * dot(userRow, items, item * dim, dim);

    let violators = 0;
    let hardest = NO_ROW;
    let hardestDistance = Infinity;
    const threshold = positiveDistance + margin;
    for (let s = 0; s < numNegatives; s++) {
      const negative = this.sampleNegative(user);
      if (negative === NO_ROW) break;
      const negativeDistance =
        userSquaredNorm + norms[negative] - 2 * dot(userRow, items, negative * dim, dim);
      if (negativeDistance < threshold) violators++;
      if (negativeDistance < hardestDistance) {
        hardestDistance = negativeDistance;
        hardest = negative;
      }
    }
    if (violators === 0) return 0;

    const weight = warpWeight(estimateRank(numItems, violators, numNegatives));
    this.applyTriplet(user, item, hardest, weight);
    return weight * (threshold - hardestDistance);
  }

  /** ∂/∂u = 2w(v_k − v_i), ∂/∂v_i = 2w(v_i − u), ∂/∂v_k = 2w(u − v_k), all from the old values. */
  private applyTriplet(user: number, positive: number, negative: number, weight: number): void {
    const { dim, users, items, numUsers } = this.tables;
    const userRow = this.userRow;
    const positiveOffset = positive * dim;
    const negativeOffset = negative * dim;
    const scale = 2 * weight;
    let userSquares = 0;
    let positiveSquares = 0;
    let negativeSquares = 0;
    for (let d = 0; d < dim; d++) {
      const u = userRow[d];
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
    const norms = this.itemSquaredNorms;
    norms[positive] = this.itemOptimizer.step(items, positive, this.gradPositive, positiveSquares);
    norms[negative] = this.itemOptimizer.step(items, negative, this.gradNegative, negativeSquares);

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
      if (!this.membership.has(user, candidate)) return candidate;
    }
    return NO_ROW;
  }

  /** λ_c · L_c on up to `covarianceRows` distinct rows touched by the batch; returns its value. */
  private covarianceStep(): number {
    const { covarianceWeight } = this.options;
    const count = this.batchRowCount;
    this.batchRowCount = 0;
    if (covarianceWeight === 0 || count < 2) return 0;

    const workspace = this.covariance;
    const numRows = workspace.sample(this.batchRows, count, this.random);
    if (numRows < 2) return 0;

    const { dim, users, items, numUsers } = this.tables;
    const { rows, values, gradient, rowGradient } = workspace;
    for (let n = 0; n < numRows; n++) {
      const row = rows[n];
      const table = row < numUsers ? users : items;
      const offset = (row < numUsers ? row : row - numUsers) * dim;
      for (let d = 0; d < dim; d++) values[n * dim + d] = table[offset + d];
    }

    const used = numRows * dim;
    const loss = covarianceLoss(values.subarray(0, used), numRows, dim, gradient.subarray(0, used));
    for (let n = 0; n < numRows; n++) {
      let squares = 0;
      for (let d = 0; d < dim; d++) {
        const value = covarianceWeight * gradient[n * dim + d];
        rowGradient[d] = value;
        squares += value * value;
      }
      const row = rows[n];
      if (row < numUsers) {
        this.userOptimizer.step(users, row, rowGradient, squares);
      } else {
        const item = row - numUsers;
        this.itemSquaredNorms[item] = this.itemOptimizer.step(items, item, rowGradient, squares);
      }
    }
    return covarianceWeight * loss;
  }
}

/** Buffers reused by every covariance step, so the hot loop allocates nothing. */
class CovarianceWorkspace {
  readonly rows: Int32Array;
  readonly values: Float64Array;
  readonly gradient: Float64Array;
  readonly rowGradient: Float64Array;
  /** stamp[row] === generation marks a row already taken in the current sample. */
  private readonly stamp: Int32Array;
  private generation = 0;

  constructor(
    private readonly limit: number,
    dim: number,
    totalRows: number,
  ) {
    this.rows = new Int32Array(limit);
    this.values = new Float64Array(limit * dim);
    this.gradient = new Float64Array(limit * dim);
    this.rowGradient = new Float64Array(dim);
    this.stamp = new Int32Array(totalRows);
  }

  /**
   * Fills `rows` with up to `limit` distinct rows drawn uniformly from `candidates[0..count)`
   * (partial Fisher-Yates over the candidates); returns how many it took.
   */
  sample(candidates: Int32Array, count: number, random: Random): number {
    this.generation++;
    let taken = 0;
    for (let n = 0; n < count && taken < this.limit; n++) {
      const pick = n + random.int(count - n);
      const row = candidates[pick];
      candidates[pick] = candidates[n];
      candidates[n] = row;
      if (this.stamp[row] === this.generation) continue;
      this.stamp[row] = this.generation;
      this.rows[taken++] = row;
    }
    return taken;
  }
}

/** u·v for a float64 user row and the item row at `offset`, with four accumulators. */
function dot(row: Float64Array, table: Float32Array, offset: number, dim: number): number {
  let sum0 = 0;
  let sum1 = 0;
  let sum2 = 0;
  let sum3 = 0;
  const unrolled = dim & ~3;
  let d = 0;
  for (; d < unrolled; d += 4) {
    sum0 += row[d] * table[offset + d];
    sum1 += row[d + 1] * table[offset + d + 1];
    sum2 += row[d + 2] * table[offset + d + 2];
    sum3 += row[d + 3] * table[offset + d + 3];
  }
  for (; d < dim; d++) sum0 += row[d] * table[offset + d];
  return sum0 + sum1 + sum2 + sum3;
}

/** ‖v‖² of every item row: the cache `CmlEngine` keeps current as it updates rows. */
export function computeSquaredNorms(
  table: Float32Array,
  dim: number,
  out?: Float32Array,
): Float32Array {
  const numRows = table.length / dim;
  const norms = out ?? new Float32Array(numRows);
  for (let row = 0; row < numRows; row++) {
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += table[row * dim + d] ** 2;
    norms[row] = sum;
  }
  return norms;
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
