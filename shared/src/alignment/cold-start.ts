import { tf } from '../util/tensorflow.js';
import { InputError } from '../errors.js';
import { criticGap } from './gradient-penalty.js';
import { Mlp, projectToUnitBall, type PlainDenseLayer } from './mlp.js';
import { createRandom, gatherRows, sampleIndices } from './random.js';
import { checkFinite } from './validate.js';
import { subsampledWasserstein1 } from './wasserstein.js';
import { WDGRL_DEFAULTS, WdgrlTrainer, type WdgrlOptions } from './wdgrl.js';

/**
 * Cold-start item embedding with WDGRL alignment (CML-NOTES sections 5 and 6).
 *
 * Source = items with interactions, whose learned vectors v_j are known; target = cold items,
 * with features only. An encoder f_g (MLP, then projection into the unit ball) is trained to
 * regress f_g(x_j) to v_j on the source (L_c = mean_j ||f_g(x_j) - v_j||^2, the feature loss
 * of section 6), while a gradient-penalised domain critic estimates the Wasserstein distance
 * between encoder outputs on source and target items and the encoder minimises λ times it.
 */
export interface AlignColdItemsOptions extends WdgrlOptions {
  /** Hidden layer sizes of the encoder (default [64]). */
  encoderHiddenSizes: number[];
  /** Hidden layer sizes of the domain critic (default [32]). */
  criticHiddenSizes: number[];
  /** Extractor iterations, each preceded by `criticSteps` critic steps (default 400). */
  iterations: number;
  /** Minibatch size per domain (default 64). */
  batchSize: number;
  /** Points per side for the exact W1 diagnostics (subsampled above this; default 256). */
  diagnosticPoints: number;
}

/**
 * Defaults. λ is small on purpose: Adam scales each parameter's step by its own gradient
 * history, so the weights that only the target's features move (the domain-specific ones)
 * follow the distance term at the full learning rate whatever λ is, while the shared weights
 * need the task gradient to dominate the critic's, whose per-sample norm stays near λ / m at
 * equilibrium. On the synthetic shift of cold-start.test.ts, λ = 0.001 to 0.005 cut W1 about
 * five-fold with the source task error within 10 %; λ >= 0.1 raised it by 40-80 % (README.md).
 */
export const ALIGN_COLD_ITEMS_DEFAULTS: AlignColdItemsOptions = {
  ...WDGRL_DEFAULTS,
  lambda: 0.003,
  criticLearningRate: 5e-3,
  extractorLearningRate: 1e-3,
  encoderHiddenSizes: [64],
  criticHiddenSizes: [32],
  iterations: 400,
  batchSize: 64,
  diagnosticPoints: 256,
};

export interface AlignColdItemsInput {
  /** Row-major [nSource x featureDim]. */
  sourceFeatures: Float32Array;
  /** Learned item vectors v_j of the source items, row-major [nSource x dim]. */
  sourceTargets: Float32Array;
  /** Row-major [nTarget x featureDim]. */
  targetFeatures: Float32Array;
  /** Embedding dimension. */
  dim: number;
  options?: Partial<AlignColdItemsOptions>;
}

/** The trained encoder as plain arrays: dense layers, then the unit-ball projection. */
export interface ExportedEncoder {
  inputSize: number;
  outputSize: number;
  layers: PlainDenseLayer[];
  /** Applied after the last layer: y -> y * min(1, 1 / ||y||_2). */
  outputProjection: 'unit-ball';
}

export interface AlignmentDiagnostics {
  /** Exact W1 between source and target encoder outputs before training (random encoder). */
  w1Before: number;
  /** Exact W1 between source and target encoder outputs after training. */
  w1After: number;
  /** Points per side behind the two W1 figures (subsampled, same seed before and after). */
  w1Points: { source: number; target: number };
  /** The critic's W1 estimate, mean f_w(h^s) - mean f_w(h^t) over all items (NaN if λ = 0). */
  criticEstimate: number;
  /** mean_j ||f_g(x_j) - v_j||^2 over all source items, before and after training. */
  taskErrorBefore: number;
  taskErrorAfter: number;
  iterations: number;
  trainingMs: number;
}

export interface AlignColdItemsResult {
  /** Encoder outputs for the cold items, row-major [nTarget x dim], each of norm <= 1. */
  targetEmbeddings: Float32Array;
  /** Encoder outputs for the source items, row-major [nSource x dim]. */
  sourceEmbeddings: Float32Array;
  encoder: ExportedEncoder;
  diagnostics: AlignmentDiagnostics;
}

/** Rows per forward pass when encoding whole item sets. */
const ENCODE_CHUNK = 4096;

function encodeAll(
  encoder: (x: tf.Tensor2D) => tf.Tensor2D,
  features: Float32Array,
  featureDim: number,
  dim: number,
): Float32Array {
  const n = features.length / featureDim;
  const out = new Float32Array(n * dim);
  for (let start = 0; start < n; start += ENCODE_CHUNK) {
    const rows = Math.min(ENCODE_CHUNK, n - start);
    const chunk = features.subarray(start * featureDim, (start + rows) * featureDim);
    out.set(
      tf.tidy(() => encoder(tf.tensor2d(chunk, [rows, featureDim])).dataSync()),
      start * dim,
    );
  }
  return out;
}

function meanSquaredError(predicted: Float32Array, targets: Float32Array, dim: number): number {
  let sum = 0;
  for (let k = 0; k < predicted.length; k++) sum += (predicted[k] - targets[k]) ** 2;
  return sum / (predicted.length / dim);
}

