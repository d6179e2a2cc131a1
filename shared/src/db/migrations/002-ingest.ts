import type { Migration } from '../migrate.js';

/**
 * Messages the ingest consumer refused, with the reason, for an operator to inspect or replay.
 *
 * A row is keyed on the message's Kafka coordinates (topic, partition, offset), so a batch
 * replayed after a crash records each reject once. `payload` keeps at most the first 4 KiB
 * of the message (the dead-letter topic keeps it whole); `payload_bytes` is its full size.
 */
export const ingestSchema: Migration = {
  version: 2,
  name: 'ingest rejects',
  sql: `
    CREATE TABLE rejects (
      id            bigserial PRIMARY KEY,
      topic         text NOT NULL,
      kafka_partition integer NOT NULL,
      kafka_offset  bigint NOT NULL,
      reason        text NOT NULL,
      detail        text NOT NULL,
      message_key   bytea,
      payload       bytea,
      payload_bytes integer NOT NULL,
      produced_at   timestamptz,
      rejected_at   timestamptz NOT NULL DEFAULT now(),
      UNIQUE (topic, kafka_partition, kafka_offset)
    );
    CREATE INDEX rejects_reason_idx ON rejects (reason);
  `,
};
