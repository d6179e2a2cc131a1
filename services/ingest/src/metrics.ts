import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The ingest service's Prometheus metrics, on a registry of its own (one per instance). */
export interface IngestMetrics {
  registry: Registry;
  consumed: Counter<'topic'>;
  written: Counter<'table'>;
  duplicates: Counter<'topic'>;
  rejected: Counter<'topic' | 'reason'>;
  lag: Gauge<'topic' | 'partition'>;
  batchSeconds: Histogram<'topic'>;
  batchMessages: Histogram<'topic'>;
  retries: Counter<'stage'>;
  databaseUp: Gauge;
  groupJoins: Counter;
  httpEvents: Counter<'outcome'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): IngestMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  return {
    registry,
    consumed: new Counter({
      name: 'ingest_messages_consumed_total',
      help: 'Kafka messages read and handled (stored or rejected), by topic.',
      labelNames: ['topic'],
      registers,
    }),
    written: new Counter({
      name: 'ingest_rows_written_total',
      help: 'Rows written by committed transactions, by table.',
      labelNames: ['table'],
      registers,
    }),
    duplicates: new Counter({
      name: 'ingest_duplicates_skipped_total',
      help: 'Interactions skipped because their dedupe key was already stored.',
      labelNames: ['topic'],
      registers,
    }),
    rejected: new Counter({
      name: 'ingest_messages_rejected_total',
      help: 'Messages sent to the dead-letter topic and the rejects table, by reason.',
      labelNames: ['topic', 'reason'],
      registers,
    }),
    lag: new Gauge({
      name: 'ingest_consumer_lag',
      help: 'Messages between the last committed offset and the high watermark.',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'ingest_batch_duration_seconds',
      help: 'Time from validating a batch to committing its offsets, retries included.',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    batchMessages: new Histogram({
      name: 'ingest_batch_messages',
      help: 'Messages per transaction.',
      labelNames: ['topic'],
      buckets: [1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000],
      registers,
    }),
    retries: new Counter({
      name: 'ingest_retries_total',
      help: 'Failed attempts that were retried, by stage (database, dead_letter).',
      labelNames: ['stage'],
      registers,
    }),
    databaseUp: new Gauge({
      name: 'ingest_database_up',
      help: '1 when the last database write succeeded, 0 while writes are failing.',
      registers,
    }),
    groupJoins: new Counter({
      name: 'ingest_group_joins_total',
      help: 'Times this consumer joined its group (1 + rebalances it took part in).',
      registers,
    }),
    httpEvents: new Counter({
      name: 'ingest_http_events_total',
      help: 'Events received by POST /v1/events, by outcome (accepted, invalid, failed).',
      labelNames: ['outcome'],
      registers,
    }),
  };
}
