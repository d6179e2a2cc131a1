import type { Dataset } from '@cml-rec/shared/cml/dataset';
import type { CmlHyperparameters } from '@cml-rec/shared/cml/train';
import type { EmbeddingTables } from '@cml-rec/shared/cml/tables';
import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import type { Pool } from '@cml-rec/shared/db/pool';
import type { Logger } from '@cml-rec/shared/logging/logger';
import { writeModelVersion } from '@cml-rec/shared/model/version-files';
import {
  activateVersion,
  newVersionId,
  registerVersion,
  type DataSnapshot,
  type ModelVersion,
} from '@cml-rec/shared/registry/registry';

export interface PublishInput {
  tables: EmbeddingTables;
  dataset: Dataset;
  snapshot: DataSnapshot;
  hyperparameters: CmlHyperparameters & Record<string, unknown>;
  metrics: Record<string, unknown>;
  activate: boolean;
}

/**
 * Exports and verifies the ONNX model, writes the version's artifacts, registers it as a
 * candidate and, when asked, makes it the active version.
 */
export async function publishVersion(
  pool: Pool,
  store: ArtifactStore,
  input: PublishInput,
  logger: Logger,
): Promise<ModelVersion> {
  const id = newVersionId();
  const written = await writeModelVersion(store, id, input.tables, {
    users: input.dataset.users.ids,
    items: input.dataset.items.ids,
  });
  logger.info(
    {
      version: id,
      artifactUri: written.artifactUri,
      maxAbsDiffUsers: written.verification.users.maxAbsDiff,
      maxAbsDiffItems: written.verification.items.maxAbsDiff,
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
  if (input.activate) {
    await activateVersion(pool, id, 'activated by cml-train');
    logger.info({ version: id }, 'model version activated');
  }
  return version;
}
