import { tf } from '../util/tensorflow.js';
import { NORM_EPSILON } from './mlp.js';

/** A critic maps a batch [n x d] to scores [n x 1]; each score depends on its own row only. */
export type CriticFn = (x: tf.Tensor2D) => tf.Tensor2D;

export interface GradientPenalty {
  /** λ-free penalty E[(||∇_x̂ f(x̂)||_2 - 1)^2] (scalar). */
  penalty: tf.Scalar;
  /** ||∇_x̂ f(x̂)||_2 for each interpolate [n]. */
  gradNorms: tf.Tensor1D;
}

/**
 * Interpolates x̂ = ε x_r + (1 - ε) x_g row by row, ε given as [n x 1] (CML-NOTES section 4).
 */
export function interpolate(
  real: tf.Tensor2D,
  fake: tf.Tensor2D,
  epsilon: tf.Tensor2D,
): tf.Tensor2D {
  return tf.add(tf.mul(epsilon, real), tf.mul(tf.sub(1, epsilon), fake));
}

/**
 * Gradient penalty of WGAN-GP and WDGRL (CML-NOTES sections 4 and 5):
 * `E_x̂[(||∇_x̂ f(x̂)||_2 - 1)^2]` on the interpolates x̂ between matched rows of `real` and
 * `fake`.
 *
 * Because each score depends only on its own row, the gradient of Σ_i f(x̂_i) with respect to
 * x̂ holds every per-sample gradient at once. When this is called inside a function
 * differentiated with respect to the critic's weights (optimizer.minimize / variableGrads),
 * tfjs records the inner `tf.grad` on the outer tape, so the penalty is differentiated twice
 * (double backpropagation); the tests check it against the analytic gradient of a linear
 * critic. The norm uses sqrt(|g|^2 + 1e-12) so that its derivative stays finite at g = 0.
 *
 * Not tidied: call inside tf.tidy or a minimize callback.
 */
export function gradientPenalty(
  critic: CriticFn,
  real: tf.Tensor2D,
  fake: tf.Tensor2D,
  epsilon: tf.Tensor2D,
): GradientPenalty {
  const xHat = interpolate(real, fake, epsilon);
  const gradient = tf.grad((x: tf.Tensor) => tf.sum(critic(x as tf.Tensor2D)))(xHat);
  const gradNorms = tf.sqrt(tf.add(tf.sum(tf.square(gradient), 1), NORM_EPSILON)) as tf.Tensor1D;
  const penalty = tf.mean(tf.square(tf.sub(gradNorms, 1))) as tf.Scalar;
  return { penalty, gradNorms };
}

/** Critic estimate of W1 (CML-NOTES section 2, dual form): mean f(x_r) - mean f(x_g). */
export function criticGap(critic: CriticFn, real: tf.Tensor2D, fake: tf.Tensor2D): tf.Scalar {
  return tf.sub(tf.mean(critic(real)), tf.mean(critic(fake))) as tf.Scalar;
}
