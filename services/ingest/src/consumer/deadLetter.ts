import type { Producer } from 'kafkajs';
import type { Reject } from '../store/rejects.js';

/** Headers that tell a dead-letter reader where a message came from and why it was refused. */
export const DEAD_LETTER_HEADERS = {
  topic: 'cml-source-topic',
  partition: 'cml-source-partition',
  offset: 'cml-source-offset',
  reason: 'cml-reject-reason',
  detail: 'cml-reject-detail',
} as const;

/**
 * Copies rejected messages, unchanged, to the dead-letter topic with their origin and reason
 * in headers, and waits for all in-sync replicas. Delivery here is at least once: a replay
 * after a crash may copy a message again, and the source coordinates identify duplicates.
 */
export async function sendDeadLetters(
  producer: Producer,
  deadLetterTopic: string,
  rejects: Reject[],
): Promise<void> {
  if (rejects.length === 0) return;
  await producer.send({
    topic: deadLetterTopic,
    acks: -1,
    messages: rejects.map((reject) => ({
      key: reject.key,
      value: reject.value,
      headers: {
        [DEAD_LETTER_HEADERS.topic]: reject.topic,
        [DEAD_LETTER_HEADERS.partition]: String(reject.partition),
        [DEAD_LETTER_HEADERS.offset]: reject.offset,
        [DEAD_LETTER_HEADERS.reason]: reject.reason,
        [DEAD_LETTER_HEADERS.detail]: reject.detail.slice(0, 1_000),
      },
    })),
  });
}
