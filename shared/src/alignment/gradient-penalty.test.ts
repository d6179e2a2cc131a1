import { tf } from '../util/tensorflow.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { criticGap, gradientPenalty, interpolate } from './gradient-penalty.js';
import { createRandom, fillWith } from './random.js';

describe('alignment > wgan-gp > gradient penalty', () => {
  it('interpolates row by row between real and fake', () => {
    const x = tf.tidy(() =>
      interpolate(
        tf.tensor2d([0, 0, 2, 2], [2, 2]),
        tf.tensor2d([4, 4, 0, 0], [2, 2]),
        tf.tensor2d([0.25, 1], [2, 1]),
      ).dataSync(),
    );
    assert.deepEqual(Array.from(x), [3, 3, 2, 2]);
  });

  it('equals (||a|| - 1)^2 for a linear critic, with the analytic weight gradient', () => {
    // f(x) = <x, a> + b has ∇_x f = a at every point, so the penalty is (||a|| - 1)^2 for any
    // interpolates, and d/da = 2 (||a|| - 1) a / ||a||: a check of the double backprop.
    const a = tf.variable(tf.tensor2d([[3], [4]]));
    const b = tf.variable(tf.scalar(0.7));
    const critic = (x: tf.Tensor2D): tf.Tensor2D => tf.add(tf.matMul(x, a), b) as tf.Tensor2D;
    const random = createRandom(1);
    const real = tf.tensor2d(
      fillWith(16, () => random.normal()),
      [8, 2],
    );
    const fake = tf.tensor2d(
      fillWith(16, () => random.normal() + 3),
      [8, 2],
    );
    const epsilon = tf.tensor2d(fillWith(8, random.next), [8, 1]);
    const { value, grads } = tf.variableGrads(
      () => gradientPenalty(critic, real, fake, epsilon).penalty,
      [a, b],
    );
    assert.ok(Math.abs(value.dataSync()[0] - 16) < 1e-4, `penalty ${value.dataSync()[0]}`);
    const ga = grads[a.name].dataSync();
    assert.ok(Math.abs(ga[0] - (2 * 4 * 3) / 5) < 1e-4 && Math.abs(ga[1] - (2 * 4 * 4) / 5) < 1e-4);
    // The bias does not change ∇_x f, so the penalty does not depend on it: tfjs finds no path.
    assert.equal(grads[b.name], undefined);
    tf.dispose([a, b, real, fake, epsilon, value, ...Object.values(grads)]);
  });

  it('differentiates through two layers: d/dW1 (||W1 w2|| - 1)^2 = 2 (||g|| - 1) g/||g|| w2^T', () => {
    const random = createRandom(2);
    const w1Values = fillWith(3 * 4, () => random.normal());
    const w2Values = fillWith(4, () => random.normal());
    const w1 = tf.variable(tf.tensor2d(w1Values, [3, 4]));
    const w2 = tf.variable(tf.tensor2d(w2Values, [4, 1]));
    const critic = (x: tf.Tensor2D): tf.Tensor2D => tf.matMul(tf.matMul(x, w1), w2);
    const real = tf.tensor2d(
      fillWith(15, () => random.normal()),
      [5, 3],
    );
    const fake = tf.tensor2d(
      fillWith(15, () => random.normal()),
      [5, 3],
    );
    const epsilon = tf.tensor2d(fillWith(5, random.next), [5, 1]);
    const { value, grads } = tf.variableGrads(
      () => gradientPenalty(critic, real, fake, epsilon).penalty,
      [w1],
    );
    const g = [0, 1, 2].map((i) =>
      [0, 1, 2, 3].reduce((s, k) => s + w1Values[i * 4 + k] * w2Values[k], 0),
    );
    const norm = Math.hypot(...g);
    assert.ok(Math.abs(value.dataSync()[0] - (norm - 1) ** 2) < 1e-4);
    const got = grads[w1.name].dataSync();
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 4; k++) {
        const expected = (2 * (norm - 1) * g[i] * w2Values[k]) / norm;
        assert.ok(Math.abs(got[i * 4 + k] - expected) < 1e-4 * Math.max(1, Math.abs(expected)));
      }
    }
    tf.dispose([w1, w2, real, fake, epsilon, value, ...Object.values(grads)]);
  });

  it('reports per-sample gradient norms of a non-linear critic', () => {
    // f(x) = ||x||^2 / 2 has ∇f(x) = x, so each norm is ||x̂_i||.
    const critic = (x: tf.Tensor2D): tf.Tensor2D => tf.mul(0.5, tf.sum(tf.square(x), 1, true));
    const norms = tf.tidy(() =>
      gradientPenalty(
        critic,
        tf.tensor2d([3, 4, 1, 0], [2, 2]),
        tf.tensor2d([0, 0, 1, 0], [2, 2]),
        tf.tensor2d([1, 0.5], [2, 1]),
      ).gradNorms.dataSync(),
    );
    assert.ok(Math.abs(norms[0] - 5) < 1e-5 && Math.abs(norms[1] - 1) < 1e-5);
  });

  it('computes the critic gap mean f(real) - mean f(fake)', () => {
    const gap = tf.tidy(
      () =>
        criticGap(
          (x) => tf.slice(x, [0, 0], [-1, 1]),
          tf.tensor2d([2, 0, 4, 0], [2, 2]),
          tf.tensor2d([1, 9], [1, 2]),
        ).dataSync()[0],
    );
    assert.equal(gap, 2);
  });
});
