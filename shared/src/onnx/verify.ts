import type { EmbeddingTables } from './embedding-model.js';
import { onnxError, OnnxErrorCode } from './errors.js';
import type { EmbeddingModel } from './session.js';

/** Outcome of comparing ONNX Runtime's output with a reference. */
export interface VerificationReport {
  /** Rows compared. */
  rows: number;
  /** Largest |onnx - reference| over every value compared (0 when ORT reproduced the values). */
  maxAbsDiff: number;
  tolerance: number;
}

export interface EmbeddingVerificationOptions {
  /** Indices per `run` call; bounds the memory of one batch to `batchSize * dim * 4` bytes. */
  batchSize?: number;
  /** Largest accepted absolute difference per value; default 1e-6. */
  tolerance?: number;
}

/**
 * Runs every user index `0..numUsers-1` and every item index through the loaded model and compares
 * the output with the tables it was exported from. Returns one report per table; throws
 * ONNX_VERIFICATION_FAILED at the first value off by more than `tolerance` (NaN counts as off),
 * naming the table, row, column and both values, and also when the sizes differ.
 */
export async function verifyEmbeddingModel(
  model: EmbeddingModel,
  tables: EmbeddingTables,
  options: EmbeddingVerificationOptions = {},
): Promise<{ users: VerificationReport; items: VerificationReport }> {
  const batchSize = options.batchSize ?? 8192;
  const tolerance = options.tolerance ?? 1e-6;
  const sizes = [
    ['dim', model.dim, tables.dim],
    ['numUsers', model.numUsers, tables.numUsers],
    ['numItems', model.numItems, tables.numItems],
  ] as const;
  for (const [name, found, expected] of sizes) {
    if (found !== expected) {
      throw onnxError(
        OnnxErrorCode.verificationFailed,
        `embedding model ${name} is ${found} but the source tables have ${expected}`,
      );
    }
  }

  const check = async (
    table: 'users' | 'items',
    source: Float32Array,
    count: number,
    embed: (indices: ArrayLike<number>) => Promise<Float32Array>,
  ): Promise<VerificationReport> => {
    let maxAbsDiff = 0;
    for (let start = 0; start < count; start += batchSize) {
      const indices = Array.from(
        { length: Math.min(batchSize, count - start) },
        (_, i) => start + i,
      );
      const output = await embed(indices);
      const expected = source.subarray(start * tables.dim, (start + indices.length) * tables.dim);
      const diff = compareArrays(output, expected, tolerance);
      if (diff.firstBad >= 0) {
        const row = start + Math.floor(diff.firstBad / tables.dim);
        const column = diff.firstBad % tables.dim;
        throw onnxError(
          OnnxErrorCode.verificationFailed,
          `embedding model ${table}[${row}][${column}] is ${output[diff.firstBad]} but the source ` +
            `table has ${expected[diff.firstBad]} (tolerance ${tolerance})`,
          { details: { table, row, column, tolerance } },
        );
      }
      maxAbsDiff = Math.max(maxAbsDiff, diff.maxAbsDiff);
    }
    return { rows: count, maxAbsDiff, tolerance };
  };

  const users = await check('users', tables.users, tables.numUsers, model.embedUsers);
  const items = await check('items', tables.items, tables.numItems, model.embedItems);
  return { users, items };
}

/**
 * Largest absolute difference between two equally long arrays and the first position where it
 * exceeds `tolerance` (-1 if none). Arrays of different lengths fail at position 0.
 */
export function compareArrays(
  found: Float32Array,
  expected: Float32Array,
  tolerance: number,
): { maxAbsDiff: number; firstBad: number } {
  if (found.length !== expected.length) return { maxAbsDiff: Infinity, firstBad: 0 };

  let maxAbsDiff = 0;
  let firstBad = -1;
  for (let i = 0; i < found.length; i += 1) {
    const diff = Math.abs(found[i] - expected[i]);
    // Written as !(diff <= tolerance) so that a NaN on either side counts as a mismatch.
    if (!(diff <= tolerance)) {
      if (firstBad < 0) firstBad = i;
      maxAbsDiff = Number.isNaN(diff) ? Infinity : Math.max(maxAbsDiff, diff);
    } else if (diff > maxAbsDiff) {
      maxAbsDiff = diff;
    }
  }
  return { maxAbsDiff, firstBad };
}
