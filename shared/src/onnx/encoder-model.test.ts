import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../errors.js';
import { encodeWithTfjs, verifyEncoderModel } from './encoder-reference.js';
import { buildEncoderModel, type EncoderSpec } from './encoder-model.js';
import { readModelInfo } from './metadata.js';
import { compareArrays } from './verify.js';
import { loadEncoderModel, type EncoderModel } from './session.js';
import { randomEncoder, randomFloats, seededRandom } from './testing.js';

const sessionOptions = { intraOpNumThreads: 1 };

function rowNorms(values: Float32Array, dim: number): number[] {
  const norms: number[] = [];
  for (let row = 0; row < values.length / dim; row += 1) {
    norms.push(Math.hypot(...values.subarray(row * dim, (row + 1) * dim)));
  }
  return norms;
}

function hasCode(code: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  };
}

describe('onnx > encoder model > forward pass', () => {
  const random = seededRandom(11);
  const encoder = randomEncoder(random, [12, 32, 16, 8]);
  let model: EncoderModel;
  before(async () => {
    model = await loadEncoderModel(buildEncoderModel(encoder), { sessionOptions });
  });
  after(async () => {
    await model.release();
  });

  it('matches a tfjs forward pass of the same weights within 1e-5', async () => {
    // Small inputs give rows inside the ball, large ones rows that the projection must shrink.
    for (const scale of [0.05, 1, 20]) {
      const features = randomFloats(random, 257 * 12, scale);
      const report = await verifyEncoderModel(model, encoder, features);
      assert.equal(report.rows, 257);
      assert.ok(report.maxAbsDiff <= 1e-5, `scale ${scale}: max diff ${report.maxAbsDiff}`);
    }
  });

  it('projects every row into the unit ball and leaves rows inside it unchanged', async () => {
    const features = randomFloats(random, 200 * 12, 20);
    const output = await model.encodeFeatures(features);
    const norms = rowNorms(output, 8);
    assert.ok(
      norms.every((norm) => norm <= 1 + 1e-6),
      `max norm ${Math.max(...norms)}`,
    );
    assert.ok(
      norms.some((norm) => Math.abs(norm - 1) < 1e-6),
      'some rows were projected',
    );

    // With tiny weights the last layer's output stays well inside the ball: no scaling at all.
    const tiny: EncoderSpec = {
      ...encoder,
      layers: encoder.layers.map((layer) => ({
        ...layer,
        weight: layer.weight.map((w) => w * 1e-3),
      })),
    };
    const tinyModel = await loadEncoderModel(buildEncoderModel(tiny), { sessionOptions });
    try {
      const inside = await tinyModel.encodeFeatures(features.subarray(0, 12));
      const unprojected = encodeWithTfjs(tiny, features.subarray(0, 12));
      assert.ok(rowNorms(inside, 8)[0] < 0.5);
      assert.equal(compareArrays(inside, unprojected, 1e-7).firstBad, -1);
    } finally {
      await tinyModel.release();
    }
  });

  it('maps an all-zero output row to zeros, not NaN', async () => {
    const zero: EncoderSpec = {
      layers: [
        {
          weight: new Float32Array(3 * 2),
          bias: new Float32Array(2),
          inputSize: 3,
          outputSize: 2,
          activation: 'linear',
        },
      ],
      metadata: { modelVersion: 'zero' },
    };
    const zeroModel = await loadEncoderModel(buildEncoderModel(zero), { sessionOptions });
    try {
      assert.deepEqual(
        await zeroModel.encodeFeatures(new Float32Array([1, 2, 3])),
        new Float32Array(2),
      );
    } finally {
      await zeroModel.release();
    }
  });

  it('refuses features that are not a whole number of rows', async () => {
    await assert.rejects(
      model.encodeFeatures(new Float32Array(13)),
      hasCode(
        'ONNX_INPUT_INVALID',
        /^features must be a Float32Array of N x 12 values \(row-major\), got 13 values$/,
      ),
    );
    assert.equal((await model.encodeFeatures(new Float32Array(0))).length, 0);
  });

  it('records the sizes and the version in metadata_props', () => {
    const info = readModelInfo(buildEncoderModel(encoder));
    assert.deepEqual(
      [info.metadata.kind, info.metadata.input_size, info.metadata.dim, info.metadata.num_layers],
      ['encoder', '12', '8', '3'],
    );
    assert.deepEqual([model.inputSize, model.dim, model.modelVersion], [12, 8, 'test']);
  });
});

describe('onnx > encoder model > export validation', () => {
  it('refuses layers whose sizes do not chain', () => {
    const encoder = randomEncoder(seededRandom(3), [4, 6, 2]);
    const broken = {
      ...encoder,
      layers: [encoder.layers[0], { ...encoder.layers[1], inputSize: 5 }],
    };
    assert.throws(
      () => buildEncoderModel(broken),
      hasCode(
        'ONNX_EXPORT_INVALID',
        /layers\[1\]\.inputSize is 5 but layers\[0\]\.outputSize is 6/,
      ),
    );
  });

  it('refuses an empty layer list and a bias of the wrong length', () => {
    const encoder = randomEncoder(seededRandom(3), [4, 2]);
    assert.throws(
      () => buildEncoderModel({ ...encoder, layers: [] }),
      hasCode('ONNX_EXPORT_INVALID', /at least one layer/),
    );
    const shortBias = { ...encoder.layers[0], bias: new Float32Array(1) };
    assert.throws(
      () => buildEncoderModel({ ...encoder, layers: [shortBias] }),
      hasCode('ONNX_EXPORT_INVALID', /layers\[0\]\.bias must be a Float32Array of outputSize = 2/),
    );
  });
});
