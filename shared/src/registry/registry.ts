import { AppError } from '../errors.js';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.js';

export type VersionStatus = 'candidate' | 'active' | 'retired';

/** What a model version learned from: enough to say exactly which data it saw. */
export interface DataSnapshot {
  interactionCount: number;
  /** Newest interaction timestamp in the snapshot (ISO-8601), null when empty. */
  latestTimestamp: string | null;
  /** Largest interactions.id in the snapshot: rows above it arrived later. */
  maxInteractionId: number;
  users: number;
  items: number;
  positives: number;
}

export interface ModelVersion {
  id: string;
  createdAt: Date;
  status: VersionStatus;
  statusReason: string | null;
  dataSnapshot: DataSnapshot;
  hyperparameters: Record<string, unknown>;
  metrics: Record<string, unknown>;
  artifactUri: string;
  /** sha256 of the version's manifest, which lists every artifact file with its own sha256. */
  checksum: string;
  /** When the version last became active; null if it never was. */
  promotedAt: Date | null;
  /** The version that was active when this one was promoted: where a rollback returns to. */
  previousActive: string | null;
}

export type NewModelVersion = Omit<
  ModelVersion,
  'createdAt' | 'status' | 'statusReason' | 'promotedAt' | 'previousActive'
>;

export type VersionEventKind = 'registered' | 'activated' | 'rejected' | 'retired' | 'rolled_back';

/** One registry decision about a version, from the append-only `model_version_events` log. */
export interface VersionEvent {
  id: number;
  versionId: string;
  event: VersionEventKind;
  reason: string;
  details: Record<string, unknown>;
  createdAt: Date;
}

/** The PostgreSQL channel on which activations are announced to recommenders. */
export const ACTIVATION_CHANNEL = 'cml_model_activated';

/** Stable codes of the registry's errors. */
export const RegistryErrorCode = {
  notFound: 'VERSION_NOT_FOUND',
  /** The active version changed between the caller's decision and the switch (retriable). */
  activeChanged: 'ACTIVE_VERSION_CHANGED',
  /** A rollback was asked for but there is nothing to return to. */
  noRollbackTarget: 'NO_ROLLBACK_TARGET',
} as const;

// Every change of the active pointer takes this transaction-level advisory lock (keyed on the
// schema as well, so deployments and test schemas sharing a database never wait on each other).
const REGISTRY_LOCK_CLASS = 0x636d6c76;

interface VersionRow {
  id: string;
  created_at: Date;
  status: VersionStatus;
  status_reason: string | null;
  data_snapshot: DataSnapshot;
  hyperparameters: Record<string, unknown>;
  metrics: Record<string, unknown>;
  artifact_uri: string;
  checksum: string;
  promoted_at: Date | null;
  previous_active: string | null;
}

function toVersion(row: VersionRow): ModelVersion {
  return {
    id: row.id,
    createdAt: row.created_at,
    status: row.status,
    statusReason: row.status_reason,
    dataSnapshot: row.data_snapshot,
    hyperparameters: row.hyperparameters,
    metrics: row.metrics,
    artifactUri: row.artifact_uri,
    checksum: row.checksum,
    promotedAt: row.promoted_at ?? null,
    previousActive: row.previous_active ?? null,
  };
}

type Queryable = Pick<PoolClient, 'query'>;

async function recordEvent(
  client: Queryable,
  versionId: string,
  event: VersionEventKind,
  reason: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  await client.query(
    `INSERT INTO model_version_events (version_id, event, reason, details)
     VALUES ($1, $2, $3, $4)`,
    [versionId, event, reason, JSON.stringify(details)],
  );
}

/** Records a new version as a candidate. Its artifacts must already be written. */
export async function registerVersion(pool: Pool, version: NewModelVersion): Promise<ModelVersion> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<VersionRow>(
      `INSERT INTO model_versions
         (id, status, status_reason, data_snapshot, hyperparameters, metrics, artifact_uri, checksum)
       VALUES ($1, 'candidate', 'registered', $2, $3, $4, $5, $6)
       RETURNING *`,
      [
        version.id,
        JSON.stringify(version.dataSnapshot),
        JSON.stringify(version.hyperparameters),
        JSON.stringify(version.metrics),
        version.artifactUri,
        version.checksum,
      ],
    );
    await recordEvent(client, version.id, 'registered', 'registered', {
      artifactUri: version.artifactUri,
      checksum: version.checksum,
    });
    return toVersion(rows[0]);
  });
}

