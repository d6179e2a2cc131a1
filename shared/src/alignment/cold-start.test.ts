import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  alignColdItems,
  type AlignColdItemsOptions,
  type AlignColdItemsResult,
} from './cold-start.js';
import { applyPlainLayers, projectRowsToUnitBall } from './mlp.js';
import { createRandom } from './random.js';

/**
 * Synthetic cold start with a domain shift. A latent z ~ U[-1, 1]^2 per item sets its learned
 * vector v = 0.3 tanh(Q z) (dim 8) and its 4 informative features A z + noise. Six more
 * features carry no information: N(0, 0.1^2) for the source (warm) items, N(1.5, 0.1^2) for
 * the target (cold) items. The target's z has the source's distribution, so an encoder that
 * ignores the nuisance features is both accurate and aligned.
 */
function syntheticShift(seed: number) {
  const random = createRandom(seed);
  const dim = 8;
  const informative = 4;
  const nuisance = 6;
  const featureDim = informative + nuisance;
  const q = Array.from({ length: dim * 2 }, () => random.normal());
  const a = Array.from({ length: informative * 2 }, () => random.normal());
  const make = (n: number, offset: number) => {
    const features = new Float32Array(n * featureDim);
    const vectors = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) {
      const z = [random.uniform(-1, 1), random.uniform(-1, 1)];
      for (let k = 0; k < dim; k++)
        vectors[i * dim + k] = 0.3 * Math.tanh(q[2 * k] * z[0] + q[2 * k + 1] * z[1]);
      for (let k = 0; k < informative; k++) {
        features[i * featureDim + k] =
          a[2 * k] * z[0] + a[2 * k + 1] * z[1] + random.normal() * 0.05;
      }
      for (let k = informative; k < featureDim; k++)
        features[i * featureDim + k] = offset + random.normal() * 0.1;
    }
    return { features, vectors };
  };
  return { dim, featureDim, source: make(512, 0), target: make(256, 1.5) };
}

const meanSquaredError = (a: Float32Array, b: Float32Array, dim: number): number =>
  a.reduce((s, x, k) => s + (x - b[k]) ** 2, 0) / (a.length / dim);

