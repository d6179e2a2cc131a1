import { tf } from '../util/tensorflow.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  discriminatorLoss,
  nonSaturatingGeneratorLoss,
  saturatingGeneratorLoss,
} from './gan-losses.js';
import { Mlp } from './mlp.js';
import { createRandom, fillWith } from './random.js';

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const scalar = (t: tf.Tensor): number => {
  const value = t.dataSync()[0];
  t.dispose();
  return value;
};

describe('alignment > gan > losses', () => {
  it('equals the log-probability formulas for moderate logits', () => {
    const real = [0.5, -1, 2];
    const fake = [-0.3, 1.2];
    const expectedD =
      -real.reduce((s, l) => s + Math.log(sigmoid(l)), 0) / 3 -
      fake.reduce((s, l) => s + Math.log(1 - sigmoid(l)), 0) / 2;
    const expectedSat = fake.reduce((s, l) => s + Math.log(1 - sigmoid(l)), 0) / 2;
    const expectedNs = -fake.reduce((s, l) => s + Math.log(sigmoid(l)), 0) / 2;
    const r = tf.tensor1d(real);
    const f = tf.tensor1d(fake);
    assert.ok(Math.abs(scalar(discriminatorLoss(r, f)) - expectedD) < 1e-5);
    assert.ok(Math.abs(scalar(saturatingGeneratorLoss(f)) - expectedSat) < 1e-5);
    assert.ok(Math.abs(scalar(nonSaturatingGeneratorLoss(f)) - expectedNs) < 1e-5);
    tf.dispose([r, f]);
  });

  it('stays finite and exact where sigmoid then log would give -Infinity', () => {
    // D is certain and right: L_D ~ 0; the non-saturating loss is ~ -l_g = 100.
    const r = tf.tensor1d([100]);
    const f = tf.tensor1d([-100]);
    assert.ok(Math.abs(scalar(discriminatorLoss(r, f))) < 1e-6);
    assert.ok(Math.abs(scalar(nonSaturatingGeneratorLoss(f)) - 100) < 1e-3);
    assert.ok(Math.abs(scalar(saturatingGeneratorLoss(f))) < 1e-6);
    // D is certain and wrong: L_D ~ 200, finite.
    assert.ok(Math.abs(scalar(discriminatorLoss(f, r)) - 200) < 1e-2);
    tf.dispose([r, f]);
  });

  it('has logit gradients -sigmoid(l) (saturating) and -sigmoid(-l) (non-saturating)', () => {
    const logits = [-12, -3, 0, 4];
    const f = tf.tensor1d(logits);
    const sat = tf
      .grad((l: tf.Tensor) => saturatingGeneratorLoss(l))(f)
      .dataSync();
    const ns = tf
      .grad((l: tf.Tensor) => nonSaturatingGeneratorLoss(l))(f)
      .dataSync();
    logits.forEach((l, i) => {
      assert.ok(Math.abs(sat[i] + sigmoid(l) / 4) < 1e-6, `saturating at ${l}`);
      assert.ok(Math.abs(ns[i] + sigmoid(-l) / 4) < 1e-6, `non-saturating at ${l}`);
    });
    f.dispose();
  });
});

describe('alignment > gan > vanishing generator gradient', () => {
  it('saturating gradient collapses as D nears optimal on disjoint supports; non-saturating does not', (t) => {
    // P_r and a fixed P_g are tight blobs 2 apart: disjoint supports in practice.
    const random = createRandom(1);
    const n = 64;
    const blob = (cx: number): tf.Tensor2D =>
      tf.tensor2d(
        fillWith(n * 2, () => random.normal() * 0.05).map((x, k) => (k % 2 === 0 ? x + cx : x)),
        [n, 2],
      );
    const real = blob(-1);
    const fake = blob(1);
    const discriminator = new Mlp({ inputSize: 2, hiddenSizes: [32, 32], outputSize: 1, seed: 2 });
    const optimizer = tf.train.adam(0.01);
    // ||∂L_G / ∂x_g||, the gradient the generator would receive through its samples.
    const gradNorm = (loss: (logits: tf.Tensor) => tf.Scalar): number =>
      tf.tidy(
        () =>
          tf
            .norm(tf.grad((x: tf.Tensor) => loss(discriminator.apply(x as tf.Tensor2D)))(fake))
            .dataSync()[0],
      );
    const meanFakeLogit = (): number =>
      tf.tidy(() => tf.mean(discriminator.apply(fake)).dataSync()[0]);

    const startSat = gradNorm(saturatingGeneratorLoss);
    const startNs = gradNorm(nonSaturatingGeneratorLoss);
    for (let step = 0; step < 400; step++) {
      optimizer.minimize(
        () => discriminatorLoss(discriminator.apply(real), discriminator.apply(fake)),
        false,
        discriminator.variables as tf.Variable[],
      );
    }
    const endSat = gradNorm(saturatingGeneratorLoss);
    const endNs = gradNorm(nonSaturatingGeneratorLoss);
    const lossD = tf.tidy(
      () => discriminatorLoss(discriminator.apply(real), discriminator.apply(fake)).dataSync()[0],
    );
    t.diagnostic(
      `L_D ${lossD.toExponential(2)}, mean fake logit ${meanFakeLogit().toFixed(2)}; ` +
        `saturating ${startSat.toExponential(2)} -> ${endSat.toExponential(2)} ` +
        `(x${(endSat / startSat).toExponential(1)}), non-saturating ${startNs.toExponential(2)} -> ` +
        `${endNs.toExponential(2)} (x${(endNs / startNs).toFixed(1)})`,
    );
    assert.ok(lossD < 1e-3, `D should be near optimal, L_D = ${lossD}`);
    assert.ok(endSat / startSat < 1e-2, `saturating ratio ${endSat / startSat}`);
    assert.ok(endNs / startNs > 1, `non-saturating ratio ${endNs / startNs}`);
    tf.dispose([real, fake]);
    optimizer.dispose();
    discriminator.dispose();
  });
});
