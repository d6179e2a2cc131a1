import { tf } from '../util/tensorflow.js';
import { InputError } from '../errors.js';
import { createRandom, fillWith } from './random.js';

export type Activation = 'relu' | 'linear';

/**
 * One dense layer as plain arrays, the exchange format for export (e.g. to ONNX):
 * `y = activation(x W + b)` with `weight` row-major [inputSize x outputSize].
 */
export interface PlainDenseLayer {
  inputSize: number;
  outputSize: number;
  weight: Float32Array;
  bias: Float32Array;
  activation: Activation;
}

export interface MlpSpec {
  inputSize: number;
  hiddenSizes: readonly number[];
  outputSize: number;
  /** Activation of every hidden layer (default relu); the last layer is linear. */
  hiddenActivation?: Activation;
  /** Seed of the initial weights (biases start at 0). */
  seed: number;
  /**
   * Initial weights are U(-limit, limit); default Glorot/Xavier, limit = sqrt(6 / (in + out)).
   * A clipped WGAN critic starts with a limit below its clipping bound c.
   */
  initLimit?: number;
}

interface DenseLayer {
  weight: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1>;
  activation: Activation;
}

/** A multilayer perceptron on tfjs variables, seeded, with plain-array export. */
export class Mlp {
  readonly inputSize: number;
  readonly outputSize: number;
  private readonly layers: DenseLayer[];
  private readonly dropoutSeed: number;
  /** Dropout masks drawn so far: each draw gets its own seed, so runs are reproducible. */
  private dropoutDraws = 0;

  constructor(spec: MlpSpec) {
    const sizes = [spec.inputSize, ...spec.hiddenSizes, spec.outputSize];
    for (const size of sizes) {
      if (!Number.isInteger(size) || size < 1) {
        throw new InputError(
          'ALIGNMENT_BAD_SHAPE',
          `Mlp: layer sizes must be positive integers, got [${sizes.join(', ')}]`,
        );
      }
    }
    const random = createRandom(spec.seed);
    this.dropoutSeed = spec.seed * 7919;
    this.inputSize = spec.inputSize;
    this.outputSize = spec.outputSize;
    this.layers = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const fanIn = sizes[l];
      const fanOut = sizes[l + 1];
      const limit = spec.initLimit ?? Math.sqrt(6 / (fanIn + fanOut));
      const weight = fillWith(fanIn * fanOut, () => random.uniform(-limit, limit));
      this.layers.push({
        weight: tf.variable(tf.tensor2d(weight, [fanIn, fanOut])),
        bias: tf.variable(tf.zeros([fanOut])),
        activation: l + 2 < sizes.length ? (spec.hiddenActivation ?? 'relu') : 'linear',
      });
    }
  }

  /**
   * Forward pass on a batch [n x inputSize] -> [n x outputSize]. Not tidied: call in tidy.
   * `dropoutRate` > 0 (training only) drops hidden activations with that probability and
   * rescales the rest (inverted dropout), so inference needs no correction.
   */
  apply(x: tf.Tensor2D, dropoutRate = 0): tf.Tensor2D {
    let h = x;
    this.layers.forEach((layer, index) => {
      const z = tf.add(tf.matMul(h, layer.weight), layer.bias) as tf.Tensor2D;
      h = layer.activation === 'relu' ? tf.relu(z) : z;
      const hidden = index + 1 < this.layers.length;
      if (hidden && dropoutRate > 0) {
        h = tf.dropout(
          h,
          dropoutRate,
          undefined,
          this.dropoutSeed + this.dropoutDraws++,
        ) as tf.Tensor2D;
      }
    });
    return h;
  }

  /** Every weight and bias, in layer order. */
  get variables(): tf.Variable[] {
    return this.layers.flatMap((layer) => [layer.weight, layer.bias]);
  }

  /** Clamps every parameter to [-c, c] in place (WGAN weight clipping, CML-NOTES section 3). */
  clipWeights(c: number): void {
    tf.tidy(() => {
      for (const variable of this.variables) variable.assign(tf.clipByValue(variable, -c, c));
    });
  }

  /** Copies of the parameters as plain arrays. */
  toPlainLayers(): PlainDenseLayer[] {
    return this.layers.map((layer) => ({
      inputSize: layer.weight.shape[0],
      outputSize: layer.weight.shape[1],
      weight: Float32Array.from(layer.weight.dataSync()),
      bias: Float32Array.from(layer.bias.dataSync()),
      activation: layer.activation,
    }));
  }

  dispose(): void {
    for (const variable of this.variables) variable.dispose();
  }
}

/**
 * Reference forward pass over plain layers (no tfjs), row-major [n x inputSize] in,
 * [n x outputSize] out. Used to check an export against the trained model.
 */
export function applyPlainLayers(
  layers: readonly PlainDenseLayer[],
  x: Float32Array,
): Float32Array {
  let input = x;
  for (const layer of layers) {
    const n = input.length / layer.inputSize;
    const out = new Float32Array(n * layer.outputSize);
    for (let r = 0; r < n; r++) {
      for (let o = 0; o < layer.outputSize; o++) {
        let sum = layer.bias[o];
        for (let i = 0; i < layer.inputSize; i++) {
          sum += input[r * layer.inputSize + i] * layer.weight[i * layer.outputSize + o];
        }
        out[r * layer.outputSize + o] = layer.activation === 'relu' ? Math.max(0, sum) : sum;
      }
    }
    input = out;
  }
  return input;
}

/** Added under the square root of a norm so its gradient stays finite at 0. */
export const NORM_EPSILON = 1e-12;

/**
 * Projects each row into the closed unit ball, y -> y * min(1, 1 / ||y||) (CML-NOTES section 6,
 * the constraint on item vectors). Written as y / max(1, ||y||), which is differentiable
 * almost everywhere and never divides by 0.
 */
export function projectToUnitBall(y: tf.Tensor2D): tf.Tensor2D {
  const norms = tf.sqrt(tf.add(tf.sum(tf.square(y), 1, true), NORM_EPSILON));
  return tf.div(y, tf.maximum(norms, 1));
}

/** The same projection on a row-major Float32Array with `dim` columns, in place. */
export function projectRowsToUnitBall(y: Float32Array, dim: number): Float32Array {
  for (let r = 0; r < y.length / dim; r++) {
    let sum = 0;
    for (let k = 0; k < dim; k++) sum += y[r * dim + k] ** 2;
    const norm = Math.sqrt(sum);
    if (norm > 1) for (let k = 0; k < dim; k++) y[r * dim + k] /= norm;
  }
  return y;
}
