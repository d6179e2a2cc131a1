import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from '@cml-rec/shared/db/pool';
import { EVENT_TYPES } from '@cml-rec/shared/domain/interaction';
import type { Producer } from 'kafkajs';
import type { Counter } from 'prom-client';
import { Random } from '@cml-rec/shared/util/random';

/** A message as produced to Kafka. */
export interface OutgoingMessage {
  key: string;
  value: string;
}

export interface Workload {
  messages: OutgoingMessage[];
  /** Event ids of the valid events, each expected exactly once in the interactions table. */
  validEventIds: string[];
  malformedCount: number;
}

/** Uniform floats in [0, 1) from a seed: the project's seeded generator as a function. */
export function seededRandom(seed: number): () => number {
  const random = new Random(seed);
  return () => random.float();
}

// One of each way a producer can get a message wrong; the workload cycles through them.
const MALFORMED: ((event: Record<string, unknown>) => string)[] = [
  (event) => JSON.stringify(event).slice(0, 20),
  (event) => JSON.stringify({ ...event, eventType: 'teleport' }),
  (event) => JSON.stringify({ ...event, userId: undefined }),
  (event) => JSON.stringify({ ...event, timestamp: Date.now() + 86_400_000 }),
  (event) => JSON.stringify({ ...event, itemId: 'x'.repeat(5_000) }),
  (event) => JSON.stringify({ ...event, userId: 'u'.repeat(300) }),
  (event) => JSON.stringify({ ...event, version: 2 }),
  (event) => JSON.stringify({ ...event, weight: 'heavy' }),
  (event) => JSON.stringify({ ...event, userID: 'typo' }),
  (event) => JSON.stringify({ ...event, weight: 1e12 }),
  (event) => JSON.stringify({ ...event, userId: 'nul\u0000byte' }),
  () => '[1, 2, 3]',
  (event) => JSON.stringify({ ...event, timestamp: 'yesterday' }),
];

/**
 * `count` interaction events, every `malformedEvery`-th of them malformed in one of a dozen
 * ways. Valid events carry unique event ids (`<runId>-<n>`) and distinct timestamps.
 */
export function makeWorkload(options: {
  count: number;
  malformedEvery?: number;
  seed?: number;
  runId: string;
  users?: number;
  items?: number;
}): Workload {
  const random = seededRandom(options.seed ?? 42);
  const malformedEvery = options.malformedEvery ?? 100;
  const users = options.users ?? 2_000;
  const items = options.items ?? 5_000;
  const start = Date.UTC(2026, 0, 1);
  const messages: OutgoingMessage[] = [];
  const validEventIds: string[] = [];
  let malformedCount = 0;

  for (let n = 0; n < options.count; n++) {
    const userId = `u${Math.floor(random() * users)}`;
    const event: Record<string, unknown> = {
      version: 1,
      eventId: `${options.runId}-${n}`,
      userId,
      itemId: `i${Math.floor(random() * items)}`,
      eventType: EVENT_TYPES[Math.floor(random() * EVENT_TYPES.length)],
      weight: Math.round(random() * 50) / 10,
      timestamp: new Date(start + n).toISOString(),
    };
    if (malformedEvery > 0 && n % malformedEvery === malformedEvery - 1) {
      messages.push({ key: userId, value: MALFORMED[malformedCount % MALFORMED.length](event) });
      malformedCount++;
    } else {
      messages.push({ key: userId, value: JSON.stringify(event) });
      validEventIds.push(event.eventId as string);
    }
  }
  return { messages, validEventIds, malformedCount };
}

/** Produces messages in chunks, a few sends in flight, each acknowledged by all replicas. */
export async function produceAll(
  producer: Producer,
  topic: string,
  messages: OutgoingMessage[],
  options: {
    chunk?: number;
    inFlight?: number;
    /** Awaited before each send with the number of messages sent so far (flow control). */
    beforeSend?: (sent: number) => Promise<void>;
  } = {},
): Promise<void> {
  const chunk = options.chunk ?? 1_000;
  const inFlight = options.inFlight ?? 4;
  const pending = new Set<Promise<unknown>>();
  for (let start = 0; start < messages.length; start += chunk) {
    await options.beforeSend?.(start);
    const send = producer.send({ topic, acks: -1, messages: messages.slice(start, start + chunk) });
    pending.add(send);
    void send.finally(() => pending.delete(send)).catch(() => undefined);
    if (pending.size >= inFlight) await Promise.race(pending);
  }
  await Promise.all(pending);
}

