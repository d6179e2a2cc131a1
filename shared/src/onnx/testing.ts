/**
 * Seeded fixtures for the ONNX tests and the export benchmark (not for production use).
 */
import type { DenseLayer, EncoderSpec } from './encoder-model.js';
import { Random } from '../util/random.js';

/** Uniform floats in [0, 1) from a seed: the project's seeded generator as a function. */
export function seededRandom(seed: number): () => number {
  const random = new Random(seed);
  return () => random.float();
}

/** `length` floats uniform in [-scale, scale). */
export function randomFloats(random: () => number, length: number, scale = 1): Float32Array {
  const values = new Float32Array(length);
  for (let i = 0; i < length; i += 1) values[i] = (random() * 2 - 1) * scale;
  return values;
}

/**
 * An encoder with the given layer sizes (`sizes[0]` features, `sizes[last]` dimensions), relu on
 * every layer but the last, Glorot-uniform weights and small biases.
 */
export function randomEncoder(random: () => number, sizes: readonly number[]): EncoderSpec {
  const layers: DenseLayer[] = [];
  for (let i = 1; i < sizes.length; i += 1) {
    const inputSize = sizes[i - 1];
    const outputSize = sizes[i];
    const limit = Math.sqrt(6 / (inputSize + outputSize));
    layers.push({
      weight: randomFloats(random, inputSize * outputSize, limit),
      bias: randomFloats(random, outputSize, 0.1),
      inputSize,
      outputSize,
      activation: i === sizes.length - 1 ? 'linear' : 'relu',
    });
  }
  return { layers, metadata: { modelVersion: 'test' } };
}
