import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import type { Dataset } from '@cml-rec/shared/cml/dataset';
import type { EmbeddingTables } from '@cml-rec/shared/cml/tables';
import { readModelVersion } from '@cml-rec/shared/model/version-files';
import type { ModelVersion } from '@cml-rec/shared/registry/registry';

/** A version's learned vectors with their external ids, read through ONNX Runtime. */
export interface WarmStartVectors {
  versionId: string;
  dim: number;
  userIds: string[];
  itemIds: string[];
  /** Row-major `[userIds.length, dim]`. */
  users: Float32Array;
  /** Row-major `[itemIds.length, dim]`. */
  items: Float32Array;
}

/** What a warm start did; stored with the new version's hyperparameters. */
export interface WarmStartReport {
  fromVersion: string;
  /** Rows copied: users and items known to both the old version and the new dataset. */
  users: number;
  items: number;
  /** Set when nothing was copied, with the reason (e.g. another dimension). */
  skipped?: string;
}

/** Indices per ONNX Runtime call: bounds one batch to `LOOKUP_BATCH * dim * 4` bytes. */
const LOOKUP_BATCH = 65_536;

/**
 * Reads a version's user and item tables through `readModelVersion` (checksums verified) and
 * ONNX Runtime, the same path the recommender serves from.
 */
export async function loadWarmStartVectors(
  store: ArtifactStore,
  version: Pick<ModelVersion, 'id' | 'checksum'>,
): Promise<WarmStartVectors> {
  const loaded = await readModelVersion(store, version.id, version.checksum);
  try {
    const { model } = loaded;
    return {
      versionId: version.id,
      dim: model.dim,
      userIds: loaded.userIds,
      itemIds: loaded.itemIds,
      users: await lookupAll(model.numUsers, model.dim, (indices) => model.embedUsers(indices)),
      items: await lookupAll(model.numItems, model.dim, (indices) => model.embedItems(indices)),
    };
  } finally {
    await loaded.release();
  }
}

/**
 * Copies the old vectors into freshly initialised tables by external id: every user and item
 * that the old version knew keeps its place in the space, new ones keep their random start.
 * Nothing is copied when the dimensions differ.
 */
export function copyWarmStartRows(
  tables: EmbeddingTables,
  dataset: Pick<Dataset, 'users' | 'items'>,
  source: WarmStartVectors,
): WarmStartReport {
  const report: WarmStartReport = { fromVersion: source.versionId, users: 0, items: 0 };
  if (source.dim !== tables.dim) {
    return {
      ...report,
      skipped: `version ${source.versionId} has ${source.dim} dimensions, this run ${tables.dim}`,
    };
  }
  const copy = (
    ids: string[],
    from: Float32Array,
    to: Float32Array,
    index: (id: string) => number | undefined,
  ): number => {
    const dim = tables.dim;
    let copied = 0;
    ids.forEach((id, row) => {
      const target = index(id);
      if (target === undefined) return;
      to.set(from.subarray(row * dim, (row + 1) * dim), target * dim);
      copied++;
    });
    return copied;
  };
  report.users = copy(source.userIds, source.users, tables.users, (id) => dataset.users.get(id));
  report.items = copy(source.itemIds, source.items, tables.items, (id) => dataset.items.get(id));
  return report;
}

async function lookupAll(
  count: number,
  dim: number,
  lookup: (indices: number[]) => Promise<Float32Array>,
): Promise<Float32Array> {
  const table = new Float32Array(count * dim);
  for (let start = 0; start < count; start += LOOKUP_BATCH) {
    const indices = Array.from(
      { length: Math.min(LOOKUP_BATCH, count - start) },
      (_, n) => start + n,
    );
    table.set(await lookup(indices), start * dim);
  }
  return table;
}