/**
 * Writes messages in the record format of `MockKafka.produceFile`: for each, the key's byte
 * length (uint32, little endian), the key, the value's byte length, the value.
 */
export function writeProduceFile(messages: OutgoingMessage[], file: string): void {
  const parts: Buffer[] = [];
  for (const message of messages) {
    for (const text of [message.key, message.value]) {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32LE(bytes.length);
      parts.push(length, bytes);
    }
  }
  writeFileSync(file, Buffer.concat(parts));
}

/** Polls `check` until it returns true; throws with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  what: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(options.intervalMs ?? 50);
  }
}

/** Rows and rejects stored so far. */
export async function countStored(pool: Pool): Promise<{ rows: number; rejects: number }> {
  const { rows } = await pool.query<{ rows: string; rejects: string }>(
    `SELECT (SELECT count(*) FROM interactions) AS rows, (SELECT count(*) FROM rejects) AS rejects`,
  );
  return { rows: Number(rows[0].rows), rejects: Number(rows[0].rejects) };
}

export interface IngestAudit {
  rows: number;
  /** Valid events with no row. */
  missing: number;
  /** Rows whose event id is not one of the workload's valid events. */
  unexpected: number;
  /** Extra rows for one (user, item, event type, time): stored more than once. */
  duplicates: number;
  rejects: number;
  rejectsWithoutReason: number;
  /** Rejects stored twice for one Kafka offset. */
  duplicateRejects: number;
  reasons: Record<string, number>;
}

/** Compares what was stored with what the workload expects; independent of the dedupe key. */
export async function auditIngest(pool: Pool, workload: Workload): Promise<IngestAudit> {
  const client = await pool.connect();
  try {
    await client.query('CREATE TEMP TABLE expected_events (dedupe_key text PRIMARY KEY)');
    await client.query(`INSERT INTO expected_events SELECT 'id:' || unnest($1::text[])`, [
      workload.validEventIds,
    ]);
    const { rows } = await client.query<Record<string, string>>(`
      SELECT
        (SELECT count(*) FROM interactions) AS rows,
        (SELECT count(*) FROM expected_events e
          WHERE NOT EXISTS (SELECT 1 FROM interactions i WHERE i.dedupe_key = e.dedupe_key))
          AS missing,
        (SELECT count(*) FROM interactions i
          WHERE NOT EXISTS (SELECT 1 FROM expected_events e WHERE e.dedupe_key = i.dedupe_key))
          AS unexpected,
        (SELECT count(*) - count(DISTINCT (user_id, item_id, event_type, occurred_at))
           FROM interactions) AS duplicates,
        (SELECT count(*) FROM rejects) AS rejects,
        (SELECT count(*) FROM rejects WHERE reason = '' OR detail = '') AS rejects_without_reason,
        (SELECT count(*) - count(DISTINCT (topic, kafka_partition, kafka_offset)) FROM rejects)
          AS duplicate_rejects`);
    const reasons = await client.query<{ reason: string; count: string }>(
      'SELECT reason, count(*) AS count FROM rejects GROUP BY reason ORDER BY reason',
    );
    await client.query('DROP TABLE expected_events');
    const row = rows[0];
    return {
      rows: Number(row.rows),
      missing: Number(row.missing),
      unexpected: Number(row.unexpected),
      duplicates: Number(row.duplicates),
      rejects: Number(row.rejects),
      rejectsWithoutReason: Number(row.rejects_without_reason),
      duplicateRejects: Number(row.duplicate_rejects),
      reasons: Object.fromEntries(reasons.rows.map((r) => [r.reason, Number(r.count)])),
    };
  } finally {
    client.release();
  }
}

/** A counter's current value for one label set (0 when never incremented). */
export async function counterValue<L extends string>(
  counter: Counter<L>,
  labels: Partial<Record<L, string>> = {},
): Promise<number> {
  const { values } = await counter.get();
  const match = values.find((value) =>
    Object.entries(labels).every(([name, wanted]) => value.labels[name as L] === wanted),
  );
  return match?.value ?? 0;
}
