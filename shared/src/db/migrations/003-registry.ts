import type { Migration } from '../migrate.js';

/**
 * Promotion and rollback history for the model registry.
 *
 * `promoted_at` is when a version last became active; `previous_active` is the version that
 * was active just before it was promoted (null for the first one), which is what a rollback
 * returns to. A rollback re-activates that version without overwriting its own
 * `previous_active`, so repeated rollbacks walk further back instead of toggling.
 *
 * `model_version_events` is the append-only log of every registry decision: registration,
 * promotion, gate rejection, retirement and rollback, each with its reason and details (the
 * gate's per-metric checks, who forced a promotion).
 */
export const registrySchema: Migration = {
  version: 3,
  name: 'registry history',
  sql: `
    ALTER TABLE model_versions
      ADD COLUMN promoted_at     timestamptz,
      ADD COLUMN previous_active text REFERENCES model_versions (id);

    CREATE TABLE model_version_events (
      id          bigserial PRIMARY KEY,
      version_id  text NOT NULL REFERENCES model_versions (id),
      event       text NOT NULL
                  CHECK (event IN ('registered', 'activated', 'rejected', 'retired', 'rolled_back')),
      reason      text NOT NULL,
      details     jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX model_version_events_version_idx ON model_version_events (version_id, id);
  `,
};
