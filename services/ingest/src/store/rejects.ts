import type { PoolClient } from '@cml-rec/shared/db/pool';
import type { RejectReason } from '@cml-rec/shared/domain/messages';
import { insertTogether, type InsertPart } from './insertParts.js';

/** A message the consumer refused, with its Kafka coordinates. */
export interface Reject {
  topic: string;
  partition: number;
  /** Kafka offset, as the decimal string kafkajs gives. */
  offset: string;
  reason: RejectReason | `database_${string}`;
  detail: string;
  key: Buffer | null;
  value: Buffer | null;
  /** Broker timestamp of the message, ms since the epoch (string, as kafkajs gives it). */
  timestamp?: string;
}

/** How much of a rejected payload the table keeps; the dead-letter topic keeps it all. */
export const STORED_PAYLOAD_BYTES = 4 * 1024;

/**
 * Records rejects idempotently: a message's (topic, partition, offset) is its identity, so a
 * replayed batch adds nothing.
 */
export function insertRejectsPart(rejects: Reject[]): InsertPart {
  return {
    sql: `INSERT INTO rejects (topic, kafka_partition, kafka_offset, reason, detail, message_key,
                               payload, payload_bytes, produced_at)
          SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[],
                               $6::bytea[], $7::bytea[], $8::int[], $9::timestamptz[])
          ON CONFLICT (topic, kafka_partition, kafka_offset) DO NOTHING`,
    values: [
      rejects.map((reject) => reject.topic),
      rejects.map((reject) => reject.partition),
      rejects.map((reject) => reject.offset),
      rejects.map((reject) => reject.reason),
      // PostgreSQL text cannot hold NUL, which a parser's message may quote from the payload.
      rejects.map((reject) => reject.detail.slice(0, 2_000).replaceAll('\u0000', '\\u0000')),
      rejects.map((reject) => reject.key),
      rejects.map((reject) => reject.value?.subarray(0, STORED_PAYLOAD_BYTES) ?? null),
      rejects.map((reject) => reject.value?.length ?? 0),
      rejects.map((reject) => brokerTimestamp(reject.timestamp)),
    ],
    inputRows: rejects.length,
  };
}

/**
 * Years 1 to 9999: JavaScript prints later or earlier instants with a six-digit signed year,
 * which PostgreSQL does not parse.
 */
const EARLIEST_PRINTABLE_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_PRINTABLE_MS = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * The message's broker timestamp as ISO text, or null when there is none or it is no instant
 * PostgreSQL can hold. A producer may set any 64-bit timestamp; a reject must still be stored,
 * or the message that caused it would block its partition.
 */
export function brokerTimestamp(timestamp: string | undefined): string | null {
  if (timestamp === undefined || !/^-?\d+$/.test(timestamp)) return null;
  const ms = Number(timestamp);
  if (!(ms >= EARLIEST_PRINTABLE_MS && ms <= LATEST_PRINTABLE_MS)) return null;
  return new Date(ms).toISOString();
}

/** `insertRejectsPart` on its own; returns the rejects written now. */
export async function insertRejects(client: PoolClient, rejects: Reject[]): Promise<number> {
  const written = await insertTogether(client, { rejects: insertRejectsPart(rejects) });
  return written.rejects;
}
