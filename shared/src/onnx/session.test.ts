import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppError } from '../errors.js';
import { buildEmbeddingModel } from './embedding-model.js';
import { buildEncoderModel } from './encoder-model.js';
import { modelMetadataProps } from './metadata.js';
import { encodeModel, FLOAT, floatTensor, INT64, node, tensorValueInfo } from './proto.js';
import { loadEmbeddingModel, loadEncoderModel } from './session.js';
import { randomEncoder, randomFloats, seededRandom } from './testing.js';

const sessionOptions = { intraOpNumThreads: 1 };
const random = seededRandom(5);
const users = randomFloats(random, 30 * 4);
const items = randomFloats(random, 20 * 4);

/**
 * An embedding-shaped model with valid metadata whose `user_index` input has the given element
 * type and shape; `Cast` keeps the graph runnable when the type is not int64.
 */
function modelWithUserIndex(elemType: number, shape: (number | string)[]): Uint8Array {
  const gatherUsers =
    elemType === INT64
      ? [node('Gather', ['user_table', 'user_index'], ['user_embedding'], { axis: 0 })]
      : [
          node('Cast', ['user_index'], ['user_index_i64'], { to: INT64 }),
          node('Gather', ['user_table', 'user_index_i64'], ['user_embedding'], { axis: 0 }),
        ];
  const outputRank = shape.length + 1;
  const graph = {
    name: 'bad',
    initializer: [
      floatTensor('user_table', [30, 4], users),
      floatTensor('item_table', [20, 4], items),
    ],
    node: [
      ...gatherUsers,
      node('Gather', ['item_table', 'item_index'], ['item_embedding'], { axis: 0 }),
    ],
    input: [
      tensorValueInfo('user_index', elemType, shape),
      tensorValueInfo('item_index', INT64, ['M']),
    ],
    output: [
      tensorValueInfo('user_embedding', FLOAT, [...shape, 4].slice(0, outputRank)),
      tensorValueInfo('item_embedding', FLOAT, ['M', 4]),
    ],
  };
  const metadata = modelMetadataProps(
    'embedding',
    { modelVersion: 'bad' },
    {
      dim: 4,
      num_users: 30,
      num_items: 20,
    },
  );
  return encodeModel(graph, metadata, 'a model with a wrong signature, for tests');
}

function hasCode(code: string, message?: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof AppError, `expected an AppError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (message) assert.match(error.message, message);
    return true;
  };
}

describe('onnx > session > signature validation', () => {
  it('accepts the hand-built control model with the right signature', async () => {
    const model = await loadEmbeddingModel(modelWithUserIndex(INT64, ['N']), { sessionOptions });
    assert.deepEqual(await model.embedUsers([29]), users.subarray(29 * 4));
    await model.release();
  });

  it('refuses a float32 user_index, saying what was expected and found', async () => {
    await assert.rejects(
      loadEmbeddingModel(modelWithUserIndex(FLOAT, ['N']), { sessionOptions }),
      (error: unknown) => {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'ONNX_MODEL_SIGNATURE_MISMATCH');
        assert.equal(
          error.message,
          'ONNX embedding model has the wrong signature: input "user_index": expected int64 ' +
            'rank 1 [?], found float32 rank 1 [N]',
        );
        return true;
      },
    );
  });

  it('refuses a user_index of rank 2', async () => {
    await assert.rejects(
      loadEmbeddingModel(modelWithUserIndex(INT64, ['N', 1]), { sessionOptions }),
      hasCode(
        'ONNX_MODEL_SIGNATURE_MISMATCH',
        /input "user_index": expected int64 rank 1 \[\?\], found int64 rank 2 \[N, 1\]; output "user_embedding": expected float32 rank 2 \[\?, 4\], found float32 rank 3 \[N, 1, 4\]$/,
      ),
    );
  });

  it('refuses an encoder loaded as an embedding model and the reverse, by metadata kind', async () => {
    const encoderBytes = buildEncoderModel(randomEncoder(random, [6, 4]));
    await assert.rejects(
      loadEmbeddingModel(encoderBytes, { sessionOptions }),
      hasCode('ONNX_MODEL_METADATA_INVALID', /kind: expected "embedding", found "encoder"/),
    );
    const embeddingBytes = buildEmbeddingModel({
      users,
      numUsers: 30,
      items,
      numItems: 20,
      dim: 4,
      metadata: { modelVersion: 'v1' },
    });
    await assert.rejects(
      loadEncoderModel(embeddingBytes, { sessionOptions }),
      hasCode('ONNX_MODEL_METADATA_INVALID', /kind: expected "encoder", found "embedding"/),
    );
  });
});

describe('onnx > session > unreadable bytes', () => {
  const bytes = buildEmbeddingModel({
    users,
    numUsers: 30,
    items,
    numItems: 20,
    dim: 4,
    metadata: { modelVersion: 'v1' },
  });

  it('loads from a view that starts inside a larger buffer, as fs reads may return', async () => {
    const padded = new Uint8Array(bytes.length + 7);
    padded.set(bytes, 3);
    const model = await loadEmbeddingModel(padded.subarray(3, 3 + bytes.length), {
      sessionOptions,
    });
    assert.deepEqual(await model.embedItems([19]), items.subarray(19 * 4));
    await model.release();
  });

  it('refuses a buffer truncated anywhere with ONNX_MODEL_UNREADABLE', async () => {
    // Cuts inside the header, inside each table and just before the end.
    for (const length of [1, 10, 100, Math.floor(bytes.length / 2), bytes.length - 1]) {
      await assert.rejects(
        loadEmbeddingModel(bytes.subarray(0, length), { sessionOptions }),
        hasCode('ONNX_MODEL_UNREADABLE', /truncated or not an ONNX model|ONNX Runtime refused/),
        `truncated to ${length} of ${bytes.length} bytes`,
      );
    }
  });

  it('says the buffer is truncated when protobuf decoding fails', async () => {
    await assert.rejects(
      loadEmbeddingModel(bytes.subarray(0, bytes.length >> 1), { sessionOptions }),
      hasCode(
        'ONNX_MODEL_UNREADABLE',
        new RegExp(
          `^cannot read ONNX model: protobuf decoding failed after ${bytes.length >> 1} bytes ` +
            `\\(the buffer is truncated or not an ONNX model\\)$`,
        ),
      ),
    );
  });

  it('refuses an empty buffer and bytes that are not a model', async () => {
    await assert.rejects(
      loadEncoderModel(new Uint8Array(0)),
      hasCode('ONNX_MODEL_UNREADABLE', /^cannot read ONNX model: the buffer is empty$/),
    );
    const text = new TextEncoder().encode('{"not": "an onnx model"}');
    await assert.rejects(loadEncoderModel(text), hasCode('ONNX_MODEL_UNREADABLE'));
  });
});
