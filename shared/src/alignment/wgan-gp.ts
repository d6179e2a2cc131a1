import { tf } from '../util/tensorflow.js';
import { criticGap, gradientPenalty } from './gradient-penalty.js';
import type { Mlp } from './mlp.js';
import { createRandom, fillWith, gatherRows, sampleIndices, type Random } from './random.js';

/**
 * WGAN-GP critic (CML-NOTES section 4):
 *
 *   L_f = E_{P_g}[f(x)] - E_{P_r}[f(x)] + λ E_x̂[(||∇_x̂ f(x̂)||_2 - 1)^2]
 *
 * with x̂ = ε x_r + (1 - ε) x_g, ε ~ U[0, 1] per sample. Optimiser: Adam with the settings of
 * the WGAN-GP paper (α = 1e-4, β1 = 0, β2 = 0.9) unless overridden.
 */
export interface WganGpOptions {
  /** Penalty weight λ (default 10). */
  lambda: number;
  /** Adam learning rate (default 1e-4). */
  learningRate: number;
  beta1: number;
  beta2: number;
  /** Minibatch size m (default 64). */
  batchSize: number;
  /** Critic updates per generator update (default 5). */
  nCritic: number;
  /** Seed of the minibatch and ε draws (default 0). */
  seed: number;
}

export const WGAN_GP_DEFAULTS: WganGpOptions = {
  lambda: 10,
  learningRate: 1e-4,
  beta1: 0,
  beta2: 0.9,
  batchSize: 64,
  nCritic: 5,
  seed: 0,
};

export interface CriticStepStats {
  /** The full critic loss L_f before the step. */
  loss: number;
  /** mean f(real) - mean f(fake) on the minibatch. */
  gap: number;
  /** E[(||∇f(x̂)|| - 1)^2] without λ. */
  penalty: number;
  /** Mean ||∇f(x̂)|| over the interpolates. */
  meanGradNorm: number;
}

/** A gradient-penalised critic over point sets of dimension `dim`. */
export class WganGpCritic {
  readonly options: WganGpOptions;
  private readonly optimizer: tf.Optimizer;
  private readonly random: Random;

  constructor(
    readonly critic: Mlp,
    options: Partial<WganGpOptions> = {},
  ) {
    this.options = { ...WGAN_GP_DEFAULTS, ...options };
    const { learningRate, beta1, beta2 } = this.options;
    this.optimizer = tf.train.adam(learningRate, beta1, beta2);
    this.random = createRandom(this.options.seed);
  }

  /** One Adam step on L_f for a minibatch pair of equal size. */
  step(real: tf.Tensor2D, fake: tf.Tensor2D): CriticStepStats {
    const n = real.shape[0];
    const epsilon = tf.tensor2d(fillWith(n, this.random.next), [n, 1]);
    const f = (x: tf.Tensor2D): tf.Tensor2D => this.critic.apply(x);
    let kept: tf.Tensor[] = [];
    const loss = this.optimizer.minimize(
      () => {
        const gap = criticGap(f, real, fake);
        const { penalty, gradNorms } = gradientPenalty(f, real, fake, epsilon);
        kept = [tf.keep(gap), tf.keep(penalty), tf.keep(tf.mean(gradNorms))];
        return tf.add(tf.neg(gap), tf.mul(this.options.lambda, penalty)) as tf.Scalar;
      },
      true,
      this.critic.variables as tf.Variable[],
    );
    const [gap, penalty, meanGradNorm] = kept.map((t) => t.dataSync()[0]);
    const stats = { loss: loss?.dataSync()[0] ?? NaN, gap, penalty, meanGradNorm };
    tf.dispose([...kept, epsilon]);
    loss?.dispose();
    return stats;
  }

  /** n_critic steps on fresh minibatches of m rows drawn with replacement from each set. */
  trainRound(real: Float32Array, fake: Float32Array, dim: number): CriticStepStats {
    let stats: CriticStepStats | undefined;
    for (let k = 0; k < this.options.nCritic; k++) {
      const m = this.options.batchSize;
      const r = tf.tensor2d(
        gatherRows(real, dim, sampleIndices(this.random, real.length / dim, m)),
        [m, dim],
      );
      const f = tf.tensor2d(
        gatherRows(fake, dim, sampleIndices(this.random, fake.length / dim, m)),
        [m, dim],
      );
      stats = this.step(r, f);
      tf.dispose([r, f]);
    }
    return stats as CriticStepStats;
  }

  /** mean f(real) - mean f(fake) over whole point sets: the critic's estimate of W1. */
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
   * Gradient norms ||∇f(x̂)|| at interpolates between random rows of the two sets (drawn with
   * replacement, min of the two sizes), with ε ~ U[0, 1] per pair, all from `seed`.
   */
  gradNormsAtInterpolates(
    real: Float32Array,
    fake: Float32Array,
    dim: number,
    seed: number,
  ): Float32Array {
    const random = createRandom(seed);
    const n = Math.min(real.length, fake.length) / dim;
    return tf.tidy(() => {
      const r = tf.tensor2d(gatherRows(real, dim, sampleIndices(random, real.length / dim, n)), [
        n,
        dim,
      ]);
      const f = tf.tensor2d(gatherRows(fake, dim, sampleIndices(random, fake.length / dim, n)), [
        n,
        dim,
      ]);
      const epsilon = tf.tensor2d(fillWith(n, random.next), [n, 1]);
      const { gradNorms } = gradientPenalty((x) => this.critic.apply(x), r, f, epsilon);
      return gradNorms.dataSync() as Float32Array;
    });
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