export async function getVersion(pool: Pool, id: string): Promise<ModelVersion | undefined> {
  const { rows } = await pool.query<VersionRow>('SELECT * FROM model_versions WHERE id = $1', [id]);
  return rows[0] && toVersion(rows[0]);
}

export async function getActiveVersion(pool: Pool): Promise<ModelVersion | undefined> {
  const { rows } = await pool.query<VersionRow>(
    "SELECT * FROM model_versions WHERE status = 'active'",
  );
  return rows[0] && toVersion(rows[0]);
}

/** The most recently registered version, whatever its status. */
export async function getLatestVersion(pool: Pool): Promise<ModelVersion | undefined> {
  const [latest] = await listVersions(pool, 1);
  return latest;
}

export async function listVersions(pool: Pool, limit = 50): Promise<ModelVersion[]> {
  const { rows } = await pool.query<VersionRow>(
    'SELECT * FROM model_versions ORDER BY created_at DESC, id DESC LIMIT $1',
    [limit],
  );
  return rows.map(toVersion);
}

/** A version's registry history, oldest first. */
export async function listVersionEvents(pool: Pool, id: string): Promise<VersionEvent[]> {
  const { rows } = await pool.query<{
    id: string;
    version_id: string;
    event: VersionEventKind;
    reason: string;
    details: Record<string, unknown>;
    created_at: Date;
  }>('SELECT * FROM model_version_events WHERE version_id = $1 ORDER BY id', [id]);
  return rows.map((row) => ({
    id: Number(row.id),
    versionId: row.version_id,
    event: row.event,
    reason: row.reason,
    details: row.details,
    createdAt: row.created_at,
  }));
}

export interface ActivateOptions {
  /**
   * The id the caller saw as active when it decided (null: none). When the active version is
   * another one by the time of the switch, nothing changes and ACTIVE_VERSION_CHANGED is thrown,
   * so a promotion gate never compares against one version and replaces another.
   */
  expectedActive?: string | null;
  /** Stored with the `activated` event (e.g. the gate's checks, or that it was forced). */
  details?: Record<string, unknown>;
}

export interface ActivationResult {
  /** False when `id` was already the active version (nothing changed, nobody notified). */
  changed: boolean;
  /** The version that was active before, now retired. */
  previousActive: string | null;
}

/**
 * Makes `id` the active version in one transaction: the previous active one is retired with
 * the reason and remembered as `id`'s `previous_active` (the rollback target), and recommenders
 * listening on ACTIVATION_CHANNEL are told after commit.
 */
export async function activateVersion(
  pool: Pool,
  id: string,
  reason: string,
  options: ActivateOptions = {},
): Promise<ActivationResult> {
  return withTransaction(pool, async (client) => {
    await lockRegistry(client);
    const { rows } = await client.query<{ status: VersionStatus }>(
      'SELECT status FROM model_versions WHERE id = $1 FOR UPDATE',
      [id],
    );
    if (rows.length === 0) {
      throw new AppError(RegistryErrorCode.notFound, `model version ${id} is not registered`, {
        status: 404,
      });
    }
    const current = await currentActiveId(client);
    checkExpectedActive(current, options.expectedActive);
    if (current === id) return { changed: false, previousActive: null };

    if (current !== null) {
      const retired = `replaced by ${id}`;
      await client.query(
        "UPDATE model_versions SET status = 'retired', status_reason = $2 WHERE id = $1",
        [current, retired],
      );
      await recordEvent(client, current, 'retired', retired, { replacedBy: id });
    }
    await client.query(
      `UPDATE model_versions
          SET status = 'active', status_reason = $2, promoted_at = now(), previous_active = $3
        WHERE id = $1`,
      [id, reason, current],
    );
    await recordEvent(client, id, 'activated', reason, {
      previousActive: current,
      ...options.details,
    });
    await client.query('SELECT pg_notify($1, $2)', [ACTIVATION_CHANNEL, id]);
    return { changed: true, previousActive: current };
  });
}

