import type { Logger } from '@cml-rec/shared/logging/logger';
import { Kafka, logLevel, Partitioners, type LogEntry, type Producer } from 'kafkajs';

/** A kafkajs client whose logs go through the service's pino logger. */
export function createKafka(options: {
  brokers: string[];
  clientId: string;
  logger: Logger;
}): Kafka {
  const log = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    // kafkajs's debug output (every protocol request) only at trace: it is very verbose.
    logLevel: options.logger.isLevelEnabled('trace') ? logLevel.DEBUG : logLevel.INFO,
    logCreator: () => (entry: LogEntry) => writeKafkaLog(log, entry),
    retry: { initialRetryTime: 100, retries: 8 },
  });
}

/**
 * The producer for the HTTP API and the dead-letter topic: it waits for all in-sync replicas
 * (`acks: -1` on each send) before a send resolves.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    allowAutoTopicCreation: true,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

function writeKafkaLog(log: Logger, entry: LogEntry): void {
  const { message, ...fields } = entry.log;
  // kafkajs repeats its own timestamp and logger name; pino has both already.
  const bound: Record<string, unknown> = { namespace: entry.namespace, ...fields };
  delete bound.timestamp;
  delete bound.logger;
  // kafkajs reports retried request failures and rebalances at error; to an operator these
  // are recoverable degradations, so they go to warn.
  switch (entry.level) {
    case logLevel.ERROR:
    case logLevel.WARN:
      log.warn(bound, message);
      break;
    case logLevel.INFO:
      log.info(bound, message);
      break;
    default:
      log.debug(bound, message);
  }
}
