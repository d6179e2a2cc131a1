import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom, fillWith } from './random.js';
import { wasserstein1d } from './wasserstein-1d.js';

describe('alignment > wasserstein > 1d closed form', () => {
  it('is the mean gap between sorted samples of equal size', () => {
    assert.equal(wasserstein1d([0, 1], [2, 3]), 2);
    assert.equal(wasserstein1d([3, 0], [1, 2]), 1);
    const random = createRandom(5);
    const a = fillWith(50, () => random.normal());
    const b = fillWith(50, () => random.uniform(-1, 2));
    const sa = Array.from(a).sort((x, y) => x - y);
    const sb = Array.from(b).sort((x, y) => x - y);
    const expected = sa.reduce((sum, x, i) => sum + Math.abs(x - sb[i]), 0) / 50;
    assert.ok(Math.abs(wasserstein1d(a, b) - expected) < 1e-9);
  });

  it('handles different sizes and weights by integrating |F_P - F_Q|', () => {
    // Half of the mass of Q sits at 1, a distance 1 from the single atom of P.
    assert.equal(wasserstein1d([0], [0, 1]), 0.5);
    // Three atoms to one: (2 + 1 + 1) / 3.
    assert.ok(Math.abs(wasserstein1d([0, 1, 3], [2]) - 4 / 3) < 1e-12);
    // Weights 3:1 against a point mass at 0.
    assert.ok(Math.abs(wasserstein1d([0, 4], [0], [3, 1]) - 1) < 1e-12);
  });

  it('equals the size of a translation and is symmetric', () => {
    const random = createRandom(9);
    const a = fillWith(40, () => random.normal());
    const shifted = a.map((x) => x + 0.75);
    assert.ok(Math.abs(wasserstein1d(a, shifted) - 0.75) < 1e-6);
    const b = fillWith(17, () => random.normal());
    assert.ok(Math.abs(wasserstein1d(a, b) - wasserstein1d(b, a)) < 1e-12);
  });

  it('rejects empty inputs, bad weights and non-finite values', () => {
    assert.throws(() => wasserstein1d([], [1]), /a is empty/);
    assert.throws(() => wasserstein1d([1], [1], [-1]), /weightsA\[0\] = -1/);
    assert.throws(() => wasserstein1d([1, 2], [1], [1]), /weightsA has length 1, expected 2/);
    assert.throws(() => wasserstein1d([NaN], [1]), /a\[0\] = NaN/);
  });
});
