import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../util/random.js';
import { numericGradient, relativeError } from '../testing/numeric.js';
import { squaredDistance, tripletHinge } from './hinge.js';
import { estimateRank, warpWeight } from './warp.js';

function randomVector(random: Random, dim: number, scale = 0.3): Float64Array {
  return Float64Array.from({ length: dim }, () => random.normal() * scale);
}

describe('cml > hinge', () => {
  it('matches finite differences for user, positive and negative vectors', () => {
    const random = new Random(11);
    const dim = 16;
    let checked = 0;
    for (let trial = 0; trial < 20; trial++) {
      const user = randomVector(random, dim);
      const positive = randomVector(random, dim);
      const negative = randomVector(random, dim);
      const weight = warpWeight(1 + random.int(500));
      const grads = {
        user: new Float64Array(dim),
        positive: new Float64Array(dim),
        negative: new Float64Array(dim),
      };
      const loss = tripletHinge(user, positive, negative, 0.5, weight, grads);
      if (loss === 0) continue;
      checked++;

      const byUser = numericGradient((u) => tripletHinge(u, positive, negative, 0.5, weight), user);
      const byPositive = numericGradient(
        (p) => tripletHinge(user, p, negative, 0.5, weight),
        positive,
      );
      const byNegative = numericGradient(
        (n) => tripletHinge(user, positive, n, 0.5, weight),
        negative,
      );
      assert.ok(relativeError(grads.user, byUser) < 1e-3, `user gradient, trial ${trial}`);
      assert.ok(
        relativeError(grads.positive, byPositive) < 1e-3,
        `positive gradient, trial ${trial}`,
      );
      assert.ok(
        relativeError(grads.negative, byNegative) < 1e-3,
        `negative gradient, trial ${trial}`,
      );
    }
    assert.ok(checked >= 10, `only ${checked} trials had an active hinge`);
  });

  it('is zero, with zero gradient, once the negative is beyond the margin', () => {
    const grads = {
      user: new Float64Array(2),
      positive: new Float64Array(2),
      negative: new Float64Array(2),
    };
    const loss = tripletHinge([0, 0], [0.1, 0], [0.9, 0], 0.5, 2, grads);
    assert.equal(loss, 0);
    assert.deepEqual([...grads.user, ...grads.positive, ...grads.negative], [0, 0, 0, 0, 0, 0]);
  });

  it('computes w·(m + d(u,i)² − d(u,k)²) on a hand-checked triplet', () => {
    // d(u,i)² = 0.25, d(u,k)² = 0.36: 2 · (0.5 + 0.25 − 0.36) = 0.78
    assert.ok(Math.abs(tripletHinge([0, 0], [0.5, 0], [0, 0.6], 0.5, 2) - 0.78) < 1e-12);
  });

  it('squaredDistance agrees with the plain sum for every dimension remainder', () => {
    const random = new Random(3);
    for (const dim of [1, 3, 4, 7, 64, 65]) {
      const a = Float32Array.from({ length: 2 * dim }, () => random.normal());
      const b = Float32Array.from({ length: 3 * dim }, () => random.normal());
      let expected = 0;
      for (let d = 0; d < dim; d++) expected += (a[dim + d] - b[2 * dim + d]) ** 2;
      assert.ok(
        Math.abs(squaredDistance(a, dim, b, 2 * dim, dim) - expected) < 1e-9 * (1 + expected),
      );
    }
  });
});

describe('cml > warp', () => {
  it('estimates rank as floor(J·M/U) on a constructed case', () => {
    // 1000 items, 20 sampled, 3 violate: 150 items are expected to rank above the positive.
    assert.equal(estimateRank(1000, 3, 20), 150);
    assert.equal(estimateRank(1682, 1, 20), 84);
    assert.equal(estimateRank(1682, 0, 20), 0);
    assert.equal(estimateRank(1682, 20, 20), 1682);
  });

  it('weights by log(rank + 1), growing with the rank', () => {
    assert.equal(warpWeight(0), 0);
    assert.ok(Math.abs(warpWeight(150) - Math.log(151)) < 1e-15);
    assert.ok(warpWeight(1000) > warpWeight(10));
  });
});
