import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import type { Pool, PoolClient } from '@cml-rec/shared/db/pool';
import type { Logger } from '@cml-rec/shared/logging/logger';
import {
  ACTIVATION_CHANNEL,
  getActiveVersion,
  getVersion,
} from '@cml-rec/shared/registry/registry';
import type { RecommenderMetrics } from '../metrics.js';
import type { Variant } from '../rollouts/assignment.js';
import { getRunningRollout, ROLLOUT_CHANNEL } from '../rollouts/rollout-store.js';
import type { IndexParameters } from './item-index.js';
import { ServingModel } from './serving-model.js';

export interface ServingVariant extends Variant {
  model: ServingModel;
}

/** Everything a request needs to pick its model; replaced whole, never modified. */
export interface ServingState {
  /** The registry's active version: served to everyone outside a rollout. */
  active: ServingModel | undefined;
  rollout: { id: string; salt: string; variants: ServingVariant[] } | undefined;
}

/** How long after a swap the replaced model's graph and encoder are freed, unless configured. */
export const DEFAULT_RELEASE_DELAY_MS = 30_000;

export interface ModelHolderOptions {
  /** A version that failed to load is tried again after this long (ms). */
  retryFailedMs?: number;
  /**
   * A replaced model's native resources (HNSW graph, encoder session) are freed this long
   * after the swap (ms); its vectors and id maps go with garbage collection.
   */
  releaseDelayMs?: number;
  metrics?: RecommenderMetrics;
}

/**
 * Holds the models requests use and replaces them when the registry's active version or the
 * running rollout changes. New versions are loaded and indexed beside the current ones
 * (`ServingModel.load` builds HNSW in a worker thread) and the whole `ServingState` is swapped
 * with a single assignment, so a request sees the old state or the new one, never a mix.
 *
 * A version that fails to load (a truncated or altered artifact) is logged, counted and
 * skipped: the previous active version keeps serving, and a rollout that needs it is not
 * applied. Changes arrive by LISTEN/NOTIFY (`listen()`), with `refresh()` polling as the
 * fallback.
 */
