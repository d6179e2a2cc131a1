import { InputError } from '@cml-rec/shared/errors';
import { validateInteraction, type RejectReason } from '@cml-rec/shared/domain/messages';
import type { Producer } from 'kafkajs';
import { kafkaUnavailable } from '../errors.js';
import type { IngestMetrics } from '../metrics.js';

export interface EventPublisherOptions {
  producer: Producer;
  topic: string;
  metrics: IngestMetrics;
  maxEvents: number;
  maxFutureSkewMs: number;
}

export interface InvalidEvent {
  index: number;
  reason: RejectReason;
  detail: string;
}

// The response lists this many invalid events at most; the count is always exact.
const MAX_LISTED_INVALID = 100;

/**
 * Validates a `POST /v1/events` body and produces its events to the interactions topic,
 * resolving once every in-sync replica has them (`acks: -1`). All or nothing: if any event is
 * invalid, none is produced, and the error lists each invalid event's index and reason.
 */
export async function publishEvents(body: unknown, options: EventPublisherOptions) {
  const events = (body as { events?: unknown } | undefined)?.events;
  if (!Array.isArray(events)) {
    throw new InputError('INVALID_BODY', 'body must be a JSON object {"events": [...]}');
  }
  if (events.length === 0 || events.length > options.maxEvents) {
    throw new InputError(
      'INVALID_BODY',
      `events must hold between 1 and ${options.maxEvents} events, got ${events.length}`,
    );
  }

  const messages: { key: string; value: string }[] = [];
  const invalid: InvalidEvent[] = [];
  events.forEach((event: unknown, index) => {
    const checked = validateInteraction(event, 'http', {
      maxFutureSkewMs: options.maxFutureSkewMs,
    });
    if (checked.ok) {
      // Keyed by user so that one user's events stay in order on one partition.
      messages.push({ key: checked.value.userId, value: JSON.stringify(event) });
    } else {
      invalid.push({ index, reason: checked.reason, detail: checked.detail });
    }
  });

  if (invalid.length > 0) {
    options.metrics.httpEvents.inc({ outcome: 'invalid' }, events.length);
    throw new InputError(
      'INVALID_EVENTS',
      `${invalid.length} of ${events.length} events are invalid`,
      {
        details: { invalidCount: invalid.length, invalid: invalid.slice(0, MAX_LISTED_INVALID) },
      },
    );
  }

  try {
    await options.producer.send({ topic: options.topic, acks: -1, messages });
  } catch (error) {
    options.metrics.httpEvents.inc({ outcome: 'failed' }, events.length);
    throw kafkaUnavailable(error);
  }
  options.metrics.httpEvents.inc({ outcome: 'accepted' }, events.length);
  return { accepted: messages.length };
}
