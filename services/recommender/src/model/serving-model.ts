import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import { AppError } from '@cml-rec/shared/errors';
import {
  EMBEDDINGS,
  ITEM_IDS,
  USER_IDS,
  openVersionEncoder,
  readVersionFiles,
  type VersionFiles,
} from '@cml-rec/shared/model/version-files';
import type { EncoderModel } from '@cml-rec/shared/onnx/index';
import type { ExtractedVectors, ExtractRequest } from './embedding-worker.js';
import { ItemIndex, type IndexParameters } from './item-index.js';
import { runWorkerTask } from './worker-task.js';

/** The item-feature encoder of a version, with the vocabulary that orders its inputs. */
export interface FeatureEncoder {
  model: EncoderModel;
  vocabulary: string[];
  /** Vocabulary token → input position. */
  positions: Map<string, number>;
}

/**
 * One model version ready to serve: its vectors (obtained from the version's ONNX model
 * through ONNX Runtime, the single source of numbers), id maps, HNSW index and, when the
 * version has one, its feature encoder. Immutable once built, so requests can hold it while a
 * newer one is swapped in.
 */
export class ServingModel {
  private constructor(
    readonly versionId: string,
    readonly dim: number,
    readonly itemIds: string[],
    readonly userIds: string[],
    private readonly userIndexes: Map<string, number>,
    private readonly itemIndexes: Map<string, number>,
    private readonly userVectors: Float32Array,
    readonly index: ItemIndex,
    readonly encoder: FeatureEncoder | undefined,
  ) {}

  /**
   * Reads a version (checksums verified by `readVersionFiles`), has a worker thread ask ONNX
   * Runtime for every vector and builds the HNSW graph in another: the event loop only reads
   * files and builds the id maps, in steps. Throws when any step fails.
   */
  static async load(
    store: ArtifactStore,
    version: { id: string; checksum: string },
    parameters: IndexParameters,
  ): Promise<ServingModel> {
    const files = await readVersionFiles(store, version.id, version.checksum);
    const { dim, userVectors, itemVectors } = await extractVectors(files);
    const encoder = await openFeatureEncoder(files, dim);
    try {
      const userIndexes = await indexById(files.userIds, `version ${version.id}: ${USER_IDS}`);
      const itemIndexes = await indexById(files.itemIds, `version ${version.id}: ${ITEM_IDS}`);
      const index = await ItemIndex.build(itemVectors, dim, parameters);
      return new ServingModel(
        version.id,
        dim,
        files.itemIds,
        files.userIds,
        userIndexes,
        itemIndexes,
        userVectors,
        index,
        encoder,
      );
    } catch (error) {
      await encoder?.model.release();
      throw error;
    }
  }

  /** A model from vectors already in memory (benchmarks and tests; no artifacts involved). */
  static async fromVectors(options: {
    versionId: string;
    dim: number;
    userIds: string[];
    userVectors: Float32Array;
    itemIds: string[];
    index: ItemIndex;
    encoder?: FeatureEncoder;
  }): Promise<ServingModel> {
    return new ServingModel(
      options.versionId,
      options.dim,
      options.itemIds,
      options.userIds,
      await indexById(options.userIds, `${options.versionId}: user ids`),
      await indexById(options.itemIds, `${options.versionId}: item ids`),
      options.userVectors,
      options.index,
      options.encoder,
    );
  }

  get numItems(): number {
    return this.itemIds.length;
  }

  userIndex(userId: string): number | undefined {
    return this.userIndexes.get(userId);
  }

  itemIndex(itemId: string): number | undefined {
    return this.itemIndexes.get(itemId);
  }

  userVector(user: number): Float32Array {
    return this.userVectors.subarray(user * this.dim, (user + 1) * this.dim);
  }

  itemVector(item: number): Float32Array {
    return this.index.vector(item);
  }

  /**
   * Frees native resources: the encoder session and the HNSW graph. The rest (vectors, id
   * maps) goes with garbage collection once nothing holds the model.
   */
  async release(): Promise<void> {
    await this.releaser()();
  }

  /**
   * A function that frees the native resources later without keeping this model (its vectors
   * and id maps, hundreds of MB) reachable until then.
   */
  releaser(): () => Promise<void> {
    const encoder = this.encoder?.model;
    const freeGraph = this.index.disposer();
    return async () => {
      await Promise.all([encoder?.release(), freeGraph()]);
    };
  }
}

async function openFeatureEncoder(
  files: VersionFiles,
  dim: number,
): Promise<FeatureEncoder | undefined> {
  const model = await openVersionEncoder(files, dim);
  if (!model || !files.encoder) return undefined;
  const vocabulary = files.encoder.featureVocabulary;
  return {
    model,
    vocabulary,
    positions: new Map(vocabulary.map((token, position) => [token, position])),
  };
}

/** How long reading a version's vectors may take before the load is refused. */
const EXTRACT_TIMEOUT_MS = 10 * 60_000;

/**
 * Every user and item vector of the version, from a worker thread (see embedding-worker.ts).
 * The embeddings file is handed over, not copied: the caller must not use it afterwards.
 */
function extractVectors(files: VersionFiles): Promise<ExtractedVectors> {
  const embeddings = ownBuffer(files.embeddings);
  const { versionId, dim, numUsers, numItems } = files.manifest;
  const request: ExtractRequest = {
    manifest: { versionId, dim, numUsers, numItems },
    embeddings,
    ids: { users: files.userIds.length, items: files.itemIds.length },
  };
  return runWorkerTask(new URL('./embedding-worker.js', import.meta.url), request, {
    failureCode: 'MODEL_LOAD_FAILED',
    label: `version ${versionId}: reading the vectors out of ${EMBEDDINGS} failed`,
    // A crafted model could compute forever; a genuine one takes seconds per million rows.
    timeoutMs: EXTRACT_TIMEOUT_MS,
    transfer: [embeddings.buffer as ArrayBuffer],
  });
}

/**
 * The bytes on an ArrayBuffer of their own, which can be transferred to a worker. Large
 * Buffers already are; small ones may sit in Node's shared pool and are copied.
 */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  return whole && bytes.buffer instanceof ArrayBuffer ? bytes : new Uint8Array(bytes);
}

/**
 * id → position, built in slices so a million ids do not hold the event loop in one go: 10,000
 * ids take about 5 ms here (50,000 took about 25 ms, visible in the p99 during a swap).
 */
async function indexById(ids: string[], label: string): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  const slice = 10_000;
  for (let start = 0; start < ids.length; start += slice) {
    const end = Math.min(ids.length, start + slice);
    for (let n = start; n < end; n++) {
      // A repeated id would leave one of its rows unreachable by id.
      const earlier = map.get(ids[n]);
      if (earlier !== undefined) {
        throw new AppError(
          'ARTIFACT_FORMAT',
          `${label}: id ${JSON.stringify(ids[n])} appears at rows ${earlier} and ${n}`,
        );
      }
      map.set(ids[n], n);
    }
    if (end < ids.length) await new Promise((resolve) => setImmediate(resolve));
  }
  return map;
}
