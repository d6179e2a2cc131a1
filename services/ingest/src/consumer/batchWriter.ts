import { ensureReferencedRows, upsertInteractions } from '@cml-rec/shared/db/interactions';
import { withTransaction, type Pool, type PoolClient } from '@cml-rec/shared/db/pool';
import type { Interaction } from '@cml-rec/shared/domain/interaction';
import {
  parseInteractionMessage,
  parseItemMessage,
  type ItemUpdate,
  type ParseOptions,
} from '@cml-rec/shared/domain/messages';
import { classifyDatabaseError, sqlState } from '../errors.js';
import { insertTogether } from '../store/insertParts.js';
import { insertInteractionsPart } from '../store/interactions.js';
import { upsertItems, upsertItemsPart } from '../store/items.js';
import { insertRejects, insertRejectsPart, type Reject } from '../store/rejects.js';

/** What a topic carries. */
export type TopicKind = 'interactions' | 'items';

/** The part of a kafkajs message the writer needs. */
export interface RawMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
}

interface Accepted<T> {
  message: RawMessage;
  row: T;
}

/** A batch split into the rows to write and the messages to reject. */
export interface ClassifiedBatch {
  topic: string;
  partition: number;
  interactions: Accepted<Interaction>[];
  items: Accepted<ItemUpdate>[];
  rejects: Reject[];
}

export interface WriteResult {
  interactionsInserted: number;
  duplicates: number;
  itemsWritten: number;
  rejectsInserted: number;
  /** True when a data error forced the batch to be written message by message. */
  isolated: boolean;
}

/** Validates every message of a batch; never throws on bad input. */
export function classifyBatch(
  kind: TopicKind,
  topic: string,
  partition: number,
  messages: RawMessage[],
  options: ParseOptions = {},
): ClassifiedBatch {
  const batch: ClassifiedBatch = { topic, partition, interactions: [], items: [], rejects: [] };
  const source = `kafka:${topic}`;
  // One clock reading for the whole batch, in one options object shared by every message.
  const parseOptions = { ...options, now: options.now ?? Date.now() };

  for (const message of messages) {
    const parsed =
      kind === 'interactions'
        ? parseInteractionMessage(message.value, source, parseOptions)
        : parseItemMessage(message.value, parseOptions);
    if (parsed.ok) {
      if (kind === 'interactions') {
        batch.interactions.push({ message, row: parsed.value as Interaction });
      } else {
        batch.items.push({ message, row: parsed.value as ItemUpdate });
      }
    } else {
      batch.rejects.push(toReject(batch, message, parsed.reason, parsed.detail));
    }
  }
  return batch;
}

/**
 * Writes a classified batch in one transaction: good rows and rejects commit together or not
 * at all, so a crash at any point leaves either the whole batch or none of it.
 *
 * If the batch fails on a data error (a value PostgreSQL refuses although validation let it
 * through), the batch is written again with a savepoint per message; the messages that still
 * fail become rejects with reason `database_<SQLSTATE>`, so one bad row cannot block its
 * partition. Connection errors are thrown to the caller, which retries the whole batch.
 */
export async function writeBatch(pool: Pool, batch: ClassifiedBatch): Promise<WriteResult> {
  const interactions = batch.interactions.map((accepted) => accepted.row);
  try {
    // The users and items come first, in a statement of their own. Creating a row locks its
    // key until commit, and partitions written in parallel share items: inside the batch's
    // transaction, one partition would wait for another's whole batch. A user or item row
    // without interactions is harmless, so these rows may outlive a batch that then fails.
    await ensureReferencedRows(pool, interactions);

    // One statement is one transaction: the batch's rows and rejects in one round trip.
    const written = await insertTogether(pool, {
      interactions: insertInteractionsPart(interactions),
      items: upsertItemsPart(batch.items.map((accepted) => accepted.row)),
      rejects: insertRejectsPart(batch.rejects),
    });
    return {
      interactionsInserted: written.interactions,
      duplicates: interactions.length - written.interactions,
      itemsWritten: written.items,
      rejectsInserted: written.rejects,
      isolated: false,
    };
  } catch (error) {
    if (classifyDatabaseError(error) !== 'data') throw error;
    return writeIsolated(pool, batch);
  }
}

async function writeIsolated(pool: Pool, batch: ClassifiedBatch): Promise<WriteResult> {
  return withTransaction(pool, async (client) => {
    const result: WriteResult = {
      interactionsInserted: 0,
      duplicates: 0,
      itemsWritten: 0,
      rejectsInserted: 0,
      isolated: true,
    };
    const failed: Reject[] = [];

    for (const accepted of batch.interactions) {
      const outcome = await inSavepoint(client, () => upsertInteractions(client, [accepted.row]));
      if (outcome.ok) {
        result.interactionsInserted += outcome.value.inserted;
        result.duplicates += outcome.value.duplicates;
      } else {
        failed.push(databaseReject(batch, accepted.message, outcome.error));
      }
    }
    for (const accepted of batch.items) {
      const outcome = await inSavepoint(client, () => upsertItems(client, [accepted.row]));
      if (outcome.ok) result.itemsWritten += outcome.value;
      else failed.push(databaseReject(batch, accepted.message, outcome.error));
    }

    // The caller sends these to the dead-letter topic too.
    batch.rejects.push(...failed);
    const failedOffsets = new Set(failed.map((reject) => reject.offset));
    batch.interactions = batch.interactions.filter((a) => !failedOffsets.has(a.message.offset));
    batch.items = batch.items.filter((a) => !failedOffsets.has(a.message.offset));
    result.rejectsInserted = await insertRejects(client, batch.rejects);
    return result;
  });
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

async function inSavepoint<T>(client: PoolClient, work: () => Promise<T>): Promise<Outcome<T>> {
  await client.query('SAVEPOINT message');
  try {
    const value = await work();
    await client.query('RELEASE SAVEPOINT message');
    return { ok: true, value };
  } catch (error) {
    if (classifyDatabaseError(error) !== 'data') throw error;
    await client.query('ROLLBACK TO SAVEPOINT message');
    return { ok: false, error };
  }
}

function databaseReject(batch: ClassifiedBatch, message: RawMessage, error: unknown): Reject {
  const detail = error instanceof Error ? error.message : String(error);
  return toReject(batch, message, `database_${sqlState(error)}`, detail);
}

function toReject(
  batch: ClassifiedBatch,
  message: RawMessage,
  reason: Reject['reason'],
  detail: string,
): Reject {
  return {
    topic: batch.topic,
    partition: batch.partition,
    offset: message.offset,
    reason,
    detail,
    key: message.key,
    value: message.value,
    timestamp: message.timestamp,
  };
}
