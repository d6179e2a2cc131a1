import assert from 'node:assert/strict';

/**
 * Central finite differences of a scalar function at `point`, one coordinate at a time:
 * (f(x + h e_i) − f(x − h e_i)) / 2h. Works on a copy; `point` is left unchanged.
 */
export function numericGradient(
  f: (point: Float64Array) => number,
  point: ArrayLike<number>,
  step = 1e-5,
): Float64Array {
  const x = Float64Array.from(point);
  const gradient = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const saved = x[i];
    x[i] = saved + step;
    const plus = f(x);
    x[i] = saved - step;
    const minus = f(x);
    x[i] = saved;
    gradient[i] = (plus - minus) / (2 * step);
  }
  return gradient;
}

/** ‖a − b‖ / max(‖a‖, ‖b‖, tiny): the relative error gradient checks are judged by. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'relativeError: lengths differ');
  let difference = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    difference += (a[i] - b[i]) ** 2;
    normA += a[i] ** 2;
    normB += b[i] ** 2;
  }
  return Math.sqrt(difference) / Math.max(Math.sqrt(normA), Math.sqrt(normB), 1e-12);
}
