import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Pool, PoolClient } from '@cml-rec/shared/db/pool';
import { withTransaction } from '@cml-rec/shared/db/pool';
import { AppError, InputError } from '@cml-rec/shared/errors';
import { storableTextSchema } from '../http/validation.js';
import type { Variant } from './assignment.js';
import { wilsonInterval, type RateEstimate } from './report.js';

/** Announced after a rollout is started or stopped, so every replica reloads at once. */
export const ROLLOUT_CHANNEL = 'cml_rollout_changed';

export interface Rollout {
  id: string;
  salt: string;
  variants: Variant[];
  status: 'running' | 'stopped';
  createdAt: Date;
  updatedAt: Date;
}

export const rolloutIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The body of PUT /v1/rollouts/{id}. */
export const rolloutRequestSchema = z.strictObject({
  salt: storableTextSchema(1, 128).optional(),
  variants: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1 to 64)'),
        modelVersion: storableTextSchema(1, 256),
        weight: z.number().positive().max(1_000_000),
      }),
    )
    .min(1)
    .max(16)
    .refine((variants) => new Set(variants.map((v) => v.name)).size === variants.length, {
      message: 'variant names must be unique',
    }),
});
export type RolloutRequest = z.infer<typeof rolloutRequestSchema>;

interface RolloutRow {
  id: string;
  salt: string;
  variants: Variant[];
  status: 'running' | 'stopped';
  created_at: Date;
  updated_at: Date;
}

