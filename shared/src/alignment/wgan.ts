import { tf } from '../util/tensorflow.js';
import { criticGap } from './gradient-penalty.js';
import type { Mlp } from './mlp.js';
import { createRandom, gatherRows, sampleIndices, type Random } from './random.js';

/**
 * WGAN with weight clipping (CML-NOTES section 3).
 *
 * Critic loss  L_f = E_{P_g}[f_w(x)] - E_{P_r}[f_w(x)]  (minimised, i.e. the critic maximises
 * the gap mean f(real) - mean f(fake)); generator loss L_G = -E_{P_g}[f_w(x)]. After every
 * critic update each parameter is clamped to [-c, c], which keeps f_w K-Lipschitz for some K
 * that depends on c and the architecture, so the gap estimates K * W1 rather than W1.
 */
export interface WganOptions {
  /** RMSProp learning rate α (default 5e-5). */
  learningRate: number;
  /** Clipping bound c (default 0.01). */
  clip: number;
  /** Minibatch size m (default 64). */
  batchSize: number;
  /** Critic updates per generator update, n_critic (default 5). */
  nCritic: number;
  /** RMSProp decay of the squared-gradient average (default 0.99, as in the reference code). */
  rmsDecay: number;
  /** Seed of the minibatch draws (default 0). */
  seed: number;
}

export const WGAN_DEFAULTS: WganOptions = {
  learningRate: 5e-5,
  clip: 0.01,
  batchSize: 64,
  nCritic: 5,
  rmsDecay: 0.99,
  seed: 0,
};

/** L_f = mean f(fake) - mean f(real). Not tidied. */
export function wganCriticLoss(realScores: tf.Tensor, fakeScores: tf.Tensor): tf.Scalar {
  return tf.sub(tf.mean(fakeScores), tf.mean(realScores)) as tf.Scalar;
}

/** L_G = -mean f(fake). Not tidied. */
export function wganGeneratorLoss(fakeScores: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(fakeScores)) as tf.Scalar;
}

/** A weight-clipped critic trained with RMSProp. */
export class WganCritic {
  readonly options: WganOptions;
  private readonly optimizer: tf.Optimizer;
  private readonly random: Random;

  constructor(
    readonly critic: Mlp,
    options: Partial<WganOptions> = {},
  ) {
    this.options = { ...WGAN_DEFAULTS, ...options };
    this.optimizer = tf.train.rmsprop(this.options.learningRate, this.options.rmsDecay);
    this.random = createRandom(this.options.seed);
    // Start inside the feasible set, as the reference implementation does after its first step.
    critic.clipWeights(this.options.clip);
  }

  /** One RMSProp step on L_f for a minibatch pair, then clipping; returns L_f before the step. */
  step(real: tf.Tensor2D, fake: tf.Tensor2D): number {
    const loss = this.optimizer.minimize(
      () => wganCriticLoss(this.critic.apply(real), this.critic.apply(fake)),
      true,
      this.critic.variables as tf.Variable[],
    );
    this.critic.clipWeights(this.options.clip);
    const value = loss === null ? NaN : loss.dataSync()[0];
    loss?.dispose();
    return value;
  }

  /**
   * n_critic steps, each on fresh minibatches of m rows drawn (with replacement) from the
   * row-major point sets; the generator's update between rounds is the caller's.
   */
  trainRound(real: Float32Array, fake: Float32Array, dim: number): number {
    let last = NaN;
    for (let k = 0; k < this.options.nCritic; k++) {
      const m = this.options.batchSize;
      const realBatch = gatherRows(real, dim, sampleIndices(this.random, real.length / dim, m));
      const fakeBatch = gatherRows(fake, dim, sampleIndices(this.random, fake.length / dim, m));
      const r = tf.tensor2d(realBatch, [m, dim]);
      const f = tf.tensor2d(fakeBatch, [m, dim]);
      last = this.step(r, f);
      r.dispose();
      f.dispose();
    }
    return last;
  }

  /** mean f(real) - mean f(fake) over whole point sets. */
  gap(real: Float32Array, fake: Float32Array, dim: number): number {
    return tf.tidy(
      () =>
        criticGap(
          (x) => this.critic.apply(x),
          tf.tensor2d(real, [real.length / dim, dim]),
          tf.tensor2d(fake, [fake.length / dim, dim]),
        ).dataSync()[0],
    );
  }

  /**
   * Share of the weights (matrix entries, biases excluded) sitting at ±c within a relative
   * 1e-3: the pile-up of CML-NOTES section 3.
   */
  fractionAtClip(): number {
    const c = this.options.clip;
    let atBound = 0;
    let total = 0;
    for (const layer of this.critic.toPlainLayers()) {
      for (const w of layer.weight) if (Math.abs(w) >= c * (1 - 1e-3)) atBound++;
      total += layer.weight.length;
    }
    return atBound / total;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
