import type { ArtifactStore } from '@cml-rec/shared/artifacts/store';
import type { Pool, PoolClient } from '@cml-rec/shared/db/pool';
import { errorMessage } from '@cml-rec/shared/errors';
import type { Logger } from '@cml-rec/shared/logging/logger';
import {
  getActiveVersion,
  getLatestVersion,
  type DataSnapshot,
  type ModelVersion,
} from '@cml-rec/shared/registry/registry';
import type { GateConfig, GateDecision } from './gate.js';
import { trainAndEvaluate, type PipelineOptions, type PipelineResult } from './pipeline.js';
import { publishVersion } from './publish.js';
import { readSnapshot } from './snapshot.js';
import { copyWarmStartRows, loadWarmStartVectors, type WarmStartReport } from './warm-start.js';

/** Exit codes of cml-retrain; see RETRAIN.md. */
export const RetrainExitCode = {
  /** A new version was promoted, registered as asked (--no-activate), or there was nothing to do. */
  ok: 0,
  /** The run failed (database, artifacts, training); the next scheduled run may succeed. */
  failed: 1,
  /** Bad command line or configuration: fix it, retrying will not help. */
  usage: 2,
  /** A version was trained and registered, but the promotion gate kept it a candidate. */
  notPromoted: 3,
  /** Another retrain run holds the lock; this one did nothing. */
  locked: 4,
} as const;

export interface RetrainOptions {
  minRating: number;
  /**
   * How to split, train and evaluate (everything but `prepare`, which the warm start sets).
   * `ks` must include the cut-offs the gate reads (10 and 50 by default).
   */
  pipeline: Omit<PipelineOptions, 'prepare'>;
  gate: GateConfig;
  /** False: register the new version as a candidate without running the gate. */
  activate: boolean;
  /** Activate even when the gate fails. */
  forceActivate: boolean;
  /** Train even when the snapshot equals the active or latest version's. */
  force: boolean;
  /** Start known users and items from the active version's vectors. */
  warmStart: boolean;
  /** How long to wait for another run's lock before giving up; 0 gives up at once. */
  lockWaitMs: number;
  /** The command recorded in the registry's reasons (default cml-retrain). */
  actor?: string;
}

export type RetrainOutcome =
  | { status: 'locked' }
  | { status: 'unchanged'; snapshot: DataSnapshot; matches: ModelVersion }
  | { status: 'empty'; snapshot: DataSnapshot }
  | {
      status: 'promoted' | 'rejected' | 'registered';
      snapshot: DataSnapshot;
      version: ModelVersion;
      /** The new version's test-split evaluation (CML and the baselines). */
      evaluation: PipelineResult['evaluation'];
      trainSeconds: number;
      decision?: GateDecision;
      warmStart?: WarmStartReport;
    };

export function exitCodeFor(outcome: RetrainOutcome): number {
  switch (outcome.status) {
    case 'locked':
      return RetrainExitCode.locked;
    case 'rejected':
      return RetrainExitCode.notPromoted;
    default:
      return RetrainExitCode.ok;
  }
}

/**
 * One scheduled retraining, safe to start any number of times at once and idempotent:
 *
 * 1. take the retrain lock (a session-level PostgreSQL advisory lock keyed on the schema) or
 *    return `locked` without touching anything;
 * 2. read a consistent snapshot; if it holds exactly the interactions of the active or the
 *    latest version (same maxInteractionId and interactionCount), return `unchanged`;
 * 3. train CML, starting known users and items from the active version's vectors;
 * 4. evaluate, export and verify ONNX, register, and promote through the gate.
 *
 * The lock is released when the run ends, and by PostgreSQL if the process dies.
 */
export async function retrain(
  pool: Pool,
  store: ArtifactStore,
  options: RetrainOptions,
  logger: Logger,
): Promise<RetrainOutcome> {
  const lock = await acquireRetrainLock(pool, options.lockWaitMs);
  if (!lock) {
    logger.warn('another retrain run holds the lock; nothing done');
    return { status: 'locked' };
  }
  try {
    return await retrainLocked(pool, store, options, logger);
  } finally {
    await lock.release();
  }
}

