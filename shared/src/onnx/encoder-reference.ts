import { tf } from '../util/tensorflow.js';
import type { EncoderSpec } from './encoder-model.js';
import { onnxError, OnnxErrorCode } from './errors.js';
import type { EncoderModel } from './session.js';
import { compareArrays, type VerificationReport } from './verify.js';

/**
 * The encoder's forward pass in tfjs, independent of the ONNX graph: for each layer
 * `y = act(y W + b)`, then `y · min(1, 1/||y||_2)` per row (written literally, unlike the ONNX
 * `y / max(||y||, 1)`, so the two paths check each other). `features` is row-major float32
 * `[N, F]`; the result is float32 `[N, dim]`.
 */
export function encodeWithTfjs(encoder: EncoderSpec, features: Float32Array): Float32Array {
  const inputSize = encoder.layers[0].inputSize;
  const rows = features.length / inputSize;
  return tf.tidy(() => {
    let y: tf.Tensor2D = tf.tensor2d(features, [rows, inputSize]);
    for (const layer of encoder.layers) {
      const weight = tf.tensor2d(layer.weight, [layer.inputSize, layer.outputSize]);
      y = tf.add(tf.matMul(y, weight), tf.tensor1d(layer.bias));
      if (layer.activation === 'relu') y = tf.relu(y);
    }
    // 1 / 0 is +Infinity and min(1, +Infinity) = 1, so a zero row stays zero here too.
    const norm = tf.norm(y, 'euclidean', 1, true);
    const scale = tf.minimum(tf.scalar(1), tf.div(tf.scalar(1), norm));
    return tf.mul(y, scale).dataSync() as Float32Array;
  });
}

/**
 * Encodes `features` (row-major float32 `[N, F]`) with the loaded model and with
 * `encodeWithTfjs(encoder, ...)`, and compares them. Throws ONNX_VERIFICATION_FAILED when a value
 * differs by more than `tolerance` (default 1e-5, room for the different summation orders of the
 * two matrix multiplications).
 */
export async function verifyEncoderModel(
  model: EncoderModel,
  encoder: EncoderSpec,
  features: Float32Array,
  tolerance = 1e-5,
): Promise<VerificationReport> {
  const found = await model.encodeFeatures(features);
  const expected = encodeWithTfjs(encoder, features);
  const { maxAbsDiff, firstBad } = compareArrays(found, expected, tolerance);
  if (firstBad >= 0) {
    const row = Math.floor(firstBad / model.dim);
    throw onnxError(
      OnnxErrorCode.verificationFailed,
      `encoder model output row ${row} column ${firstBad % model.dim} is ${found[firstBad]} but ` +
        `tfjs computes ${expected[firstBad]} (tolerance ${tolerance})`,
      { details: { row, maxAbsDiff, tolerance } },
    );
  }
  return { rows: features.length / model.inputSize, maxAbsDiff, tolerance };
}
