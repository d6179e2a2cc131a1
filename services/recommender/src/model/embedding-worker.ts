import { loadEmbeddingModel } from '@cml-rec/shared/onnx/index';
import { AppError } from '@cml-rec/shared/errors';
import { checkModelShape, type Manifest } from '@cml-rec/shared/model/version-files';
import { serveWorkerTask } from './worker-task.js';

/** What `extractVectors` sends: the embeddings.onnx bytes (transferred, not copied). */
export interface ExtractRequest {
  /** What the manifest records: the model must agree. */
  manifest: Pick<Manifest, 'versionId' | 'dim' | 'numUsers' | 'numItems'>;
  embeddings: Uint8Array;
  /** How many ids the version's id maps hold: the model must have one row per id. */
  ids: { users: number; items: number };
}

/** Every user and item vector, row-major, on shared memory (no copy on the way back). */
export interface ExtractedVectors {
  dim: number;
  userVectors: Float32Array;
  itemVectors: Float32Array;
}

/**
 * Rows per ONNX Runtime call: bounds the output tensor ONNX Runtime allocates (16 MB at 64
 * dimensions) before it is copied into place.
 */
const ROWS_PER_RUN = 65_536;

/**
 * Opens the embedding model and reads every vector out of it. This runs off the serving
 * thread because creating the session alone held the event loop for about 0.4 s for a
 * million-item model (256 MB of weights), and the copies out of it for as long again.
 */
async function extract(request: ExtractRequest): Promise<ExtractedVectors> {
  // One intra-op thread: a Gather needs no parallelism, and the pool's threads would inherit
  // this thread's low priority anyway.
  const model = await loadEmbeddingModel(request.embeddings, {
    sessionOptions: { intraOpNumThreads: 1, interOpNumThreads: 1 },
  });
  try {
    checkModelShape(request.manifest, request.ids, model);
    const { dim, numUsers, numItems } = model;
    const userVectors = await embedAll((rows) => model.embedUsers(rows), numUsers, dim);
    const itemVectors = await embedAll((rows) => model.embedItems(rows), numItems, dim);
    return { dim, userVectors, itemVectors };
  } finally {
    await model.release();
  }
}

async function embedAll(
  embed: (rows: Int32Array) => Promise<Float32Array>,
  count: number,
  dim: number,
): Promise<Float32Array> {
  const vectors = new Float32Array(new SharedArrayBuffer(count * dim * 4));
  for (let start = 0; start < count; start += ROWS_PER_RUN) {
    const end = Math.min(count, start + ROWS_PER_RUN);
    const rows = new Int32Array(end - start);
    for (let n = 0; n < rows.length; n++) rows[n] = start + n;
    const values = await embed(rows);
    // A model whose output has fewer rows than asked would leave zero vectors behind.
    if (values.length !== rows.length * dim) {
      throw new AppError(
        'ARTIFACT_FORMAT',
        `the embedding model returned ${values.length} values for ${rows.length} rows of dim ${dim}`,
      );
    }
    vectors.set(values, start * dim);
  }
  return vectors;
}

serveWorkerTask(extract);
