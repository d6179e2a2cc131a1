import { AppError } from '../errors.js';
import { withTransaction, type Pool } from '../db/pool.js';

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
}

export type NewModelVersion = Omit<ModelVersion, 'createdAt' | 'status' | 'statusReason'>;

/** The PostgreSQL channel on which activations are announced to recommenders. */
export const ACTIVATION_CHANNEL = 'cml_model_activated';

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
  };
}

/** Records a new version as a candidate. Its artifacts must already be written. */
export async function registerVersion(pool: Pool, version: NewModelVersion): Promise<ModelVersion> {
  const { rows } = await pool.query<VersionRow>(
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
  return toVersion(rows[0]);
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

export async function listVersions(pool: Pool, limit = 50): Promise<ModelVersion[]> {
  const { rows } = await pool.query<VersionRow>(
    'SELECT * FROM model_versions ORDER BY created_at DESC, id DESC LIMIT $1',
    [limit],
  );
  return rows.map(toVersion);
}

/**
 * Makes `id` the active version in one transaction: the previous active one is retired with
 * the reason, and recommenders listening on ACTIVATION_CHANNEL are told after commit.
 */
export async function activateVersion(pool: Pool, id: string, reason: string): Promise<void> {
  await withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ status: VersionStatus }>(
      'SELECT status FROM model_versions WHERE id = $1 FOR UPDATE',
      [id],
    );
    if (rows.length === 0) {
      throw new AppError('VERSION_NOT_FOUND', `model version ${id} is not registered`, {
        status: 404,
      });
    }
    await client.query(
      `UPDATE model_versions SET status = 'retired', status_reason = $2
        WHERE status = 'active' AND id <> $1`,
      [id, `replaced by ${id}`],
    );
    await client.query(
      "UPDATE model_versions SET status = 'active', status_reason = $2 WHERE id = $1",
      [id, reason],
    );
    await client.query('SELECT pg_notify($1, $2)', [ACTIVATION_CHANNEL, id]);
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
