import { tf } from '../util/tensorflow.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mlp } from './mlp.js';
import { createRandom, fillWith } from './random.js';
import { WGAN_DEFAULTS, WganCritic, wganCriticLoss, wganGeneratorLoss } from './wgan.js';

describe('alignment > wgan > losses', () => {
  it('gives the critic mean f(fake) - mean f(real) and the generator -mean f(fake)', () => {
    const real = tf.tensor1d([1, 3]);
    const fake = tf.tensor1d([0.5]);
    assert.equal(wganCriticLoss(real, fake).dataSync()[0], -1.5);
    assert.equal(wganGeneratorLoss(fake).dataSync()[0], -0.5);
    tf.dispose([real, fake]);
  });

  it('uses the original defaults', () => {
    assert.deepEqual(
      [
        WGAN_DEFAULTS.learningRate,
        WGAN_DEFAULTS.clip,
        WGAN_DEFAULTS.batchSize,
        WGAN_DEFAULTS.nCritic,
      ],
      [5e-5, 0.01, 64, 5],
    );
  });
});

describe('alignment > wgan > weight clipping', () => {
  it('piles most weights up at ±c after training with the default settings', (t) => {
    // P_r: 8 tight Gaussians on a ring of radius 2; P_g: one Gaussian at the centre.
    const random = createRandom(3);
    const n = 256;
    const real = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const angle = ((i % 8) * Math.PI) / 4;
      real[2 * i] = 2 * Math.cos(angle) + random.normal() * 0.05;
      real[2 * i + 1] = 2 * Math.sin(angle) + random.normal() * 0.05;
    }
    const fake = fillWith(n * 2, () => random.normal() * 0.5);
    // Start strictly inside the box: U(-c/2, c/2), so no weight is at ±c before training.
    const mlp = new Mlp({
      inputSize: 2,
      hiddenSizes: [64],
      outputSize: 1,
      seed: 4,
      initLimit: 0.005,
    });
    const critic = new WganCritic(mlp, { seed: 5 });
    const before = critic.fractionAtClip();
    const gapBefore = critic.gap(real, fake, 2);
    for (let round = 0; round < 100; round++) critic.trainRound(real, fake, 2);
    const after = critic.fractionAtClip();
    const gapAfter = critic.gap(real, fake, 2);
    t.diagnostic(
      `weights at ±c: ${before.toFixed(3)} -> ${after.toFixed(3)} after 500 RMSProp steps; ` +
        `critic gap ${gapBefore.toExponential(2)} -> ${gapAfter.toExponential(2)}`,
    );
    assert.equal(before, 0);
    assert.ok(after > 0.5, `share at ±c ${after}`);
    assert.ok(gapAfter > gapBefore, 'the critic learned to separate the sets');
    for (const layer of mlp.toPlainLayers()) {
      for (const w of [...layer.weight, ...layer.bias]) assert.ok(Math.abs(w) <= 0.01 + 1e-7);
    }
    critic.dispose();
    mlp.dispose();
  });
});