export class ModelHolder {
  private state: ServingState = { active: undefined, rollout: undefined };
  private readonly loaded = new Map<string, ServingModel>();
  private readonly failed = new Map<string, number>();
  private loading: Promise<void> | undefined;
  private again = false;
  private listener: PoolClient | undefined;
  private listening = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly store: ArtifactStore,
    private readonly parameters: IndexParameters,
    private readonly logger: Logger,
    private readonly options: ModelHolderOptions = {},
  ) {}

  /** The active version's model (undefined until one has loaded). */
  get current(): ServingModel | undefined {
    return this.state.active;
  }

  get serving(): ServingState {
    return this.state;
  }

  /**
   * Brings the state in line with the database. Concurrent calls share one reconciliation;
   * a call that arrives during one schedules exactly one more, so no change is missed.
   */
  refresh(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        await this.reconcile();
      } while (this.again);
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }

  /** Subscribes to activation and rollout notifications; reconnects after a lost connection. */
  async listen(): Promise<void> {
    this.listening = true;
    await this.connectListener();
  }

  async close(): Promise<void> {
    this.listening = false;
    clearTimeout(this.reconnectTimer);
    const client = this.listener;
    this.listener = undefined;
    if (client) {
      await client.query(`UNLISTEN *`).catch(() => undefined);
      client.release();
    }
    await this.loading?.catch(() => undefined);
    const models = [...this.loaded.values()];
    this.loaded.clear();
    this.state = { active: undefined, rollout: undefined };
    await Promise.all(models.map((model) => model.release()));
  }

  private async connectListener(): Promise<void> {
    if (!this.listening) return;
    let client: PoolClient | undefined;
    try {
      client = await this.pool.connect();
      const onLost = (error?: Error) => {
        if (this.listener !== client) return;
        this.listener = undefined;
        client?.release(error ?? true);
        this.logger.warn({ err: error }, 'notification connection lost; polling until it is back');
        this.scheduleReconnect();
      };
      client.on('notification', (message) => {
        this.logger.info({ channel: message.channel, payload: message.payload }, 'change notified');
        void this.refresh().catch((error) => this.logger.warn({ err: error }, 'refresh failed'));
      });
      client.on('error', onLost);
      client.on('end', () => onLost());
      await client.query(`LISTEN ${ACTIVATION_CHANNEL}`);
      await client.query(`LISTEN ${ROLLOUT_CHANNEL}`);
      this.listener = client;
      // A change made while we were not listening is picked up now.
      void this.refresh().catch((error) => this.logger.warn({ err: error }, 'refresh failed'));
    } catch (error) {
      client?.release(true);
      this.logger.warn({ err: error }, 'failed to listen for notifications; retrying');
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (!this.listening) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => void this.connectListener(), 1000);
    this.reconnectTimer.unref();
  }

  private async reconcile(): Promise<void> {
    const [active, rollout] = await Promise.all([
      getActiveVersion(this.pool),
      getRunningRollout(this.pool),
    ]);
    if (!active && !rollout) {
      if (!this.state.active)
        this.logger.warn('no active model version yet: train one with cml-train');
      return;
    }

    const wanted = new Set<string>();
    if (active) wanted.add(active.id);
    for (const variant of rollout?.variants ?? []) wanted.add(variant.modelVersion);
    for (const id of wanted) await this.ensureLoaded(id);

    const previous = this.state;
    const activeModel = (active && this.loaded.get(active.id)) ?? previous.active;
    let servingRollout: ServingState['rollout'];
    if (rollout) {
      const variants = rollout.variants.map((variant) => ({
        ...variant,
        model: this.loaded.get(variant.modelVersion),
      }));
      if (variants.every((variant) => variant.model !== undefined)) {
        servingRollout = {
          id: rollout.id,
          salt: rollout.salt,
          variants: variants as ServingVariant[],
        };
      } else {
        this.logger.error(
          {
            rollout: rollout.id,
            missing: variants.filter((v) => !v.model).map((v) => v.modelVersion),
          },
          'rollout not applied: a variant model version failed to load',
        );
      }
    }

    const next: ServingState = { active: activeModel, rollout: servingRollout };
    if (next.active === previous.active && sameRollout(next.rollout, previous.rollout)) return;
    this.state = next;
    this.logger.info(
      {
        version: next.active?.versionId,
        previous: previous.active?.versionId,
        rollout: next.rollout?.id,
        variants: next.rollout?.variants.map((v) => `${v.name}=${v.model.versionId}`),
      },
      'serving state swapped',
    );
    this.updateGauge();
    this.dropUnused();
  }

  private async ensureLoaded(id: string): Promise<void> {
    if (this.loaded.has(id)) return;
    const failedAt = this.failed.get(id);
    if (failedAt !== undefined && Date.now() - failedAt < (this.options.retryFailedMs ?? 300_000)) {
      return;
    }

    const started = performance.now();
    try {
      const version = await getVersion(this.pool, id);
      if (!version) throw new Error(`model version ${id} is not registered`);
      const model = await ServingModel.load(this.store, version, this.parameters);
      this.loaded.set(id, model);
      this.failed.delete(id);
      const seconds = (performance.now() - started) / 1000;
      this.options.metrics?.modelLoadSeconds.observe(seconds);
      this.logger.info(
        { version: id, items: model.numItems, loadMs: Math.round(seconds * 1000) },
        'model version loaded',
      );
    } catch (error) {
      this.failed.set(id, Date.now());
      this.options.metrics?.modelLoadFailures.inc();
      this.logger.error(
        { err: error, version: id, serving: this.state.active?.versionId },
        'failed to load model version; keeping the current one',
      );
    }
  }

  /** Forgets models the current state no longer uses; requests still holding one finish first. */
  private dropUnused(): void {
    const used = new Set<ServingModel>();
    if (this.state.active) used.add(this.state.active);
    for (const variant of this.state.rollout?.variants ?? []) used.add(variant.model);
    for (const [id, model] of this.loaded) {
      if (used.has(model)) continue;
      this.loaded.delete(id);
      // Requests that already hold the model may still be searching or encoding: free its
      // graph and encoder once they are surely done (a late search falls back to exact).
      const release = model.releaser();
      const timer = setTimeout(
        () =>
          void release().catch((error: unknown) =>
            this.logger.warn({ err: error, version: id }, 'failed to free a replaced model'),
          ),
        this.options.releaseDelayMs ?? DEFAULT_RELEASE_DELAY_MS,
      );
      timer.unref();
    }
  }

  private updateGauge(): void {
    const gauge = this.options.metrics?.modelsServing;
    if (!gauge) return;
    gauge.reset();
    if (this.state.active) gauge.set({ version: this.state.active.versionId, role: 'active' }, 1);
    for (const variant of this.state.rollout?.variants ?? []) {
      gauge.set({ version: variant.model.versionId, role: `variant:${variant.name}` }, 1);
    }
  }
}

function sameRollout(a: ServingState['rollout'], b: ServingState['rollout']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.id === b.id &&
    a.salt === b.salt &&
    a.variants.length === b.variants.length &&
    a.variants.every((variant, n) => {
      const other = b.variants[n];
      return (
        variant.name === other.name &&
        variant.weight === other.weight &&
        variant.model === other.model
      );
    })
  );
}
