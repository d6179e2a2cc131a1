import type { Migration } from '../migrate.js';

/**
 * Users, items, interactions and model versions.
 *
 * External ids are text so that any producer's id scheme fits; the bigint surrogate keys keep
 * the interactions table and its indexes compact. `dedupe_key` makes every write idempotent:
 * it is the producer's event id when one is given, else a natural key built from
 * (user, item, event type, timestamp), so that replays and re-imports never double-count.
 */
export const coreSchema: Migration = {
  version: 1,
  name: 'core schema',
  sql: `
    CREATE TABLE users (
      id          bigserial PRIMARY KEY,
      external_id text NOT NULL UNIQUE,
      created_at  timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE items (
      id          bigserial PRIMARY KEY,
      external_id text NOT NULL UNIQUE,
      features    jsonb,
      active      boolean NOT NULL DEFAULT true,
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE interactions (
      id          bigserial PRIMARY KEY,
      user_id     bigint NOT NULL REFERENCES users (id),
      item_id     bigint NOT NULL REFERENCES items (id),
      event_type  text NOT NULL,
      weight      real NOT NULL DEFAULT 1,
      occurred_at timestamptz NOT NULL,
      source      text NOT NULL,
      dedupe_key  text NOT NULL UNIQUE,
      created_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX interactions_user_idx ON interactions (user_id);
    CREATE INDEX interactions_item_idx ON interactions (item_id);

    CREATE TABLE model_versions (
      id               text PRIMARY KEY,
      created_at       timestamptz NOT NULL DEFAULT now(),
      status           text NOT NULL DEFAULT 'candidate'
                       CHECK (status IN ('candidate', 'active', 'retired')),
      status_reason    text,
      data_snapshot    jsonb NOT NULL,
      hyperparameters  jsonb NOT NULL,
      metrics          jsonb NOT NULL,
      artifact_uri     text NOT NULL,
      checksum         text NOT NULL
    );
    -- "Active" is a pointer held by the database: at most one version has it at a time.
    CREATE UNIQUE INDEX model_versions_one_active ON model_versions (status)
      WHERE status = 'active';
  `,
};
