import { checkFinite, checkNonEmpty, checkWeights, normalizedWeights } from './validate.js';

/**
 * Exact Wasserstein-1 distance between two weighted empirical distributions on the real line
 * (CML-NOTES section 2, closed form in one dimension):
 *
 *   W1(P, Q) = ∫ |F_P(t) - F_Q(t)| dt
 *
 * where F are the cumulative distribution functions. For two uniform samples of equal size n
 * this is the mean of |a_(i) - b_(i)| over the sorted samples, which is what the coupling
 * "i-th smallest to i-th smallest" costs. Weights are optional (uniform by default) and are
 * normalised to sum to 1, so sample sizes may differ. O((n + m) log(n + m)).
 *
 * Example: wasserstein1d([0, 1], [2, 3]) === 2.
 */
export function wasserstein1d(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  weightsA?: ArrayLike<number>,
  weightsB?: ArrayLike<number>,
): number {
  const op = 'wasserstein1d';
  checkNonEmpty(op, 'a', a.length);
  checkNonEmpty(op, 'b', b.length);
  checkFinite(op, 'a', a);
  checkFinite(op, 'b', b);
  if (weightsA !== undefined) checkWeights(op, 'weightsA', weightsA, a.length);
  if (weightsB !== undefined) checkWeights(op, 'weightsB', weightsB, b.length);
  const wa = normalizedWeights(a.length, weightsA);
  const wb = normalizedWeights(b.length, weightsB);

  // One merged list of atoms: mass +w for P, -w for Q. Between two consecutive atoms the
  // running sum of masses is F_P - F_Q, constant on that interval.
  const n = a.length + b.length;
  const values = new Float64Array(n);
  const masses = new Float64Array(n);
  for (let i = 0; i < a.length; i++) {
    values[i] = a[i];
    masses[i] = wa[i];
  }
  for (let j = 0; j < b.length; j++) {
    values[a.length + j] = b[j];
    masses[a.length + j] = -wb[j];
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => values[x] - values[y]);

  let cdfGap = 0;
  let total = 0;
  for (let k = 0; k < n - 1; k++) {
    cdfGap += masses[order[k]];
    total += Math.abs(cdfGap) * (values[order[k + 1]] - values[order[k]]);
  }
  return total;
}
