/**
 * Seeded fixtures for the ONNX tests and the export benchmark. Not for production use: the
 * generator is small and fast (mulberry32), not statistically strong.
 */
import type { DenseLayer, EncoderSpec } from './encoder-model.js';

/** Uniform floats in [0, 1) from a 32-bit seed; the same seed gives the same sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
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
