import { AppError } from '../errors.js';
import type { ArtifactStore } from '../artifacts/store.js';
import type { EmbeddingTables } from '../cml/tables.js';
import {
  buildEmbeddingModel,
  loadEmbeddingModel,
  verifyEmbeddingModel,
  type EmbeddingModel,
  type VerificationReport,
} from '../onnx/index.js';

/**
 * The files of one model version. The manifest lists every other file with its sha256; the
 * registry row records the manifest's own sha256, so one checksum pins the whole version.
 */
export const MANIFEST = 'manifest.json';
export const EMBEDDINGS = 'embeddings.onnx';
export const USER_IDS = 'user-ids.json';
export const ITEM_IDS = 'item-ids.json';

const FORMAT_VERSION = 1;

export interface Manifest {
  formatVersion: number;
  versionId: string;
  dim: number;
  numUsers: number;
  numItems: number;
  /** File name → sha256 (hex). */
  files: Record<string, string>;
}

export interface WrittenVersion {
  artifactUri: string;
  /** sha256 of the manifest. */
  checksum: string;
  manifest: Manifest;
  /** ONNX Runtime's output against the trainer's tables, for every user and item. */
  verification: { users: VerificationReport; items: VerificationReport };
}

/**
 * Exports the tables to ONNX, checks that ONNX Runtime returns every user and item vector
 * exactly, then writes the model, the id maps and the manifest (each atomically).
 * Nothing is written when the check fails.
 */
export async function writeModelVersion(
  store: ArtifactStore,
  versionId: string,
  tables: EmbeddingTables,
  ids: { users: string[]; items: string[] },
): Promise<WrittenVersion> {
  const model = buildEmbeddingModel({ ...tables, metadata: { modelVersion: versionId } });
  const session = await loadEmbeddingModel(model);
  let verification: WrittenVersion['verification'];
  try {
    verification = await verifyEmbeddingModel(session, {
      ...tables,
      metadata: { modelVersion: versionId },
    });
  } finally {
    await session.release();
  }

  const files: Record<string, string> = {};
  files[EMBEDDINGS] = await store.put(versionId, EMBEDDINGS, model);
  files[USER_IDS] = await store.put(versionId, USER_IDS, jsonBytes(ids.users));
  files[ITEM_IDS] = await store.put(versionId, ITEM_IDS, jsonBytes(ids.items));

  const { dim, numUsers, numItems } = tables;
  const manifest: Manifest = {
    formatVersion: FORMAT_VERSION,
    versionId,
    dim,
    numUsers,
    numItems,
    files,
  };
  const manifestBytes = jsonBytes(manifest);
  const checksum = await store.put(versionId, MANIFEST, manifestBytes);
  return { artifactUri: store.locate(versionId), checksum, manifest, verification };
}

export interface LoadedVersion {
  manifest: Manifest;
  model: EmbeddingModel;
  userIds: string[];
  itemIds: string[];
}

/**
 * Reads a version back, refusing any file whose checksum differs from the one recorded (a
 * truncated or altered artifact never loads), and opens its ONNX model.
 */
export async function readModelVersion(
  store: ArtifactStore,
  versionId: string,
  manifestChecksum: string,
): Promise<LoadedVersion> {
  const manifest = JSON.parse(
    (await store.get(versionId, MANIFEST, manifestChecksum)).toString('utf8'),
  ) as Manifest;
  if (manifest.formatVersion !== FORMAT_VERSION || manifest.versionId !== versionId) {
    throw new AppError(
      'ARTIFACT_FORMAT',
      `version ${versionId}: manifest format ${manifest.formatVersion} for ${manifest.versionId} is not ` +
        `format ${FORMAT_VERSION} for ${versionId}`,
    );
  }

  const read = (name: string) => {
    const expected = manifest.files[name];
    if (!expected)
      throw new AppError('ARTIFACT_FORMAT', `version ${versionId}: manifest lacks ${name}`);
    return store.get(versionId, name, expected);
  };
  const userIds = JSON.parse((await read(USER_IDS)).toString('utf8')) as string[];
  const itemIds = JSON.parse((await read(ITEM_IDS)).toString('utf8')) as string[];
  const model = await loadEmbeddingModel(await read(EMBEDDINGS));

  if (userIds.length !== model.numUsers || itemIds.length !== model.numItems) {
    await model.release();
    throw new AppError(
      'ARTIFACT_FORMAT',
      `version ${versionId}: id maps (${userIds.length} users, ${itemIds.length} items) do not match ` +
        `the model (${model.numUsers} users, ${model.numItems} items)`,
    );
  }
  return { manifest, model, userIds, itemIds };
}

function jsonBytes(value: unknown): Uint8Array {
  return Buffer.from(JSON.stringify(value));
}
