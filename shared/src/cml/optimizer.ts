import { allocateFloats } from './tables.js';

/**
 * A sparse optimizer for one embedding table: only the rows a step touches are read or
 * written, so a step costs O(dim) whatever the table's size. State sits on the same kind of
 * buffer as the table, so worker threads share it.
 */
export interface RowOptimizer {
  /**
   * Moves row `row` of `table` against `gradient` (length dim), then projects it into the
   * unit ball. `squaredNorm` is ‖gradient‖², which the caller has already summed. Returns the
   * row's squared norm after the step, so callers can keep a norm cache current.
   */
  step(table: Float32Array, row: number, gradient: Float64Array, squaredNorm: number): number;
  /** The buffers worker threads need to rebuild this optimizer over shared memory. */
  readonly state: OptimizerState;
}

export type OptimizerName = 'adagrad' | 'adam';

export interface OptimizerState {
  name: OptimizerName;
  learningRate: number;
  dim: number;
  /** AdaGrad: Σ mean(g²) per row. Adam: second moment per row. */
  squares: Float32Array;
  /** Adam only: first moment per element, and the per-row step count. */
  moments?: Float32Array;
  steps?: Float32Array;
}

const EPSILON = 1e-8;
const ADAM_BETA1 = 0.9;
const ADAM_BETA2 = 0.999;

export function createOptimizerState(
  name: OptimizerName,
  numRows: number,
  dim: number,
  learningRate: number,
  shared: boolean,
): OptimizerState {
  const state: OptimizerState = {
    name,
    learningRate,
    dim,
    squares: allocateFloats(numRows, shared),
  };
  if (name === 'adam') {
    state.moments = allocateFloats(numRows * dim, shared);
    state.steps = allocateFloats(numRows, shared);
  }
  return state;
}

export function createOptimizer(state: OptimizerState): RowOptimizer {
  return state.name === 'adam' ? new RowAdam(state) : new RowAdagrad(state);
}

/**
 * AdaGrad with one accumulator per row (the mean squared gradient of the row), the usual
 * memory-light variant for embedding tables: step = lr · g / sqrt(Σ mean(g²)).
 */
class RowAdagrad implements RowOptimizer {
  constructor(readonly state: OptimizerState) {}

  step(table: Float32Array, row: number, gradient: Float64Array, squaredNorm: number): number {
    const { dim, learningRate, squares } = this.state;
    squares[row] += squaredNorm / dim;
    const stepSize = learningRate / Math.sqrt(squares[row] + EPSILON);

    const offset = row * dim;
    let rowSquaredNorm = 0;
    for (let d = 0; d < dim; d++) {
      const value = table[offset + d] - stepSize * gradient[d];
      table[offset + d] = value;
      rowSquaredNorm += value * value;
    }
    return rescaleIntoBall(table, offset, dim, rowSquaredNorm);
  }
}

/**
 * Lazy Adam: first moments per element, the second moment per row, bias-corrected with the
 * row's own step count (a row untouched for a while does not decay meanwhile).
 */
class RowAdam implements RowOptimizer {
  constructor(readonly state: OptimizerState) {}

  step(table: Float32Array, row: number, gradient: Float64Array, squaredNorm: number): number {
    const { dim, learningRate, squares } = this.state;
    const moments = this.state.moments as Float32Array;
    const steps = this.state.steps as Float32Array;

    const t = ++steps[row];
    squares[row] = ADAM_BETA2 * squares[row] + (1 - ADAM_BETA2) * (squaredNorm / dim);
    const secondMoment = squares[row] / (1 - ADAM_BETA2 ** t);
    const stepSize = learningRate / (Math.sqrt(secondMoment) + EPSILON);
    const firstCorrection = 1 / (1 - ADAM_BETA1 ** t);

    const offset = row * dim;
    let rowSquaredNorm = 0;
    for (let d = 0; d < dim; d++) {
      const moment = ADAM_BETA1 * moments[offset + d] + (1 - ADAM_BETA1) * gradient[d];
      moments[offset + d] = moment;
      const value = table[offset + d] - stepSize * moment * firstCorrection;
      table[offset + d] = value;
      rowSquaredNorm += value * value;
    }
    return rescaleIntoBall(table, offset, dim, rowSquaredNorm);
  }
}

/**
 * The unit-ball projection, given the row's squared norm computed during its update; returns
 * the squared norm after projection.
 */
function rescaleIntoBall(
  table: Float32Array,
  offset: number,
  dim: number,
  squaredNorm: number,
): number {
  if (squaredNorm <= 1) return squaredNorm;
  const scale = 1 / Math.sqrt(squaredNorm);
  for (let d = 0; d < dim; d++) table[offset + d] *= scale;
  return 1;
}
