import { tf } from '../util/tensorflow.js';
import { criticGap, gradientPenalty } from './gradient-penalty.js';
import type { Mlp } from './mlp.js';
import { createRandom, fillWith, type Random } from './random.js';

/**
 * WDGRL, Wasserstein Distance Guided Representation Learning (CML-NOTES section 5):
 *
 *   min_{θ_g, θ_c}  L_c + λ max_{θ_w} [ L_wd - γ L_grad ]
 *   L_wd   = mean_s f_w(f_g(x^s)) - mean_t f_w(f_g(x^t))
 *   L_grad = E_ĥ[(||∇_ĥ f_w(ĥ)||_2 - 1)^2],  ĥ = ε h^s + (1 - ε) h^t,  ε ~ U[0, 1]
 *
 * One `iteration` follows the alternating scheme of the WDGRL paper: with the extractor fixed,
 * `criticSteps` Adam steps of gradient ascent on L_wd - γ L_grad for θ_w; then one Adam step of
 * descent on L_c + λ L_wd for θ_g (and any task-head variables θ_c). The gradient penalty is
 * only in the critic's objective; the extractor sees the critic's current distance estimate.
 * With λ = 0 the critic is skipped and this is plain source-only training: the same
 * minibatches are drawn either way (the ε draws use their own random stream), so λ = 0 is the
 * unaligned baseline of the same run.
 */
export interface WdgrlOptions {
  /** Weight λ of the domain distance in the extractor's objective (default 1). */
  lambda: number;
  /** Weight γ of the gradient penalty in the critic's objective (default 10). */
  gamma: number;
  /** Critic steps per extractor step (default 5). */
  criticSteps: number;
  /** Adam learning rate of the critic, α1 (default 1e-3). */
  criticLearningRate: number;
  /** Adam learning rate of the extractor and task head, α2 (default 1e-3). */
  extractorLearningRate: number;
  /** Seed of the interpolation draws (default 0). */
  seed: number;
}

export const WDGRL_DEFAULTS: WdgrlOptions = {
  lambda: 1,
  gamma: 10,
  criticSteps: 5,
  criticLearningRate: 1e-3,
  extractorLearningRate: 1e-3,
  seed: 0,
};

export interface WdgrlParts {
  /** f_g: features [n x featureDim] -> representations [n x dim]. */
  extractor: (x: tf.Tensor2D) => tf.Tensor2D;
  extractorVariables: tf.Variable[];
  /** f_w: representations [n x dim] -> scores [n x 1]. */
  critic: Mlp;
  /** L_c on a source minibatch: representations and the batch's targets -> scalar. */
  taskLoss: (sourceRepresentations: tf.Tensor2D, sourceTargets: tf.Tensor2D) => tf.Scalar;
  /** θ_c, trained with the extractor (may be empty when the task has no parameters). */
  taskVariables?: tf.Variable[];
}

export interface WdgrlStepStats {
  /** L_c on the minibatch before the extractor step. */
  taskLoss: number;
  /** L_wd on the minibatch after the critic steps (NaN when λ = 0). */
  wassersteinEstimate: number;
  /** L_grad at the last critic step (NaN when λ = 0). */
  penalty: number;
}

export class WdgrlTrainer {
  readonly options: WdgrlOptions;
  private readonly criticOptimizer: tf.Optimizer;
  private readonly extractorOptimizer: tf.Optimizer;
  private readonly random: Random;

  constructor(
    private readonly parts: WdgrlParts,
    options: Partial<WdgrlOptions> = {},
  ) {
    this.options = { ...WDGRL_DEFAULTS, ...options };
    this.criticOptimizer = tf.train.adam(this.options.criticLearningRate, 0.5, 0.9);
    this.extractorOptimizer = tf.train.adam(this.options.extractorLearningRate, 0.5, 0.9);
    this.random = createRandom(this.options.seed);
  }

  /**
   * One WDGRL iteration on a source minibatch (features and targets) and a target minibatch of
   * the same size.
   */
  iteration(sourceX: tf.Tensor2D, sourceY: tf.Tensor2D, targetX: tf.Tensor2D): WdgrlStepStats {
    const { extractor, critic, taskLoss } = this.parts;
    const { lambda, gamma, criticSteps } = this.options;
    const f = (h: tf.Tensor2D): tf.Tensor2D => critic.apply(h);
    let penalty = NaN;

    if (lambda > 0) {
      // The extractor is fixed during the critic steps: compute h once, outside any tape.
      const [hs, ht] = tf.tidy(() => [extractor(sourceX), extractor(targetX)]);
      const n = Math.min(hs.shape[0], ht.shape[0]);
      for (let k = 0; k < criticSteps; k++) {
        const epsilon = tf.tensor2d(fillWith(n, this.random.next), [n, 1]);
        let keptPenalty: tf.Tensor | undefined;
        // Ascent on L_wd - γ L_grad is descent on γ L_grad - L_wd.
        this.criticOptimizer.minimize(
          () => {
            const wd = criticGap(f, hs, ht);
            const gp = gradientPenalty(f, hs.slice(0, n), ht.slice(0, n), epsilon).penalty;
            keptPenalty = tf.keep(gp);
            return tf.sub(tf.mul(gamma, gp), wd) as tf.Scalar;
          },
          false,
          critic.variables as tf.Variable[],
        );
        penalty = keptPenalty?.dataSync()[0] ?? NaN;
        tf.dispose([epsilon, keptPenalty as tf.Tensor]);
      }
      tf.dispose([hs, ht]);
    }

    let keptTask: tf.Tensor | undefined;
    let keptWd: tf.Tensor | undefined;
    const variables = [...this.parts.extractorVariables, ...(this.parts.taskVariables ?? [])];
    this.extractorOptimizer.minimize(
      () => {
        const hs = extractor(sourceX);
        const task = taskLoss(hs, sourceY);
        // A clone, because the optimizer disposes the returned cost, which may be `task`.
        keptTask = tf.keep(tf.clone(task));
        if (lambda === 0) return task;
        const wd = criticGap(f, hs, extractor(targetX));
        keptWd = tf.keep(wd);
        return tf.add(task, tf.mul(lambda, wd)) as tf.Scalar;
      },
      false,
      variables,
    );
    const stats = {
      taskLoss: keptTask?.dataSync()[0] ?? NaN,
      wassersteinEstimate: keptWd?.dataSync()[0] ?? NaN,
      penalty,
    };
    tf.dispose([keptTask, keptWd].filter((t): t is tf.Tensor => t !== undefined));
    return stats;
  }

  dispose(): void {
    this.criticOptimizer.dispose();
    this.extractorOptimizer.dispose();
  }
}
