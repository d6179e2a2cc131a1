import { tf } from '../util/tensorflow.js';

/**
 * GAN losses of CML-NOTES section 1, computed from discriminator logits l = logit D(x), i.e.
 * D(x) = sigmoid(l).
 *
 * Numerical stability: log D(x) = -softplus(-l) and log(1 - D(x)) = -softplus(l). Working on
 * logits with softplus (log(1 + e^z), evaluated stably by tfjs) avoids forming sigmoid(l) and
 * then taking its log, which underflows to log(0) = -Infinity once |l| exceeds about 17 in
 * float32 - exactly the regime of a near-optimal discriminator that these losses are meant to
 * diagnose. The inputs are [n] or [n x 1] logit tensors; the outputs are scalars (batch means).
 */

/** L_D = -E_{P_r}[log D(x)] - E_{P_g}[log(1 - D(x))] = mean softplus(-l_r) + mean softplus(l_g). */
export function discriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.add(tf.mean(tf.softplus(tf.neg(realLogits))), tf.mean(tf.softplus(fakeLogits))),
  );
}

/**
 * Saturating (minimax) generator loss L_G = E_{P_g}[log(1 - D(x))] = -mean softplus(l_g).
 * Its derivative in l_g is -sigmoid(l_g), which vanishes as D learns to reject fakes.
 */
export function saturatingGeneratorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.softplus(fakeLogits))) as tf.Scalar);
}

/**
 * Non-saturating generator loss L_G = E_{P_g}[-log D(x)] = mean softplus(-l_g).
 * Its derivative in l_g is -sigmoid(-l_g), which tends to -1 as D learns to reject fakes.
 */
export function nonSaturatingGeneratorLoss(fakeLogits: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.softplus(tf.neg(fakeLogits))));
}
