import { onnxError, OnnxErrorCode } from './errors.js';
import { modelMetadataProps, type ModelMetadata } from './metadata.js';
import { encodeModel, FLOAT, floatTensor, INT64, node, tensorValueInfo } from './proto.js';

/** Graph input and output names of the embedding model. */
export const EMBEDDING_SIGNATURE = {
  userIndex: 'user_index',
  itemIndex: 'item_index',
  userEmbedding: 'user_embedding',
  itemEmbedding: 'item_embedding',
} as const;

/**
 * The learned user and item vectors of one model version.
 *
 * `users` is the row-major table `[numUsers, dim]` (row `i` is user `i`'s vector, at
 * `users[i * dim .. (i + 1) * dim)`), `items` likewise `[numItems, dim]`; both float32.
 */
export interface EmbeddingTables {
  users: Float32Array;
  numUsers: number;
  items: Float32Array;
  numItems: number;
  dim: number;
  metadata: ModelMetadata;
}

/**
 * A serialized ONNX model takes at most 2 GiB (protobuf's limit, which ONNX Runtime applies too);
 * a little is kept for the graph around the tables. Larger tables would need ONNX external data,
 * which cml-rec does not write.
 */
const MAX_TABLE_BYTES = 2 ** 31 - 2 ** 20;

/**
 * Serializes the tables as an ONNX model (IR 8, opset 17) with two independent lookups:
 *
 * - input `user_index`: int64 `[N]` → output `user_embedding`: float32 `[N, dim]`
 *   (`Gather(user_table, user_index, axis=0)`)
 * - input `item_index`: int64 `[M]` → output `item_embedding`: float32 `[M, dim]`
 *
 * The tables are initializers written as `raw_data` straight from the Float32Arrays' memory, so the
 * bytes returned are exactly the IEEE-754 values given (ONNX Runtime reproduces them bit for bit).
 * metadata_props: `kind=embedding`, `format_version`, `model_version`, `dim`, `num_users`,
 * `num_items`, plus `metadata.props`.
 *
 * Throws ONNX_EXPORT_INVALID when a size is not a positive integer, a table's length is not
 * `count * dim`, a value is NaN or infinite, or the tables exceed 2 GiB together.
 *
 * @example
 *   const bytes = buildEmbeddingModel({ users, numUsers: 3, items, numItems: 5, dim: 2,
 *     metadata: { modelVersion: 'v7' } });
 */
export function buildEmbeddingModel(tables: EmbeddingTables): Uint8Array {
  const { users, numUsers, items, numItems, dim } = tables;
  const problems = [
    ...checkTable('users', users, numUsers, 'numUsers', dim),
    ...checkTable('items', items, numItems, 'numItems', dim),
  ];
  if (problems.length === 0 && users.byteLength + items.byteLength > MAX_TABLE_BYTES) {
    problems.push(
      `the tables take ${users.byteLength + items.byteLength} bytes; ` +
        `one ONNX file holds at most ${MAX_TABLE_BYTES}`,
    );
  }
  if (problems.length > 0) {
    throw onnxError(
      OnnxErrorCode.exportInvalid,
      `cannot export embedding model: ${problems.join('; ')}`,
      { details: { problems } },
    );
  }
  const metadata = modelMetadataProps('embedding', tables.metadata, {
    dim,
    num_users: numUsers,
    num_items: numItems,
  });

  const names = EMBEDDING_SIGNATURE;
  const graph = {
    name: 'cml_embeddings',
    initializer: [
      floatTensor('user_table', [numUsers, dim], users),
      floatTensor('item_table', [numItems, dim], items),
    ],
    node: [
      node('Gather', ['user_table', names.userIndex], [names.userEmbedding], { axis: 0 }),
      node('Gather', ['item_table', names.itemIndex], [names.itemEmbedding], { axis: 0 }),
    ],
    input: [
      tensorValueInfo(names.userIndex, INT64, ['N']),
      tensorValueInfo(names.itemIndex, INT64, ['M']),
    ],
    output: [
      tensorValueInfo(names.userEmbedding, FLOAT, ['N', dim]),
      tensorValueInfo(names.itemEmbedding, FLOAT, ['M', dim]),
    ],
  };
  return encodeModel(
    graph,
    metadata,
    'cml-rec user and item embedding tables; row i of each table is the vector of index i',
  );
}

/** Problems with one row-major `[rows, cols]` table, as sentences; empty when it is usable. */
export function checkTable(
  name: string,
  values: Float32Array,
  rows: number,
  rowsName: string,
  cols: number,
  colsName = 'dim',
): string[] {
  if (!(values instanceof Float32Array)) return [`${name} must be a Float32Array`];
  if (!isPositiveInteger(rows)) return [`${rowsName} must be a positive integer, got ${rows}`];
  if (!isPositiveInteger(cols)) return [`${colsName} must be a positive integer, got ${cols}`];
  if (values.length !== rows * cols) {
    return [
      `${name} has ${values.length} values; expected ${rowsName} x ${colsName} = ` +
        `${rows} x ${cols} = ${rows * cols}`,
    ];
  }
  const bad = firstNonFinite(values);
  if (bad >= 0) {
    return [
      `${name}[${bad}] (row ${Math.floor(bad / cols)}) is ${values[bad]}; values must be finite`,
    ];
  }
  return [];
}

export function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/** Index of the first NaN or infinite value, or -1. */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i += 1) {
    // x - x is 0 for every finite x and NaN for NaN and +-Infinity: one test per value.
    if (values[i] - values[i] !== 0) return i;
  }
  return -1;
}
