import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import type { Pool } from '@cml-rec/shared/db/pool';
import type { Logger } from '@cml-rec/shared/logging/logger';
import { getActiveVersion } from '@cml-rec/shared/registry/registry';
import type { IndexParameters } from './item-index.js';
import { ServingModel } from './serving-model.js';

/**
 * Holds the model that requests use and replaces it when the registry's active version
 * changes. A new version is loaded and indexed beside the current one and swapped in with a
 * single assignment, so a request sees either the old model or the new one, never a mix.
 * A version that fails to load (a corrupt artifact, say) is logged and skipped: the current
 * one keeps serving.
 */
export class ModelHolder {
  private model: ServingModel | undefined;
  private loading: Promise<void> | undefined;
  private failedVersion: string | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly store: ArtifactStore,
    private readonly parameters: IndexParameters,
    private readonly logger: Logger,
  ) {}

  get current(): ServingModel | undefined {
    return this.model;
  }

  /** Loads the active version if it is not the one serving; concurrent calls share one load. */
  refresh(): Promise<void> {
    this.loading ??= this.loadActive().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async loadActive(): Promise<void> {
    const active = await getActiveVersion(this.pool);
    if (!active) {
      this.logger.warn('no active model version yet: train one with cml-train');
      return;
    }
    if (active.id === this.model?.versionId || active.id === this.failedVersion) return;

    const started = performance.now();
    try {
      const next = await ServingModel.load(this.store, active, this.parameters);
      const previous = this.model?.versionId;
      this.model = next;
      this.failedVersion = undefined;
      this.logger.info(
        {
          version: next.versionId,
          previous,
          items: next.numItems,
          loadMs: Math.round(performance.now() - started),
        },
        'model version serving',
      );
    } catch (error) {
      this.failedVersion = active.id;
      this.logger.error(
        { err: error, version: active.id, serving: this.model?.versionId },
        'failed to load model version; keeping the current one',
      );
    }
  }
}
