import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import { readModelVersion, type LoadedVersion } from '@cml-rec/shared/model/version-files';
import type { EncoderModel } from '@cml-rec/shared/onnx/index';
import { ItemIndex, type IndexParameters } from './item-index.js';

/**
 * What a version may carry besides its embeddings: an item-feature encoder and the feature
 * vocabulary that orders its inputs. Declared here as optional so that this service works with
 * versions (and a `readModelVersion`) that have neither.
 */
type LoadedWithEncoder = LoadedVersion & {
  encoder?: EncoderModel;
  featureVocabulary?: string[];
};

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
   * Reads a version (checksums verified by `readModelVersion`), asks ONNX Runtime for every
   * vector and builds the HNSW graph off the event loop. Throws when any step fails.
   */
  static async load(
    store: ArtifactStore,
    version: { id: string; checksum: string },
    parameters: IndexParameters,
  ): Promise<ServingModel> {
    const loaded: LoadedWithEncoder = await readModelVersion(store, version.id, version.checksum);
    let encoder: FeatureEncoder | undefined;
    try {
      const dim = loaded.model.dim;
      const itemVectors = await embedInSlices(
        (indices) => loaded.model.embedItems(indices),
        loaded.itemIds.length,
        dim,
      );
      const userVectors = await embedInSlices(
        (indices) => loaded.model.embedUsers(indices),
        loaded.userIds.length,
        dim,
      );
      encoder = toFeatureEncoder(loaded, dim);
      const [userIndexes, itemIndexes] = [
        await indexById(loaded.userIds),
        await indexById(loaded.itemIds),
      ];
      const index = await ItemIndex.build(itemVectors, dim, parameters);
      return new ServingModel(
        version.id,
        dim,
        loaded.itemIds,
        loaded.userIds,
        userIndexes,
        itemIndexes,
        userVectors,
        index,
        encoder,
      );
    } catch (error) {
      await (encoder?.model ?? loaded.encoder)?.release();
      throw error;
    } finally {
      await loaded.model.release();
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
      await indexById(options.userIds),
      await indexById(options.itemIds),
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

  /** Frees native resources (the encoder session); the HNSW graph goes with garbage collection. */
  async release(): Promise<void> {
    await this.encoder?.model.release();
  }

  /**
   * A function that frees the encoder later without keeping this model (and its HNSW graph,
   * hundreds of MB) reachable until then.
   */
  releaser(): () => Promise<void> {
    const encoder = this.encoder?.model;
    return async () => {
      await encoder?.release();
    };
  }
}

function toFeatureEncoder(loaded: LoadedWithEncoder, dim: number): FeatureEncoder | undefined {
  const { encoder, featureVocabulary } = loaded;
  if (!encoder) return undefined;
  const vocabulary = featureVocabulary ?? [];
  if (vocabulary.length !== encoder.inputSize || encoder.dim !== dim) {
    throw new Error(
      `encoder expects ${encoder.inputSize} features of dim ${encoder.dim}; the version has a ` +
        `vocabulary of ${vocabulary.length} and dim ${dim}`,
    );
  }
  return {
    model: encoder,
    vocabulary,
    positions: new Map(vocabulary.map((token, position) => [token, position])),
  };
}

/**
 * Rows per ONNX Runtime call when a version loads. A run holds the event loop while it copies
 * its output (about 1.5 µs per 64-d row measured here, so 150 ms for 100,000 items in one call);
 * slices of 2,048 rows keep each hold near 3 ms, with the event loop free in between (8,192
 * held it about 12 ms, which showed in the p99 of requests served during a swap).
 */
const EMBED_SLICE = 2048;

async function embedInSlices(
  embed: (indices: Int32Array) => Promise<Float32Array>,
  count: number,
  dim: number,
): Promise<Float32Array> {
  // On shared memory, so that the graph-building worker shares the item vectors: copying a
  // million 64-d rows onto shared memory in one call is a 256 MB memcpy on the event loop.
  const vectors = new Float32Array(new SharedArrayBuffer(count * dim * 4));
  for (let start = 0; start < count; start += EMBED_SLICE) {
    const end = Math.min(count, start + EMBED_SLICE);
    const indices = new Int32Array(end - start);
    for (let n = 0; n < indices.length; n++) indices[n] = start + n;
    vectors.set(await embed(indices), start * dim);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return vectors;
}

/**
 * id → position, built in slices so a million ids do not hold the event loop in one go: 10,000
 * ids take about 5 ms here (50,000 took about 25 ms, visible in the p99 during a swap).
 */
async function indexById(ids: string[]): Promise<Map<string, number>> {
  const map = new Map<string, number>();
  const slice = 10_000;
  for (let start = 0; start < ids.length; start += slice) {
    const end = Math.min(ids.length, start + slice);
    for (let n = start; n < end; n++) map.set(ids[n], n);
    if (end < ids.length) await new Promise((resolve) => setImmediate(resolve));
  }
  return map;
}
