import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tf } from '../util/tensorflow.js';
import { projectToUnitBall } from '../alignment/mlp.js';
import { numericGradient, relativeError } from '../testing/numeric.js';
import { FeatureLoss, FeatureVocabulary, defaultFeatureLossOptions } from './features.js';
import { createOptimizerState } from './optimizer.js';
import { initTables } from './tables.js';

describe('cml > features > vocabulary', () => {
  it('builds sorted columns from lists, strings, flags, numbers and title words', () => {
    const items = [
      { genres: ['Drama'], tags: ['pixar'], title: 'Toy Story (1995)' },
      { genres: ['Comedy', 'Drama'], dense: [0.5, -2], kids: true, year: 1.5, studio: 'A' },
      undefined,
    ];
    const vocabulary = FeatureVocabulary.build(items);
    assert.deepEqual(vocabulary.tokens, [
      'dense:0', 'dense:1', 'genres:Comedy', 'genres:Drama', 'kids', 'studio:A', 'tags:pixar',
      'word:story', 'word:toy', 'year',
    ]); // prettier-ignore
    const rows = vocabulary.encode(items);
    const width = vocabulary.size;
    assert.deepEqual([...rows.subarray(0, width)], [0, 0, 0, 1, 0, 0, 1, 1, 1, 0]);
    assert.deepEqual([...rows.subarray(width, 2 * width)], [0.5, -2, 1, 1, 1, 1, 0, 0, 0, 1.5]);
    assert.deepEqual([...rows.subarray(2 * width, 3 * width)], new Array(width).fill(0));
  });
});

describe('cml > features > loss', () => {
  const dim = 6;
  const inputSize = 5;
  const numItems = 4;

  function setup(weight: number) {
    const tables = initTables(2, numItems, dim, { seed: 3 });
    const inputs = Float32Array.from({ length: numItems * inputSize }, (_, n) => ((n * 7) % 5) / 4);
    const state = createOptimizerState('adagrad', numItems, dim, 0.05, false);
    const options = { ...defaultFeatureLossOptions, weight, dropoutRate: 0, hiddenSizes: [8] };
    return { tables, inputs, loss: new FeatureLoss(inputs, inputSize, tables, state, options) };
  }

  it('has the gradient 2λ(v − f(x)) with respect to the item vectors (finite differences)', () => {
    const weight = 0.7;
    const { tables, loss } = setup(weight);
    const encoded = loss.encode([0, 1, 2, 3]);
    const v = Float64Array.from(tables.items);
    const value = (point: Float64Array) => {
      let sum = 0;
      for (let n = 0; n < point.length; n++) sum += (encoded[n] - point[n]) ** 2;
      return weight * sum;
    };
    const analytic = v.map((vn, n) => 2 * weight * (vn - encoded[n]));
    assert.ok(relativeError(analytic, numericGradient(value, v)) < 1e-3);
    loss.dispose();
  });

  it('gets encoder gradients from tfjs that match finite differences', () => {
    const weight = 0.5;
    const { tables, inputs, loss } = setup(weight);
    const [firstWeight] = loss.encoder.variables;
    const original = Float64Array.from(firstWeight.dataSync());
    const lossAt = (values: Float64Array) =>
      tf.tidy(() => {
        firstWeight.assign(tf.tensor(Float32Array.from(values), firstWeight.shape));
        const output = projectToUnitBall(
          loss.encoder.apply(tf.tensor2d(inputs, [numItems, inputSize])),
        );
        const target = tf.tensor2d(tables.items, [numItems, dim]);
        return weight * tf.sum(tf.square(tf.sub(output, target))).dataSync()[0];
      });
    const analytic = (() => {
      const { value, grads } = tf.variableGrads(() => {
        const output = projectToUnitBall(
          loss.encoder.apply(tf.tensor2d(inputs, [numItems, inputSize])),
        );
        const target = tf.tensor2d(tables.items, [numItems, dim]);
        return tf.mul(weight, tf.sum(tf.square(tf.sub(output, target)))) as tf.Scalar;
      }, [firstWeight]);
      const result = Float64Array.from(grads[firstWeight.name].dataSync());
      tf.dispose([value, ...Object.values(grads)]);
      return result;
    })();
    const numeric = numericGradient(lossAt, original, 1e-2);
    firstWeight.assign(tf.tensor(Float32Array.from(original), firstWeight.shape));
    // float32 forward passes limit finite differences to about 1e-3 relative accuracy.
    assert.ok(
      relativeError(analytic, numeric) < 2e-2,
      `relative error ${relativeError(analytic, numeric)}`,
    );
    loss.dispose();
  });

  it('pulls item vectors and the encoder together, and places cold items at f(x)', () => {
    const { tables, loss } = setup(1);
    const gap = () => {
      const encoded = loss.encode([0, 1, 2, 3]);
      return tables.items.reduce((sum, value, n) => sum + (value - encoded[n]) ** 2, 0);
    };
    const before = gap();
    for (let step = 0; step < 30; step++) loss.step(Int32Array.from([0, 1, 2, 3]));
    assert.ok(gap() < before / 2, `gap ${gap()} was ${before}`);

    const cold = loss.placeColdItems((item) => item === 2);
    assert.deepEqual(cold, [2]);
    const encoded = loss.encode([2]);
    assert.deepEqual(tables.items.subarray(2 * dim, 3 * dim), encoded);
    loss.dispose();
  });
});
