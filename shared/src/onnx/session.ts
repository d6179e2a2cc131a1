import ort from 'onnxruntime-node';
import { errorMessage } from '../errors.js';
import { EMBEDDING_SIGNATURE } from './embedding-model.js';
import { ENCODER_SIGNATURE } from './encoder-model.js';
import { onnxError, OnnxErrorCode, onnxInputError } from './errors.js';
import { parseModelMetadata, readModelInfo, type ModelKind } from './metadata.js';

type SessionOptions = ort.InferenceSession.SessionOptions;

export interface LoadOptions {
  /** Passed to `InferenceSession.create` (threads, optimization level, log level). */
  sessionOptions?: SessionOptions;
}

/** A loaded embedding model; see `buildEmbeddingModel` for the graph. */
export interface EmbeddingModel {
  readonly modelVersion: string;
  readonly dim: number;
  readonly numUsers: number;
  readonly numItems: number;
  /** Every metadata_props entry of the model. */
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * The vectors of the given users, row-major float32 `[indices.length, dim]`. Indices must be
   * integers in `[0, numUsers)`; otherwise ONNX_INPUT_INVALID.
   */
  embedUsers(indices: ArrayLike<number> | BigInt64Array): Promise<Float32Array>;
  /** As `embedUsers`, for items in `[0, numItems)`. */
  embedItems(indices: ArrayLike<number> | BigInt64Array): Promise<Float32Array>;
  /** Frees the native session; the model cannot be used afterwards. */
  release(): Promise<void>;
}

/** A loaded item-feature encoder; see `buildEncoderModel` for the graph. */
export interface EncoderModel {
  readonly modelVersion: string;
  /** Number of features per item, F. */
  readonly inputSize: number;
  readonly dim: number;
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * Embeds items from their features: `features` is row-major float32 `[N, inputSize]`, the result
   * float32 `[N, dim]` with every row inside the unit ball. A length that is not a multiple of
   * `inputSize` is refused with ONNX_INPUT_INVALID.
   */
  encodeFeatures(features: Float32Array): Promise<Float32Array>;
  release(): Promise<void>;
}

/**
 * Creates an ONNX Runtime session for an embedding model and checks it before returning:
 *
 * - the bytes decode (else ONNX_MODEL_UNREADABLE, also for a truncated buffer),
 * - metadata says `kind=embedding` with positive `dim`, `num_users`, `num_items`
 *   (else ONNX_MODEL_METADATA_INVALID),
 * - inputs are exactly `user_index` int64 `[N]`, `item_index` int64 `[M]` and outputs exactly
 *   `user_embedding`, `item_embedding` float32 `[*, dim]` (else ONNX_MODEL_SIGNATURE_MISMATCH,
 *   naming what was expected and what was found).
 */
export async function loadEmbeddingModel(
  bytes: Uint8Array,
  options: LoadOptions = {},
): Promise<EmbeddingModel> {
  const info = readModelInfo(bytes);
  const { modelVersion, sizes } = parseModelMetadata(info, 'embedding', [
    'dim',
    'num_users',
    'num_items',
  ]);
  const { dim, num_users: numUsers, num_items: numItems } = sizes;
  const names = EMBEDDING_SIGNATURE;
  const session = await createSession(bytes, options);
  await checkSignature(session, 'embedding', {
    inputs: [
      { name: names.userIndex, type: 'int64', shape: [null] },
      { name: names.itemIndex, type: 'int64', shape: [null] },
    ],
    outputs: [
      { name: names.userEmbedding, type: 'float32', shape: [null, dim] },
      { name: names.itemEmbedding, type: 'float32', shape: [null, dim] },
    ],
  });

  const noIndices = new ort.Tensor('int64', new BigInt64Array(0), [0]);
  async function lookup(
    which: 'user' | 'item',
    indices: ArrayLike<number> | BigInt64Array,
  ): Promise<Float32Array> {
    const count = which === 'user' ? numUsers : numItems;
    const tensor = indexTensor(indices, count, which);
    if (tensor.size === 0) return new Float32Array(0);

    // Both inputs must be fed; the unused one gets an empty index list and only one output is
    // fetched, so the other Gather does no work.
    const feeds =
      which === 'user'
        ? { [names.userIndex]: tensor, [names.itemIndex]: noIndices }
        : { [names.userIndex]: noIndices, [names.itemIndex]: tensor };
    const output = which === 'user' ? names.userEmbedding : names.itemEmbedding;
    return float32Output(await session.run(feeds, [output]), output);
  }

  return {
    modelVersion,
    dim,
    numUsers,
    numItems,
    metadata: info.metadata,
    embedUsers: (indices) => lookup('user', indices),
    embedItems: (indices) => lookup('item', indices),
    release: () => session.release(),
  };
}

/**
 * Creates an ONNX Runtime session for an item-feature encoder and checks it before returning, as
 * `loadEmbeddingModel` does: metadata `kind=encoder` with positive `input_size`, `dim`; exactly one
 * input `features` float32 `[N, input_size]` and one output `embedding` float32 `[N, dim]`.
 */
