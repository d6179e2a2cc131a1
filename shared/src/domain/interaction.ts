/**
 * An interaction as every writer (bulk import, Kafka ingest) hands it to the database layer.
 * Ids are the producer's external ids; the database maps them to surrogate keys.
 */
export interface Interaction {
  userId: string;
  itemId: string;
  eventType: EventType;
  /** Strength of the signal: a rating's value, a purchase's quantity, 1 for a view. */
  weight: number;
  occurredAt: Date;
  /** Where the row came from, e.g. `import:u.data` or `kafka:interactions`. */
  source: string;
  /** The producer's unique event id, when it has one; the strongest dedupe key. */
  eventId?: string;
}

export const EVENT_TYPES = [
  'view',
  'click',
  'like',
  'add_to_cart',
  'purchase',
  'rating',
  'dislike',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** Longest external id accepted anywhere; longer ids are a producer bug, not data. */
export const MAX_ID_LENGTH = 256;

/**
 * The key that makes a write idempotent: the event id when the producer gave one, else the
 * natural key (user, item, event type, timestamp in ms). Two events that agree on all four
 * are one event delivered twice.
 */
export function dedupeKey(interaction: Interaction): string {
  if (interaction.eventId !== undefined) return `id:${interaction.eventId}`;
  const { userId, itemId, eventType, occurredAt } = interaction;
  return `nk:${eventType}:${occurredAt.getTime()}:${userId.length}:${userId}:${itemId}`;
}

/** Implicit events that signal interest whatever their weight. */
export const POSITIVE_EVENT_TYPES: readonly EventType[] = [
  'view',
  'click',
  'like',
  'add_to_cart',
  'purchase',
];

/**
 * The training signal: a rating counts as positive at or above `minRating` (MovieLens
 * convention: 4 of 5); implicit events count whatever their weight; dislikes never do.
 */
export function isPositive(eventType: EventType, weight: number, minRating: number): boolean {
  if (eventType === 'rating') return weight >= minRating;
  return POSITIVE_EVENT_TYPES.includes(eventType);
}
