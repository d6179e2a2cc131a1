import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom, fillWith } from './random.js';
import { exactWasserstein1, subsampledWasserstein1 } from './wasserstein.js';

describe('alignment > wasserstein > exact W1 of point sets', () => {
  it('equals the length of a translation in any dimension', () => {
    // W1(P, P + t) = ||t||: the identity coupling costs ||t|| and the 1-Lipschitz critic
    // f(x) = <x, t> / ||t|| proves no coupling is cheaper.
    const random = createRandom(31);
    const dim = 3;
    const a = fillWith(60 * dim, () => random.normal());
    const shift = [0.3, -1.2, 0.4];
    const b = a.map((x, k) => x + shift[k % dim]);
    const expected = Math.hypot(...shift);
    for (const method of ['assignment', 'transport'] as const) {
      const { distance } = exactWasserstein1(a, b, dim, { method });
      assert.ok(Math.abs(distance - expected) < 1e-5, `${method}: ${distance} vs ${expected}`);
    }
  });

  it('picks the sorted form in 1-D and agrees with the other solvers there', () => {
    const random = createRandom(32);
    const a = fillWith(50, () => random.normal());
    const b = fillWith(50, () => random.normal() * 2 + 1);
    const sorted = exactWasserstein1(a, b, 1);
    assert.equal(sorted.method, 'sorted');
    for (const method of ['assignment', 'transport'] as const) {
      const other = exactWasserstein1(a, b, 1, { method }).distance;
      assert.ok(
        Math.abs(other - sorted.distance) < 1e-5,
        `${method} ${other} vs ${sorted.distance}`,
      );
    }
  });

  it('uses the assignment for equal uniform sets and the LP otherwise', () => {
    const random = createRandom(33);
    const a = fillWith(20 * 2, () => random.normal());
    const b = fillWith(20 * 2, () => random.normal());
    assert.equal(exactWasserstein1(a, b, 2).method, 'assignment');
    assert.equal(exactWasserstein1(a, b.subarray(0, 30), 2).method, 'transport');
    assert.equal(
      exactWasserstein1(a, b, 2, { weightsA: new Array(20).fill(1) }).method,
      'transport',
    );
  });

  it('obeys symmetry and the triangle inequality', () => {
    const random = createRandom(34);
    const p = fillWith(25 * 2, () => random.normal());
    const q = fillWith(25 * 2, () => random.uniform(0, 2));
    const r = fillWith(25 * 2, () => random.normal() + 1);
    const w = (x: Float32Array, y: Float32Array): number => exactWasserstein1(x, y, 2).distance;
    assert.ok(Math.abs(w(p, q) - w(q, p)) < 1e-6);
    assert.ok(w(p, r) <= w(p, q) + w(q, r) + 1e-6);
  });

  it('subsamples large sets reproducibly', () => {
    const random = createRandom(35);
    const a = fillWith(500 * 2, () => random.normal());
    const b = fillWith(300 * 2, () => random.normal()).map((x, k) => (k % 2 === 0 ? x + 3 : x));
    const first = subsampledWasserstein1(a, b, 2, 100, 1);
    const second = subsampledWasserstein1(a, b, 2, 100, 1);
    assert.equal(first.distance, second.distance);
    assert.equal(first.pointsA, 100);
    // Population distance 3 (a shift along x); subsamples of 100 add a small upward bias.
    assert.ok(first.distance > 2.7 && first.distance < 3.6, `distance ${first.distance}`);
  });

  it('rejects malformed point sets', () => {
    assert.throws(() => exactWasserstein1([1, 2, 3], [1, 2], 2), /a has length 3, not a multiple/);
    assert.throws(() => exactWasserstein1([1, 2], [1, 2], 2, { method: 'sorted' }), /needs dim 1/);
  });
});