/** Where a rollback would go: the active version and the one that was active before it. */
export async function getRollbackTarget(
  pool: Pool,
): Promise<{ active: ModelVersion; target: ModelVersion }> {
  const active = await getActiveVersion(pool);
  if (!active) {
    throw new AppError(
      RegistryErrorCode.noRollbackTarget,
      'no version is active, so there is nothing to roll back',
      { status: 409 },
    );
  }
  const target = active.previousActive ? await getVersion(pool, active.previousActive) : undefined;
  if (!target) {
    throw new AppError(
      RegistryErrorCode.noRollbackTarget,
      `active version ${active.id} has no previously active version to roll back to`,
      { status: 409 },
    );
  }
  return { active, target };
}

/**
 * Re-activates the version that was active before the current one, in one transaction: the
 * current one is retired (event `rolled_back`), the previous one becomes active keeping its own
 * `previous_active`, so a second rollback goes one step further back. Recommenders are told on
 * ACTIVATION_CHANNEL. `expectedActive` guards against a promotion in between, as in
 * `activateVersion`.
 */
export async function rollbackVersion(
  pool: Pool,
  reason: string,
  options: { expectedActive?: string } = {},
): Promise<{ from: string; to: string }> {
  return withTransaction(pool, async (client) => {
    await lockRegistry(client);
    const { rows } = await client.query<{ id: string; previous_active: string | null }>(
      "SELECT id, previous_active FROM model_versions WHERE status = 'active' FOR UPDATE",
    );
    const active = rows[0];
    checkExpectedActive(active?.id ?? null, options.expectedActive);
    if (!active || active.previous_active === null) {
      throw new AppError(
        RegistryErrorCode.noRollbackTarget,
        active
          ? `active version ${active.id} has no previously active version to roll back to`
          : 'no version is active, so there is nothing to roll back',
        { status: 409 },
      );
    }
    const from = active.id;
    const to = active.previous_active;
    await client.query(
      "UPDATE model_versions SET status = 'retired', status_reason = $2 WHERE id = $1",
      [from, `rolled back to ${to}: ${reason}`],
    );
    await recordEvent(client, from, 'rolled_back', reason, { rolledBackTo: to });
    await client.query(
      `UPDATE model_versions SET status = 'active', status_reason = $2, promoted_at = now()
        WHERE id = $1`,
      [to, `rollback from ${from}: ${reason}`],
    );
    await recordEvent(client, to, 'activated', reason, { rollbackFrom: from });
    await client.query('SELECT pg_notify($1, $2)', [ACTIVATION_CHANNEL, to]);
    return { from, to };
  });
}

/**
 * Records that a version stays a candidate (e.g. the promotion gate refused it): the reason
 * becomes its `status_reason`, and a `rejected` event keeps the details.
 */
export async function rejectVersion(
  pool: Pool,
  id: string,
  reason: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rowCount } = await client.query(
      'UPDATE model_versions SET status_reason = $2 WHERE id = $1',
      [id, reason],
    );
    if (rowCount === 0) {
      throw new AppError(RegistryErrorCode.notFound, `model version ${id} is not registered`, {
        status: 404,
      });
    }
    await recordEvent(client, id, 'rejected', reason, details);
  });
}

/** Records why a version stays where it is (e.g. a failed promotion gate). */
export async function setStatusReason(pool: Pool, id: string, reason: string): Promise<void> {
  await pool.query('UPDATE model_versions SET status_reason = $2 WHERE id = $1', [id, reason]);
}

/** A sortable, unique version id: UTC time to the millisecond plus a random suffix. */
export function newVersionId(
  now = new Date(),
  suffix = Math.random().toString(36).slice(2, 8),
): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace('T', '-')
    .replace('.', '')
    .slice(0, 18);
  return `v${stamp}-${suffix}`;
}

async function lockRegistry(client: Queryable): Promise<void> {
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [
    REGISTRY_LOCK_CLASS,
  ]);
}

async function currentActiveId(client: Queryable): Promise<string | null> {
  const { rows } = await client.query<{ id: string }>(
    "SELECT id FROM model_versions WHERE status = 'active' FOR UPDATE",
  );
  return rows[0]?.id ?? null;
}

function checkExpectedActive(current: string | null, expected: string | null | undefined): void {
  if (expected === undefined || expected === current) return;
  throw new AppError(
    RegistryErrorCode.activeChanged,
    `the active version is ${current ?? 'none'}, not ${expected ?? 'none'} as expected: ` +
      'another promotion or rollback happened meanwhile; decide again',
    { status: 409, retriable: true, details: { current, expected } },
  );
}
