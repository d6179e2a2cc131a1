import { InputError } from '../errors.js';

/** Input checks shared by the exact solvers; errors name the function and what it received. */
export function checkWeights(
  op: string,
  name: string,
  weights: ArrayLike<number>,
  n: number,
): void {
  if (weights.length !== n) {
    throw new InputError(
      'ALIGNMENT_BAD_SHAPE',
      `${op}: ${name} has length ${weights.length}, expected ${n}`,
    );
  }
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (!Number.isFinite(w) || w < 0) {
      throw new InputError('ALIGNMENT_BAD_WEIGHT', `${op}: ${name}[${i}] = ${w} is not >= 0`);
    }
    total += w;
  }
  if (!(total > 0)) {
    throw new InputError('ALIGNMENT_BAD_WEIGHT', `${op}: ${name} sums to ${total}, expected > 0`);
  }
}

export function checkFinite(op: string, name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      throw new InputError('ALIGNMENT_NOT_FINITE', `${op}: ${name}[${i}] = ${values[i]}`);
    }
  }
}

export function checkNonEmpty(op: string, name: string, n: number): void {
  if (n < 1) throw new InputError('ALIGNMENT_EMPTY', `${op}: ${name} is empty`);
}

/** Weights scaled to sum to 1 (uniform 1/n when none are given), as float64. */
export function normalizedWeights(n: number, weights?: ArrayLike<number>): Float64Array {
  const out = new Float64Array(n);
  if (weights === undefined) return out.fill(1 / n);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights[i];
  for (let i = 0; i < n; i++) out[i] = weights[i] / total;
  return out;
}
