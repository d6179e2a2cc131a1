import { tf } from '../util/tensorflow.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPlainLayers, Mlp, projectRowsToUnitBall, projectToUnitBall } from './mlp.js';
import { createRandom, fillWith } from './random.js';

describe('alignment > mlp', () => {
  it('initialises identically for the same seed and differently for another', () => {
    const spec = { inputSize: 3, hiddenSizes: [5], outputSize: 2 };
    const a = new Mlp({ ...spec, seed: 1 });
    const b = new Mlp({ ...spec, seed: 1 });
    const c = new Mlp({ ...spec, seed: 2 });
    assert.deepEqual(a.toPlainLayers(), b.toPlainLayers());
    assert.notDeepEqual(a.toPlainLayers()[0].weight, c.toPlainLayers()[0].weight);
    const limit = Math.sqrt(6 / (3 + 5));
    assert.ok(
      a.toPlainLayers()[0].weight.every((w) => Math.abs(w) <= limit),
      'Glorot bound',
    );
    [a, b, c].forEach((m) => m.dispose());
  });

  it('exports plain layers whose forward pass matches the tfjs one', () => {
    const mlp = new Mlp({ inputSize: 4, hiddenSizes: [6, 5], outputSize: 3, seed: 3 });
    const random = createRandom(4);
    const x = fillWith(7 * 4, () => random.normal());
    const expected = tf.tidy(() => mlp.apply(tf.tensor2d(x, [7, 4])).dataSync());
    const layers = mlp.toPlainLayers();
    assert.deepEqual(
      layers.map((l) => [l.inputSize, l.outputSize, l.activation]),
      [
        [4, 6, 'relu'],
        [6, 5, 'relu'],
        [5, 3, 'linear'],
      ],
    );
    const got = applyPlainLayers(layers, x);
    got.forEach((value, k) => assert.ok(Math.abs(value - expected[k]) < 1e-5, `output ${k}`));
    mlp.dispose();
  });

  it('clips every parameter into [-c, c]', () => {
    const mlp = new Mlp({ inputSize: 2, hiddenSizes: [8], outputSize: 1, seed: 5 });
    mlp.clipWeights(0.01);
    for (const layer of mlp.toPlainLayers()) {
      for (const w of [...layer.weight, ...layer.bias]) assert.ok(Math.abs(w) <= 0.01 + 1e-9);
    }
    mlp.dispose();
  });

  it('projects rows into the unit ball and leaves inner rows alone', () => {
    const rows = [3, 4, 0.3, 0.4, 0, 0];
    const projected = tf.tidy(() => projectToUnitBall(tf.tensor2d(rows, [3, 2])).dataSync());
    const expected = [0.6, 0.8, 0.3, 0.4, 0, 0];
    projected.forEach((v, k) => assert.ok(Math.abs(v - expected[k]) < 1e-6));
    assert.deepEqual(
      Array.from(projectRowsToUnitBall(Float32Array.from(rows), 2)),
      Array.from(Float32Array.from(expected)),
    );
  });

  it('keeps the projection gradient finite at the origin', () => {
    const grad = tf.tidy(() =>
      tf
        .grad((y: tf.Tensor) => tf.sum(projectToUnitBall(y as tf.Tensor2D)))(tf.zeros([1, 3]))
        .dataSync(),
    );
    assert.deepEqual(Array.from(grad), [1, 1, 1]);
  });

  it('rejects a layer size that is not a positive integer', () => {
    assert.throws(
      () => new Mlp({ inputSize: 2, hiddenSizes: [0], outputSize: 1, seed: 1 }),
      /\[2, 0, 1\]/,
    );
  });
});
