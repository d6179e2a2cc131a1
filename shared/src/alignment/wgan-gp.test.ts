import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Mlp } from './mlp.js';
import { createRandom, fillWith } from './random.js';
import { exactWasserstein1 } from './wasserstein.js';
import { WganGpCritic } from './wgan-gp.js';

describe('alignment > wgan-gp > critic', () => {
  it('estimates W1 between 2-D clouds within 10% of the exact value, gradient norm near 1', (t) => {
    // P: an isotropic Gaussian blob; Q: a noisy ring centred at (1, 0.5). 128 points each.
    const random = createRandom(3);
    const n = 128;
    const p = fillWith(n * 2, () => random.normal() * 0.3);
    const q = new Float32Array(n * 2);
    for (let i = 0; i < n; i++) {
      const angle = random.uniform(0, 2 * Math.PI);
      const radius = 0.5 + random.normal() * 0.05;
      q[2 * i] = 1 + radius * Math.cos(angle);
      q[2 * i + 1] = 0.5 + radius * Math.sin(angle);
    }
    const exact = exactWasserstein1(p, q, 2).distance;

    const mlp = new Mlp({ inputSize: 2, hiddenSizes: [32, 32], outputSize: 1, seed: 4 });
    const critic = new WganGpCritic(mlp, { learningRate: 2e-3, beta1: 0.5, nCritic: 1, seed: 5 });
    const started = performance.now();
    for (let step = 0; step < 400; step++) critic.trainRound(p, q, 2);
    const estimate = critic.gap(p, q, 2);
    const norms = critic.gradNormsAtInterpolates(p, q, 2, 7);
    const meanNorm = norms.reduce((s, x) => s + x, 0) / norms.length;
    t.diagnostic(
      `exact W1 ${exact.toFixed(4)}, critic ${estimate.toFixed(4)} ` +
        `(${(((estimate - exact) / exact) * 100).toFixed(1)}%), mean ||∇f(x̂)|| ${meanNorm.toFixed(3)}, ` +
        `400 steps in ${(performance.now() - started).toFixed(0)} ms`,
    );
    assert.ok(Math.abs(estimate - exact) / exact < 0.1, `estimate ${estimate} vs exact ${exact}`);
    assert.ok(Math.abs(meanNorm - 1) < 0.1, `mean gradient norm ${meanNorm}`);
    critic.dispose();
    mlp.dispose();
  });
});
