import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import { readModelVersion } from '@cml-rec/shared/model/version-files';
import type { ModelVersion } from '@cml-rec/shared/registry/registry';
import { ItemIndex, type IndexParameters } from './item-index.js';

/**
 * One model version ready to serve: its vectors (obtained from the version's ONNX model
 * through ONNX Runtime, the single source of numbers), id maps and HNSW index. Immutable once
 * built, so requests can hold it while a newer one is swapped in.
 */
export class ServingModel {
  private constructor(
    readonly versionId: string,
    readonly dim: number,
    readonly itemIds: string[],
    private readonly userIndexes: Map<string, number>,
    private readonly itemIndexes: Map<string, number>,
    private readonly userVectors: Float32Array,
    readonly index: ItemIndex,
  ) {}

  static async load(
    store: ArtifactStore,
    version: ModelVersion,
    parameters: IndexParameters,
  ): Promise<ServingModel> {
    const loaded = await readModelVersion(store, version.id, version.checksum);
    try {
      const itemVectors = await loaded.model.embedItems(range(loaded.itemIds.length));
      const userVectors = await loaded.model.embedUsers(range(loaded.userIds.length));
      const dim = loaded.model.dim;
      return new ServingModel(
        version.id,
        dim,
        loaded.itemIds,
        indexById(loaded.userIds),
        indexById(loaded.itemIds),
        userVectors,
        new ItemIndex(itemVectors, dim, parameters),
      );
    } finally {
      await loaded.model.release();
    }
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
}

function range(length: number): number[] {
  return Array.from({ length }, (_, n) => n);
}

function indexById(ids: string[]): Map<string, number> {
  return new Map(ids.map((id, index) => [id, index]));
}
