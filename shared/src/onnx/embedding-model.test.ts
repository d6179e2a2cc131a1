import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AppError } from '../errors.js';
import { buildEmbeddingModel, type EmbeddingTables } from './embedding-model.js';
import { readModelInfo } from './metadata.js';
import { IR_VERSION, OPSET_VERSION } from './proto.js';
import { loadEmbeddingModel, type EmbeddingModel } from './session.js';
import { randomFloats, seededRandom } from './testing.js';
import { verifyEmbeddingModel } from './verify.js';

const sessionOptions = { intraOpNumThreads: 1 };

function randomTables(seed: number, numUsers: number, numItems: number, dim: number) {
  const random = seededRandom(seed);
  return {
    users: randomFloats(random, numUsers * dim),
    numUsers,
    items: randomFloats(random, numItems * dim),
    numItems,
    dim,
    metadata: { modelVersion: 'v42', props: { trained_at: '2026-12-04T00:00:00Z' } },
  } satisfies EmbeddingTables;
}

function hasCode(code: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  };
}

describe('onnx > embedding model > export and lookup', () => {
  const tables = randomTables(7, 1_537, 2_203, 24);
  let bytes: Uint8Array;
  let model: EmbeddingModel;
  before(async () => {
    bytes = buildEmbeddingModel(tables);
    model = await loadEmbeddingModel(bytes, { sessionOptions });
  });
  after(async () => {
    await model.release();
  });

  it('reproduces every user and item row exactly', async () => {
    // Batches smaller than the tables so that batch boundaries are crossed.
    const report = await verifyEmbeddingModel(model, tables, { batchSize: 500 });
    assert.deepEqual(report.users, { rows: 1_537, maxAbsDiff: 0, tolerance: 1e-6 });
    assert.deepEqual(report.items, { rows: 2_203, maxAbsDiff: 0, tolerance: 1e-6 });
  });

  it('returns rows in the order of the indices asked for, repeats included', async () => {
    const indices = [2_202, 0, 17, 17, 1_000];
    const output = await model.embedItems(indices);
    assert.equal(output.length, indices.length * tables.dim);
    indices.forEach((index, position) => {
      const expected = tables.items.subarray(index * tables.dim, (index + 1) * tables.dim);
      const found = output.subarray(position * tables.dim, (position + 1) * tables.dim);
      assert.deepEqual(found, expected, `row ${position} (item ${index})`);
    });
    const fromBigInts = await model.embedUsers(BigInt64Array.from([1_536n, 3n]));
    assert.deepEqual(fromBigInts.subarray(0, tables.dim), tables.users.subarray(1_536 * 24));
  });

  it('returns an empty array for an empty index list', async () => {
    assert.equal((await model.embedUsers([])).length, 0);
  });

  it('refuses indices out of range, negative or fractional before running the model', async () => {
    await assert.rejects(
      model.embedUsers([0, 1_537]),
      hasCode(
        'ONNX_INPUT_INVALID',
        /^user index 1537 at position 1 is not an integer in \[0, 1537\)$/,
      ),
    );
    await assert.rejects(model.embedItems([-1]), hasCode('ONNX_INPUT_INVALID'));
    await assert.rejects(model.embedItems([0.5]), hasCode('ONNX_INPUT_INVALID'));
    await assert.rejects(
      model.embedItems(BigInt64Array.from([2_203n])),
      hasCode('ONNX_INPUT_INVALID'),
    );
  });

  it('writes IR 8, opset 17 and the sizes and version as metadata_props', () => {
    const info = readModelInfo(bytes);
    assert.equal(info.irVersion, IR_VERSION);
    assert.equal(info.opsetVersion, OPSET_VERSION);
    assert.equal(info.producerName, 'cml-rec');
    assert.deepEqual(info.metadata, {
      trained_at: '2026-12-04T00:00:00Z',
      kind: 'embedding',
      format_version: '1',
      model_version: 'v42',
      dim: '24',
      num_users: '1537',
      num_items: '2203',
    });
    assert.equal(model.modelVersion, 'v42');
    assert.deepEqual([model.dim, model.numUsers, model.numItems], [24, 1_537, 2_203]);
  });

  it('makes verification fail when the model and the tables differ', async () => {
    const altered = { ...tables, items: tables.items.slice() };
    altered.items[5 * 24 + 3] += 1e-3;
    await assert.rejects(
      verifyEmbeddingModel(model, altered),
      hasCode('ONNX_VERIFICATION_FAILED', /items\[5\]\[3\]/),
    );
  });
});

describe('onnx > embedding model > export validation', () => {
  it('refuses a table whose length is not count x dim', () => {
    const tables = { ...randomTables(1, 4, 3, 2), numItems: 4 };
    assert.throws(
      () => buildEmbeddingModel(tables),
      hasCode('ONNX_EXPORT_INVALID', /items has 6 values; expected numItems x dim = 4 x 2 = 8$/),
    );
  });

  it('refuses NaN and infinite values, naming the row', () => {
    const tables = randomTables(1, 4, 3, 2);
    tables.users[5] = NaN;
    tables.items[0] = -Infinity;
    assert.throws(
      () => buildEmbeddingModel(tables),
      hasCode(
        'ONNX_EXPORT_INVALID',
        /users\[5\] \(row 2\) is NaN.*items\[0\] \(row 0\) is -Infinity/,
      ),
    );
  });

  it('refuses metadata that is missing a version or overrides a reserved key', () => {
    const tables = randomTables(1, 2, 2, 2);
    assert.throws(
      () => buildEmbeddingModel({ ...tables, metadata: { modelVersion: '' } }),
      hasCode('ONNX_EXPORT_INVALID', /modelVersion/),
    );
    assert.throws(
      () =>
        buildEmbeddingModel({ ...tables, metadata: { modelVersion: 'v1', props: { dim: '3' } } }),
      hasCode('ONNX_EXPORT_INVALID', /reserved keys: dim/),
    );
  });
});