/**
 * Trains the cold-start encoder with WDGRL and embeds the cold items. Everything is seeded
 * by `options.seed`; with `lambda: 0` it is the unaligned encoder trained on the same
 * minibatches. Cost: `iterations x (criticSteps + 1)` small Adam steps on the tfjs CPU
 * backend, plus two exact W1 solves of `diagnosticPoints` points per side.
 */
export function alignColdItems(input: AlignColdItemsInput): AlignColdItemsResult {
  const options = { ...ALIGN_COLD_ITEMS_DEFAULTS, ...input.options };
  const { sourceFeatures, sourceTargets, targetFeatures, dim } = input;
  const op = 'alignColdItems';
  if (!Number.isInteger(dim) || dim < 1 || sourceTargets.length % dim !== 0) {
    throw new InputError(
      'ALIGNMENT_BAD_SHAPE',
      `${op}: sourceTargets has length ${sourceTargets.length}, not a multiple of dim ${dim}`,
    );
  }
  const nSource = sourceTargets.length / dim;
  if (nSource < 1 || sourceFeatures.length % nSource !== 0) {
    throw new InputError(
      'ALIGNMENT_BAD_SHAPE',
      `${op}: sourceFeatures has length ${sourceFeatures.length}, not a multiple of ${nSource} source items`,
    );
  }
  const featureDim = sourceFeatures.length / nSource;
  if (
    featureDim < 1 ||
    targetFeatures.length < featureDim ||
    targetFeatures.length % featureDim !== 0
  ) {
    throw new InputError(
      'ALIGNMENT_BAD_SHAPE',
      `${op}: targetFeatures has length ${targetFeatures.length}, expected a positive multiple of featureDim ${featureDim}`,
    );
  }
  checkFinite(op, 'sourceFeatures', sourceFeatures);
  checkFinite(op, 'sourceTargets', sourceTargets);
  checkFinite(op, 'targetFeatures', targetFeatures);
  const nTarget = targetFeatures.length / featureDim;

  const mlp = new Mlp({
    inputSize: featureDim,
    hiddenSizes: options.encoderHiddenSizes,
    outputSize: dim,
    seed: options.seed,
  });
  const critic = new Mlp({
    inputSize: dim,
    hiddenSizes: options.criticHiddenSizes,
    outputSize: 1,
    seed: options.seed + 1,
  });
  const encoder = (x: tf.Tensor2D): tf.Tensor2D => projectToUnitBall(mlp.apply(x));
  const trainer = new WdgrlTrainer(
    {
      extractor: encoder,
      extractorVariables: mlp.variables as tf.Variable[],
      critic,
      // L_c = mean over the batch of ||f_g(x_j) - v_j||^2.
      taskLoss: (h, v) => tf.mean(tf.sum(tf.squaredDifference(h, v), 1)) as tf.Scalar,
    },
    { ...options, seed: options.seed + 2 },
  );

  const w1Seed = options.seed + 3;
  const diagnose = (): { w1: number; points: { source: number; target: number }; task: number } => {
    const hs = encodeAll(encoder, sourceFeatures, featureDim, dim);
    const ht = encodeAll(encoder, targetFeatures, featureDim, dim);
    const w1 = subsampledWasserstein1(hs, ht, dim, options.diagnosticPoints, w1Seed);
    return {
      w1: w1.distance,
      points: { source: w1.pointsA, target: w1.pointsB },
      task: meanSquaredError(hs, sourceTargets, dim),
    };
  };

  try {
    const before = diagnose();
    const started = performance.now();
    const batches = createRandom(options.seed + 4);
    const m = options.batchSize;
    for (let it = 0; it < options.iterations; it++) {
      const s = sampleIndices(batches, nSource, m);
      const t = sampleIndices(batches, nTarget, m);
      tf.tidy(() => {
        trainer.iteration(
          tf.tensor2d(gatherRows(sourceFeatures, featureDim, s), [m, featureDim]),
          tf.tensor2d(gatherRows(sourceTargets, dim, s), [m, dim]),
          tf.tensor2d(gatherRows(targetFeatures, featureDim, t), [m, featureDim]),
        );
      });
    }
    const trainingMs = performance.now() - started;

    const sourceEmbeddings = encodeAll(encoder, sourceFeatures, featureDim, dim);
    const targetEmbeddings = encodeAll(encoder, targetFeatures, featureDim, dim);
    const after = diagnose();
    const criticEstimate =
      options.lambda > 0
        ? tf.tidy(
            () =>
              criticGap(
                (h) => critic.apply(h),
                tf.tensor2d(sourceEmbeddings, [nSource, dim]),
                tf.tensor2d(targetEmbeddings, [nTarget, dim]),
              ).dataSync()[0],
          )
        : NaN;
    return {
      targetEmbeddings,
      sourceEmbeddings,
      encoder: {
        inputSize: featureDim,
        outputSize: dim,
        layers: mlp.toPlainLayers(),
        outputProjection: 'unit-ball',
      },
      diagnostics: {
        w1Before: before.w1,
        w1After: after.w1,
        w1Points: after.points,
        criticEstimate,
        taskErrorBefore: before.task,
        taskErrorAfter: after.task,
        iterations: options.iterations,
        trainingMs,
      },
    };
  } finally {
    trainer.dispose();
    mlp.dispose();
    critic.dispose();
  }
}
