import type { Dataset } from '@cml-rec/shared/cml/dataset';
import type { CmlHyperparameters } from '@cml-rec/shared/cml/train';
import type { EmbeddingTables } from '@cml-rec/shared/cml/tables';
import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import type { Pool } from '@cml-rec/shared/db/pool';
import type { Logger } from '@cml-rec/shared/logging/logger';
import { writeModelVersion, type VersionEncoder } from '@cml-rec/shared/model/version-files';
import {
  newVersionId,
  registerVersion,
  type DataSnapshot,
  type ModelVersion,
} from '@cml-rec/shared/registry/registry';
import { defaultGate, promoteVersion, type GateConfig, type PromotionResult } from './gate.js';

export interface PublishInput {
  tables: EmbeddingTables;
  dataset: Dataset;
  snapshot: DataSnapshot;
  hyperparameters: CmlHyperparameters & Record<string, unknown>;
  metrics: Record<string, unknown>;
  /** Try to make the version active (through the promotion gate); false: register only. */
  activate: boolean;
  /** The item-feature encoder, written beside the embeddings when given. */
  encoder?: VersionEncoder;
  /** Default: `defaultGate`. */
  gate?: GateConfig;
  /** Activate even when the gate fails. */
  forceActivate?: boolean;
  /** Who publishes (cml-train, cml-retrain): recorded with the promotion. */
  actor?: string;
}

export interface PublishResult {
  version: ModelVersion;
  /** What the gate decided; absent when `activate` was false. */
  promotion?: PromotionResult;
}

/**
 * Exports and verifies the ONNX model(s), writes the version's artifacts, registers it as a
 * candidate and, when asked, promotes it through the gate (a failed gate leaves it a candidate
 * with the reason recorded).
 */
export async function publishVersion(
  pool: Pool,
  store: ArtifactStore,
  input: PublishInput,
  logger: Logger,
): Promise<PublishResult> {
  const id = newVersionId();
  const written = await writeModelVersion(
    store,
    id,
    input.tables,
    { users: input.dataset.users.ids, items: input.dataset.items.ids },
    { encoder: input.encoder },
  );
  logger.info(
    {
      version: id,
      artifactUri: written.artifactUri,
      maxAbsDiffUsers: written.verification.users.maxAbsDiff,
      maxAbsDiffItems: written.verification.items.maxAbsDiff,
      maxAbsDiffEncoder: written.verification.encoder?.maxAbsDiff,
    },
    'model exported and verified',
  );

  const version = await registerVersion(pool, {
    id,
    dataSnapshot: input.snapshot,
    hyperparameters: input.hyperparameters,
    metrics: input.metrics,
    artifactUri: written.artifactUri,
    checksum: written.checksum,
  });
  if (!input.activate) return { version };

  const promotion = await promoteVersion(
    pool,
    store,
    id,
    {
      gate: input.gate ?? defaultGate,
      force: input.forceActivate,
      actor: input.actor ?? 'cml-train',
    },
    logger,
  );
  return { version, promotion };
}