async function retrainLocked(
  pool: Pool,
  store: ArtifactStore,
  options: RetrainOptions,
  logger: Logger,
): Promise<RetrainOutcome> {
  const {
    dataset,
    info: snapshot,
    itemFeatures,
    unseenItems,
  } = await readSnapshot(pool, options.minRating);
  logger.info({ ...snapshot }, 'snapshot read');
  const active = await getActiveVersion(pool);
  const latest = await getLatestVersion(pool);
  const matches = [active, latest].find(
    (version) => version && sameSnapshot(version.dataSnapshot, snapshot),
  );
  if (matches && !options.force) {
    return { status: 'unchanged', snapshot, matches };
  }
  if (dataset.positives.numPairs === 0) return { status: 'empty', snapshot };

  let warmStart: WarmStartReport | undefined;
  const source =
    options.warmStart && active ? await loadWarmStartSafely(store, active, logger) : undefined;
  const result = await trainAndEvaluate(dataset, {
    ...options.pipeline,
    itemFeatures,
    coldItems: unseenItems,
    prepare: source
      ? (state, trainingSet) => {
          warmStart = copyWarmStartRows(state.tables, trainingSet, source);
          logger.info({ ...warmStart }, 'warm start applied');
        }
      : undefined,
  });

  const { version, promotion } = await publishVersion(
    pool,
    store,
    {
      tables: result.state.tables,
      dataset,
      snapshot,
      hyperparameters: {
        ...options.pipeline.hyperparameters,
        minRating: options.minRating,
        testFraction: options.pipeline.testFraction,
        validationFraction: options.pipeline.validationFraction ?? null,
        splitSeed: options.pipeline.splitSeed,
        warmStart: warmStart ?? null,
      },
      metrics: { ...result.evaluation, trainSeconds: result.fit.trainSeconds },
      encoder: result.encoder && {
        spec: { layers: result.encoder.layers, metadata: { modelVersion: 'unassigned' } },
        featureVocabulary: result.encoder.vocabulary,
      },
      activate: options.activate,
      gate: options.gate,
      forceActivate: options.forceActivate,
      actor: options.actor ?? 'cml-retrain',
    },
    logger,
  );
  const base = {
    snapshot,
    warmStart,
    evaluation: result.evaluation,
    trainSeconds: result.fit.trainSeconds,
  };
  if (!promotion) return { ...base, status: 'registered', version };
  if (promotion.outcome === 'rejected') {
    return { ...base, status: 'rejected', version, decision: promotion.decision };
  }
  return {
    ...base,
    status: 'promoted',
    version,
    decision: promotion.outcome === 'promoted' ? promotion.decision : undefined,
  };
}

/** Two snapshots hold the same interactions when they end at the same id with the same count. */
export function sameSnapshot(a: DataSnapshot, b: DataSnapshot): boolean {
  return a.maxInteractionId === b.maxInteractionId && a.interactionCount === b.interactionCount;
}

/**
 * The active version's vectors, or undefined (and a warning) when they cannot be read: a
 * damaged active version must not stop the job that can replace it, so training starts cold.
 */
async function loadWarmStartSafely(store: ArtifactStore, active: ModelVersion, logger: Logger) {
  try {
    return await loadWarmStartVectors(store, active);
  } catch (error) {
    logger.warn(
      { version: active.id, err: error, reason: errorMessage(error) },
      'cannot read the active version for the warm start; training from scratch',
    );
    return undefined;
  }
}

// Key class of the retrain lock; the second key is the schema's hash, so deployments (and test
// schemas) sharing a database have independent locks.
const RETRAIN_LOCK_CLASS = 0x636d6c74;
const LOCK_POLL_MS = 1000;

export interface RetrainLock {
  release(): Promise<void>;
}

/**
 * Takes the session-level advisory lock on a dedicated connection, polling up to `waitMs`;
 * undefined when another session holds it. Session locks need a direct connection (or a pooler
 * in session mode): PgBouncer's transaction mode would hand the lock to another client.
 */
export async function acquireRetrainLock(pool: Pool, waitMs = 0): Promise<RetrainLock | undefined> {
  const client: PoolClient = await pool.connect();
  const deadline = Date.now() + waitMs;
  try {
    for (;;) {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext(current_schema())) AS locked',
        [RETRAIN_LOCK_CLASS],
      );
      if (rows[0].locked) break;
      if (Date.now() >= deadline) {
        client.release();
        return undefined;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(LOCK_POLL_MS, waitMs)));
    }
  } catch (error) {
    client.release(error instanceof Error ? error : true);
    throw error;
  }
  return {
    async release() {
      try {
        await client.query('SELECT pg_advisory_unlock($1, hashtext(current_schema()))', [
          RETRAIN_LOCK_CLASS,
        ]);
        client.release();
      } catch (error) {
        // Destroying the connection ends the session, which frees the lock as well.
        client.release(error instanceof Error ? error : true);
      }
    },
  };
}
