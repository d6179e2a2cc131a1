import type { Migration } from '../migrate.js';

/**
 * A/B rollouts of model versions and the impressions the recommender served.
 *
 * A rollout maps variants to model versions with weights (`variants` is a JSON array of
 * `{name, modelVersion, weight}`); a user's variant is a hash of the user id and `salt`, so it
 * is the same on every replica and after every restart. At most one rollout is running.
 *
 * An impression is one served list. Users are kept as external ids (anonymous sessions have no
 * users row) and items as an array of external ids, so the report can join later interactions
 * without the recommender creating rows in users or items.
 */
export const rolloutSchema: Migration = {
  version: 4,
  name: 'rollouts and impressions',
  sql: `
    CREATE TABLE rollouts (
      id          text PRIMARY KEY,
      salt        text NOT NULL,
      variants    jsonb NOT NULL,
      status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'stopped')),
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE UNIQUE INDEX rollouts_one_running ON rollouts (status) WHERE status = 'running';

    CREATE TABLE impressions (
      id            bigserial PRIMARY KEY,
      served_at     timestamptz NOT NULL,
      rollout_id    text,
      variant       text,
      model_version text NOT NULL,
      endpoint      text NOT NULL,
      user_id       text,
      item_ids      text[] NOT NULL
    );
    CREATE INDEX impressions_rollout_idx ON impressions (rollout_id, variant);
  `,
};
