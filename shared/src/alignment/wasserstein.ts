import { InputError } from '../errors.js';
import { solveAssignment } from './assignment.js';
import { createRandom, gatherRows, sampleWithoutReplacement } from './random.js';
import { solveTransport } from './transport.js';
import { checkFinite, checkNonEmpty } from './validate.js';
import { wasserstein1d } from './wasserstein-1d.js';

export type Wasserstein1Method = 'sorted' | 'assignment' | 'transport';

export interface Wasserstein1Options {
  /** Weights of the points of `a` / `b` (uniform when omitted); normalised to sum to 1. */
  weightsA?: ArrayLike<number>;
  weightsB?: ArrayLike<number>;
  /**
   * Solver. Default: `sorted` in one dimension, `assignment` for equal-size uniform sets,
   * `transport` otherwise. All three are exact; forcing one is for cross-checks.
   */
  method?: Wasserstein1Method;
}

export interface Wasserstein1Result {
  distance: number;
  method: Wasserstein1Method;
}

/**
 * Row-major na x nb matrix of Euclidean distances ||a_i - b_j||_2 between the rows of two
 * row-major point sets with `dim` columns (Float32 input, float64 output).
 */
export function euclideanCosts(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dim: number,
): Float64Array {
  const na = a.length / dim;
  const nb = b.length / dim;
  const out = new Float64Array(na * nb);
  for (let i = 0; i < na; i++) {
    for (let j = 0; j < nb; j++) {
      let sum = 0;
      for (let k = 0; k < dim; k++) {
        const diff = a[i * dim + k] - b[j * dim + k];
        sum += diff * diff;
      }
      out[i * nb + j] = Math.sqrt(sum);
    }
  }
  return out;
}

/**
 * Exact Wasserstein-1 distance (earth mover's distance with the Euclidean ground cost) between
 * two empirical distributions given as row-major point sets with `dim` columns
 * (CML-NOTES section 2, primal form). Costs O(n^3) for the assignment and about
 * O((n + m)^3) for the transport solver: meant for a few hundred points per side; larger sets
 * go through `subsampledWasserstein1`.
 */
export function exactWasserstein1(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  dim: number,
  options: Wasserstein1Options = {},
): Wasserstein1Result {
  const op = 'exactWasserstein1';
  if (!Number.isInteger(dim) || dim < 1) {
    throw new InputError(
      'ALIGNMENT_BAD_SHAPE',
      `${op}: dim must be a positive integer, got ${dim}`,
    );
  }
  for (const [name, points] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (points.length % dim !== 0) {
      throw new InputError(
        'ALIGNMENT_BAD_SHAPE',
        `${op}: ${name} has length ${points.length}, not a multiple of dim ${dim}`,
      );
    }
    checkNonEmpty(op, name, points.length);
    checkFinite(op, name, points);
  }
  const na = a.length / dim;
  const nb = b.length / dim;
  const uniform = options.weightsA === undefined && options.weightsB === undefined;
  const method: Wasserstein1Method =
    options.method ?? (dim === 1 ? 'sorted' : uniform && na === nb ? 'assignment' : 'transport');

  switch (method) {
    case 'sorted': {
      if (dim !== 1) {
        throw new InputError('ALIGNMENT_BAD_METHOD', `${op}: 'sorted' needs dim 1, got ${dim}`);
      }
      return { distance: wasserstein1d(a, b, options.weightsA, options.weightsB), method };
    }
    case 'assignment': {
      if (!uniform || na !== nb) {
        throw new InputError(
          'ALIGNMENT_BAD_METHOD',
          `${op}: 'assignment' needs equal sizes and uniform weights, got ${na} and ${nb}`,
        );
      }
      const { cost } = solveAssignment(euclideanCosts(a, b, dim), na, nb);
      return { distance: cost / na, method };
    }
    case 'transport': {
      const costs = euclideanCosts(a, b, dim);
      const { cost } = solveTransport(costs, na, nb, options.weightsA, options.weightsB);
      return { distance: cost, method };
    }
  }
}

/**
 * Exact W1 between seeded random subsets of at most `maxPoints` rows of each set (all rows
 * when the set is smaller). This is the exact distance between the two subsamples, an
 * estimate of the distance between the full sets that is biased upwards for small subsets.
 */
export function subsampledWasserstein1(
  a: Float32Array,
  b: Float32Array,
  dim: number,
  maxPoints: number,
  seed: number,
): Wasserstein1Result & { pointsA: number; pointsB: number } {
  const random = createRandom(seed);
  const pick = (points: Float32Array): Float32Array => {
    const n = points.length / dim;
    if (n <= maxPoints) return points;
    return gatherRows(points, dim, sampleWithoutReplacement(random, n, maxPoints));
  };
  const subA = pick(a);
  const subB = pick(b);
  return {
    ...exactWasserstein1(subA, subB, dim),
    pointsA: subA.length / dim,
    pointsB: subB.length / dim,
  };
}