function toRollout(row: RolloutRow): Rollout {
  return {
    id: row.id,
    salt: row.salt,
    variants: row.variants,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function getRunningRollout(pool: Pool): Promise<Rollout | undefined> {
  const { rows } = await pool.query<RolloutRow>("SELECT * FROM rollouts WHERE status = 'running'");
  return rows[0] && toRollout(rows[0]);
}

export async function getRollout(pool: Pool, id: string): Promise<Rollout | undefined> {
  const { rows } = await pool.query<RolloutRow>('SELECT * FROM rollouts WHERE id = $1', [id]);
  return rows[0] && toRollout(rows[0]);
}

/**
 * Starts rollout `id` with the given variants, stopping any other running one. Every variant's
 * model version must be registered. The salt is kept when the rollout already exists (so
 * changing weights does not reshuffle users) unless a new one is given; otherwise it is random.
 */
export async function startRollout(
  pool: Pool,
  id: string,
  request: RolloutRequest,
): Promise<Rollout> {
  return withTransaction(pool, async (client) => {
    // Starts take turns: under READ COMMITTED two concurrent starts each stop only the rollout
    // running when they began, then both insert a running row and one fails on
    // rollouts_one_running. Taken in turn, each stops the one before, exactly as a single start
    // does. The lock mode conflicts with itself and other writers, not with readers.
    await client.query('LOCK TABLE rollouts IN SHARE ROW EXCLUSIVE MODE');
    const versions = [...new Set(request.variants.map((variant) => variant.modelVersion))];
    const { rows: known } = await client.query<{ id: string }>(
      'SELECT id FROM model_versions WHERE id = ANY($1::text[])',
      [versions],
    );
    const missing = versions.filter((version) => !known.some((row) => row.id === version));
    if (missing.length > 0) {
      throw new AppError(
        'VERSION_NOT_FOUND',
        `model versions not registered: ${missing.join(', ')}`,
        {
          status: 404,
          details: { missing },
        },
      );
    }

    await client.query(
      "UPDATE rollouts SET status = 'stopped', updated_at = now() WHERE status = 'running' AND id <> $1",
      [id],
    );
    const rows = await upsertRunning(client, id, request).catch((error: unknown) => {
      throw isOneRunningViolation(error) ? rolloutConflict(id) : error;
    });
    await client.query('SELECT pg_notify($1, $2)', [ROLLOUT_CHANNEL, id]);
    return toRollout(rows[0]);
  });
}

async function upsertRunning(
  client: PoolClient,
  id: string,
  request: RolloutRequest,
): Promise<RolloutRow[]> {
  const { rows } = await client.query<RolloutRow>(
    `INSERT INTO rollouts (id, salt, variants, status)
       VALUES ($1, $2, $3, 'running')
       ON CONFLICT (id) DO UPDATE
         SET salt = COALESCE($4, rollouts.salt), variants = EXCLUDED.variants,
             status = 'running', updated_at = now()
       RETURNING *`,
    [
      id,
      request.salt ?? randomBytes(12).toString('hex'),
      JSON.stringify(request.variants),
      request.salt ?? null,
    ],
  );
  return rows;
}

/** Only reachable when something writes rollouts without the lock startRollout takes. */
function isOneRunningViolation(error: unknown): boolean {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === 'rollouts_one_running';
}

function rolloutConflict(id: string): AppError {
  return new AppError(
    'ROLLOUT_CONFLICT',
    `rollout ${JSON.stringify(id)} was not started: another rollout started running at the same time; stop it (POST /v1/rollouts/{id}/stop) or retry`,
    { status: 409 },
  );
}

export async function stopRollout(pool: Pool, id: string): Promise<Rollout> {
  const { rows } = await pool.query<RolloutRow>(
    "UPDATE rollouts SET status = 'stopped', updated_at = now() WHERE id = $1 RETURNING *",
    [id],
  );
  if (rows.length === 0) throw rolloutNotFound(id);
  await pool.query('SELECT pg_notify($1, $2)', [ROLLOUT_CHANNEL, id]);
  return toRollout(rows[0]);
}

export interface VariantReport {
  variant: string;
  modelVersion: string;
  /** Lists served. */
  impressions: number;
  /** Distinct users (or sessions) served. */
  users: number;
  /** Impressions after which the user interacted with at least one recommended item. */
  converted: number;
  /** converted / impressions with a 95% Wilson interval. */
  conversion: RateEstimate;
}

/**
 * Per variant: impressions, and how many were followed by an interaction of the same user
 * with one of the listed items (occurred at or after the list was served).
 */
export async function rolloutReport(
  pool: Pool,
  id: string,
): Promise<{ rollout: Rollout; variants: VariantReport[] }> {
  const rollout = await getRollout(pool, id);
  if (!rollout) throw rolloutNotFound(id);

  const { rows } = await pool.query<{
    variant: string;
    impressions: string;
    users: string;
    converted: string;
  }>(
    `SELECT imp.variant,
            count(*) AS impressions,
            count(DISTINCT imp.user_id) AS users,
            count(*) FILTER (WHERE EXISTS (
              SELECT 1
                FROM users u
                JOIN interactions x ON x.user_id = u.id
                JOIN items i ON i.id = x.item_id
               WHERE u.external_id = imp.user_id
                 AND i.external_id = ANY (imp.item_ids)
                 AND x.occurred_at >= imp.served_at)) AS converted
       FROM impressions imp
      WHERE imp.rollout_id = $1
      GROUP BY imp.variant`,
    [id],
  );
  const byName = new Map(rows.map((row) => [row.variant, row]));
  const variants = rollout.variants.map((variant) => {
    const row = byName.get(variant.name);
    const impressions = Number(row?.impressions ?? 0);
    const converted = Number(row?.converted ?? 0);
    return {
      variant: variant.name,
      modelVersion: variant.modelVersion,
      impressions,
      users: Number(row?.users ?? 0),
      converted,
      conversion: wilsonInterval(converted, impressions),
    };
  });
  return { rollout, variants };
}

export function parseRolloutId(raw: unknown): string {
  if (typeof raw !== 'string' || !rolloutIdPattern.test(raw)) {
    throw new InputError(
      'INVALID_ID',
      `rolloutId must be 1 to 64 letters, digits, . _ - starting with a letter or digit, got ${JSON.stringify(raw)}`,
    );
  }
  return raw;
}

function rolloutNotFound(id: string): AppError {
  return new AppError('ROLLOUT_NOT_FOUND', `rollout ${JSON.stringify(id)} does not exist`, {
    status: 404,
  });
}