describe('alignment > wdgrl > cold-start items', () => {
  const data = syntheticShift(42);
  const options: Partial<AlignColdItemsOptions> = {
    encoderHiddenSizes: [32],
    iterations: 400,
    seed: 1,
  };
  const run = (lambda: number): AlignColdItemsResult =>
    alignColdItems({
      sourceFeatures: data.source.features,
      sourceTargets: data.source.vectors,
      targetFeatures: data.target.features,
      dim: data.dim,
      options: { ...options, lambda },
    });
  let aligned: AlignColdItemsResult;

  it('halves the exact W1 between source and target representations at no task cost', (t) => {
    const unaligned = run(0);
    aligned = run(0.003);
    const u = unaligned.diagnostics;
    const w = aligned.diagnostics;
    const coldError = (r: AlignColdItemsResult): number =>
      meanSquaredError(r.targetEmbeddings, data.target.vectors, data.dim);
    t.diagnostic(
      `exact W1 (256 v 256 points) unaligned ${u.w1Before.toFixed(3)} -> ${u.w1After.toFixed(3)}, ` +
        `WDGRL ${w.w1Before.toFixed(3)} -> ${w.w1After.toFixed(3)} (ratio ${(w.w1After / u.w1After).toFixed(2)}); ` +
        `critic estimate ${w.criticEstimate.toFixed(3)}; source task error ${u.taskErrorAfter.toFixed(4)} vs ` +
        `${w.taskErrorAfter.toFixed(4)} (${((w.taskErrorAfter / u.taskErrorAfter - 1) * 100).toFixed(1)}%); ` +
        `cold-item error ${coldError(unaligned).toFixed(4)} vs ${coldError(aligned).toFixed(4)}; ` +
        `training ${u.trainingMs.toFixed(0)} ms vs ${w.trainingMs.toFixed(0)} ms`,
    );
    assert.ok(w.w1After <= 0.5 * u.w1After, `W1 ${w.w1After} vs unaligned ${u.w1After}`);
    assert.ok(
      w.taskErrorAfter <= 1.1 * u.taskErrorAfter,
      `task error ${w.taskErrorAfter} vs unaligned ${u.taskErrorAfter}`,
    );
    // The point of alignment: the cold items land nearer their true vectors.
    assert.ok(coldError(aligned) < coldError(unaligned));
    assert.ok(Number.isNaN(u.criticEstimate) && w.criticEstimate < u.w1After);
  });

  it('returns cold-item embeddings inside the unit ball that the exported encoder reproduces', () => {
    const { encoder, targetEmbeddings } = aligned;
    assert.equal(encoder.outputProjection, 'unit-ball');
    assert.deepEqual(
      encoder.layers.map((l) => [l.inputSize, l.outputSize, l.activation]),
      [
        [data.featureDim, 32, 'relu'],
        [32, data.dim, 'linear'],
      ],
    );
    assert.equal(targetEmbeddings.length, 256 * data.dim);
    for (let i = 0; i < 256; i++) {
      const norm = Math.hypot(...targetEmbeddings.subarray(i * data.dim, (i + 1) * data.dim));
      assert.ok(norm <= 1 + 1e-6, `row ${i} has norm ${norm}`);
    }
    const replayed = projectRowsToUnitBall(
      applyPlainLayers(encoder.layers, data.target.features),
      data.dim,
    );
    replayed.forEach((v, k) => assert.ok(Math.abs(v - targetEmbeddings[k]) < 1e-5, `value ${k}`));
  });

  it('projects large outputs onto the unit sphere', () => {
    // Targets of norm 3 pull the encoder outside the ball; the outputs stay on its boundary.
    const random = createRandom(2);
    const sourceTargets = Float32Array.from({ length: 64 * 2 }, (_, k) => (k % 2 === 0 ? 3 : 0));
    const features = Float32Array.from({ length: 64 * 3 }, () => random.normal());
    const result = alignColdItems({
      sourceFeatures: features,
      sourceTargets,
      targetFeatures: features.subarray(0, 30),
      dim: 2,
      options: { iterations: 150, criticSteps: 1, seed: 3 },
    });
    for (let i = 0; i < 64; i++) {
      const norm = Math.hypot(result.sourceEmbeddings[2 * i], result.sourceEmbeddings[2 * i + 1]);
      assert.ok(norm <= 1 + 1e-6 && norm > 0.99, `row ${i} has norm ${norm}`);
    }
  });

  it('is reproducible for a seed', () => {
    const small = { iterations: 5, criticSteps: 2, seed: 9 };
    const input = {
      sourceFeatures: data.source.features.subarray(0, 100 * data.featureDim),
      sourceTargets: data.source.vectors.subarray(0, 100 * data.dim),
      targetFeatures: data.target.features.subarray(0, 50 * data.featureDim),
      dim: data.dim,
      options: small,
    };
    const first = alignColdItems(input);
    const second = alignColdItems(input);
    assert.deepEqual(first.targetEmbeddings, second.targetEmbeddings);
    assert.equal(first.diagnostics.w1After, second.diagnostics.w1After);
  });

  it('rejects inputs whose shapes do not agree', () => {
    const base = {
      sourceFeatures: new Float32Array(6),
      sourceTargets: new Float32Array(4),
      targetFeatures: new Float32Array(3),
      dim: 2,
    };
    assert.throws(
      () => alignColdItems({ ...base, dim: 3 }),
      /sourceTargets has length 4, not a multiple of dim 3/,
    );
    assert.throws(
      () => alignColdItems({ ...base, targetFeatures: new Float32Array(4) }),
      /targetFeatures has length 4/,
    );
    assert.throws(
      () => alignColdItems({ ...base, sourceFeatures: Float32Array.from([1, 2, 3, NaN, 5, 6]) }),
      /sourceFeatures\[3\] = NaN/,
    );
  });
});