export async function loadEncoderModel(
  bytes: Uint8Array,
  options: LoadOptions = {},
): Promise<EncoderModel> {
  const info = readModelInfo(bytes);
  const { modelVersion, sizes } = parseModelMetadata(info, 'encoder', ['input_size', 'dim']);
  const { input_size: inputSize, dim } = sizes;
  const names = ENCODER_SIGNATURE;
  const session = await createSession(bytes, options);
  await checkSignature(session, 'encoder', {
    inputs: [{ name: names.features, type: 'float32', shape: [null, inputSize] }],
    outputs: [{ name: names.embedding, type: 'float32', shape: [null, dim] }],
  });

  async function encodeFeatures(features: Float32Array): Promise<Float32Array> {
    if (!(features instanceof Float32Array) || features.length % inputSize !== 0) {
      throw onnxInputError(
        `features must be a Float32Array of N x ${inputSize} values (row-major), ` +
          `got ${features instanceof Float32Array ? `${features.length} values` : typeof features}`,
      );
    }
    const rows = features.length / inputSize;
    if (rows === 0) return new Float32Array(0);

    const tensor = new ort.Tensor('float32', features, [rows, inputSize]);
    const result = await session.run({ [names.features]: tensor }, [names.embedding]);
    return float32Output(result, names.embedding);
  }

  return {
    modelVersion,
    inputSize,
    dim,
    metadata: info.metadata,
    encodeFeatures,
    release: () => session.release(),
  };
}

async function createSession(
  bytes: Uint8Array,
  options: LoadOptions,
): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(bytes, options.sessionOptions ?? {});
  } catch (error) {
    throw onnxError(
      OnnxErrorCode.modelUnreadable,
      `ONNX Runtime refused the model (${bytes.byteLength} bytes): ${errorMessage(error)}`,
      { cause: error },
    );
  }
}

interface ExpectedValue {
  name: string;
  type: 'int64' | 'float32';
  /** One entry per axis: a fixed size, or null for any (symbolic) size. */
  shape: readonly (number | null)[];
}

/**
 * Compares the session's declared inputs and outputs with the expected ones, all problems at once;
 * releases the session before throwing.
 */
async function checkSignature(
  session: ort.InferenceSession,
  kind: ModelKind,
  expected: { inputs: readonly ExpectedValue[]; outputs: readonly ExpectedValue[] },
): Promise<void> {
  const problems = [
    ...compareValues('input', expected.inputs, session.inputMetadata),
    ...compareValues('output', expected.outputs, session.outputMetadata),
  ];
  if (problems.length === 0) return;

  await session.release();
  throw onnxError(
    OnnxErrorCode.signatureMismatch,
    `ONNX ${kind} model has the wrong signature: ${problems.join('; ')}`,
    { details: { problems } },
  );
}

function compareValues(
  role: 'input' | 'output',
  expected: readonly ExpectedValue[],
  found: readonly ort.InferenceSession.ValueMetadata[],
): string[] {
  const problems: string[] = [];
  for (const want of expected) {
    const got = found.find((value) => value.name === want.name);
    const wanted = `${want.type} ${describeShape(want.shape)}`;
    if (got === undefined) {
      problems.push(`${role} "${want.name}": expected ${wanted}, found no such ${role}`);
    } else if (!got.isTensor) {
      problems.push(`${role} "${want.name}": expected ${wanted}, found a non-tensor value`);
    } else if (got.type !== want.type || !shapeMatches(want.shape, got.shape)) {
      problems.push(
        `${role} "${want.name}": expected ${wanted}, found ${got.type} ${describeShape(got.shape)}`,
      );
    }
  }
  const extra = found.filter((value) => !expected.some((want) => want.name === value.name));
  if (extra.length > 0) {
    problems.push(
      `unexpected ${role}s ${extra.map((value) => `"${value.name}"`).join(', ')}; expected only ` +
        expected.map((want) => `"${want.name}"`).join(', '),
    );
  }
  return problems;
}

/** A fixed expected size must match exactly; a symbolic or unknown one found is accepted. */
function shapeMatches(
  want: readonly (number | null)[],
  got: readonly (number | string)[],
): boolean {
  if (got.length !== want.length) return false;
  return want.every((size, axis) => size === null || got[axis] === size);
}

function describeShape(shape: readonly (number | string | null)[]): string {
  if (shape.length === 0) return 'rank 0 []';
  const axes = shape.map((size) => (size === null ? '?' : String(size)));
  return `rank ${shape.length} [${axes.join(', ')}]`;
}

function indexTensor(
  indices: ArrayLike<number> | BigInt64Array,
  count: number,
  which: 'user' | 'item',
): ort.Tensor {
  const values = new BigInt64Array(indices.length);
  for (let position = 0; position < indices.length; position += 1) {
    const index = indices[position];
    const valid =
      typeof index === 'bigint'
        ? index >= 0n && index < BigInt(count)
        : Number.isInteger(index) && index >= 0 && index < count;
    if (!valid) {
      throw onnxInputError(
        `${which} index ${String(index)} at position ${position} is not an integer in [0, ${count})`,
        { details: { which, position, count } },
      );
    }
    values[position] = BigInt(index);
  }
  return new ort.Tensor('int64', values, [values.length]);
}

function float32Output(result: ort.InferenceSession.ReturnType, name: string): Float32Array {
  const tensor = result[name];
  if (tensor === undefined || tensor.type !== 'float32' || !(tensor.data instanceof Float32Array)) {
    throw onnxError(
      OnnxErrorCode.signatureMismatch,
      `ONNX Runtime returned no float32 tensor "${name}" (got ${tensor?.type ?? 'nothing'})`,
    );
  }
  return tensor.data;
}
