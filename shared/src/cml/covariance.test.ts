import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../util/random.js';
import { numericGradient, relativeError } from '../testing/numeric.js';
import { covarianceLoss } from './covariance.js';

/** The regularizer written out term by term from CML-NOTES section 6, as a reference. */
function directCovarianceLoss(rows: number[][]): number {
  const n = rows.length;
  const dim = rows[0].length;
  const mean = Array.from(
    { length: dim },
    (_, i) => rows.reduce((sum, row) => sum + row[i], 0) / n,
  );
  let frobeniusSquared = 0;
  let diagonalSquared = 0;
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < dim; j++) {
      let c = 0;
      for (const row of rows) c += (row[i] - mean[i]) * (row[j] - mean[j]);
      c /= n;
      frobeniusSquared += c * c;
      if (i === j) diagonalSquared += c * c;
    }
  }
  return (Math.sqrt(frobeniusSquared) - diagonalSquared) / n;
}

describe('cml > covariance', () => {
  it('equals a direct computation of (‖C‖_F − ‖diag C‖²)/N', () => {
    const random = new Random(5);
    for (const [n, dim] of [
      [2, 2],
      [10, 3],
      [40, 8],
      [100, 16],
    ]) {
      const rows = Array.from({ length: n }, () =>
        Array.from({ length: dim }, () => random.normal()),
      );
      const expected = directCovarianceLoss(rows);
      const actual = covarianceLoss(rows.flat(), n, dim);
      assert.ok(
        Math.abs(actual - expected) < 1e-10 * (1 + Math.abs(expected)),
        `${n}x${dim}: ${actual} vs ${expected}`,
      );
    }
  });

  it('has an analytic gradient that matches finite differences', () => {
    const random = new Random(9);
    const n = 12;
    const dim = 5;
    const rows = Float64Array.from({ length: n * dim }, () => random.normal() * 0.5);
    const gradient = new Float64Array(n * dim);
    covarianceLoss(rows, n, dim, gradient);
    const numeric = numericGradient((point) => covarianceLoss(point, n, dim), rows, 1e-6);
    const error = relativeError(gradient, numeric);
    assert.ok(error < 1e-3, `relative error ${error}`);
  });

  it('penalises correlated dimensions more than independent ones of the same variance', () => {
    const random = new Random(2);
    const independent: number[] = [];
    const correlated: number[] = [];
    for (let n = 0; n < 500; n++) {
      const a = random.normal();
      independent.push(a, random.normal());
      correlated.push(a, a);
    }
    assert.ok(covarianceLoss(correlated, 500, 2) > covarianceLoss(independent, 500, 2));
  });

  it('refuses rows whose length does not match N×D', () => {
    assert.throws(() => covarianceLoss([1, 2, 3], 2, 2), /expected 2x2/);
  });
});
