import { z } from 'zod';
import { EVENT_TYPES, MAX_ID_LENGTH, type Interaction } from './interaction.js';
import { hasControlCharacter, isWellFormedUnicode } from './text.js';

/**
 * The versioned JSON messages that producers write to Kafka (and to `POST /v1/events`).
 *
 * Every message carries `version`; a consumer rejects versions it does not know rather than
 * guessing. Objects are strict: an unknown field is a producer bug and is rejected with its
 * name, so that a typo such as `userID` never turns into silently missing data.
 * The field-by-field reference is services/ingest/README.md.
 */
export const MESSAGE_VERSION = 1;

/** Largest interaction message accepted, in bytes of UTF-8 JSON. */
export const MAX_INTERACTION_BYTES = 4 * 1024;
/** Largest catalogue (item) message accepted, in bytes; features make these bigger. */
export const MAX_ITEM_BYTES = 64 * 1024;
/** How far ahead of the consumer's clock an event's timestamp may be (clock skew), in ms. */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 5 * 60 * 1000;
/** Largest absolute weight; beyond it a value is a producer bug (and overflows `real`). */
export const MAX_ABS_WEIGHT = 1_000_000;
/** Most feature keys an item may carry. */
export const MAX_FEATURES = 256;

/** Why a message was refused; stable values, stored in the rejects table and counted. */
export type RejectReason =
  | 'empty_payload'
  | 'payload_too_large'
  | 'invalid_json'
  | 'not_an_object'
  | 'unsupported_version'
  | 'unknown_event_type'
  | 'unknown_field'
  | 'invalid_field'
  | 'timestamp_in_future';

export type ParseResult<T> =
  { ok: true; value: T } | { ok: false; reason: RejectReason; detail: string };

export interface ParseOptions {
  /** The consumer's clock in ms since the epoch; injectable for tests. */
  now?: number;
  maxFutureSkewMs?: number;
}

const WELL_FORMED = 'must be well-formed Unicode (no unpaired surrogate)';
const NO_CONTROL_CHARACTERS = 'must not contain control characters';

// Printable text without control characters: PostgreSQL text cannot hold NUL, and control
// characters in an id are always a producer bug.
const externalId = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_ID_LENGTH, `must be at most ${MAX_ID_LENGTH} characters`)
  .refine((value) => !hasControlCharacter(value), NO_CONTROL_CHARACTERS)
  .refine(isWellFormedUnicode, WELL_FORMED);

/** 9999-12-31T23:59:59.999Z: the last instant both JavaScript and PostgreSQL print as a date. */
const LATEST_TIMESTAMP_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * RFC 3339 date-time with an explicit offset, or epoch milliseconds, between 1970 and 9999:
 * beyond that a JavaScript Date is invalid or PostgreSQL refuses it, and a write that can
 * never succeed would hold up its whole partition.
 */
const timestamp = z
  .union([
    z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time with an offset' }),
    z
      .number()
      .int('epoch milliseconds must be an integer')
      .min(0, 'epoch milliseconds must not be negative'),
  ])
  .refine(
    (value) => {
      const ms = new Date(value).getTime();
      return ms >= 0 && ms <= LATEST_TIMESTAMP_MS;
    },
    { message: 'must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z' },
  );

export const interactionMessageSchema = z.strictObject({
  version: z.literal(MESSAGE_VERSION),
  /** The producer's unique id for this event; replays with the same id are stored once. */
  eventId: externalId.optional(),
  userId: externalId,
  itemId: externalId,
  eventType: z.enum(EVENT_TYPES),
  /** Strength of the signal; 1 when omitted. */
  weight: z
    .number()
    .min(-MAX_ABS_WEIGHT, `must be at least ${-MAX_ABS_WEIGHT}`)
    .max(MAX_ABS_WEIGHT, `must be at most ${MAX_ABS_WEIGHT}`)
    .optional(),
  timestamp,
});
export type InteractionMessage = z.infer<typeof interactionMessageSchema>;

const featureKey = z
  .string()
  .min(1)
  .max(128)
  .refine((value) => !hasControlCharacter(value), NO_CONTROL_CHARACTERS)
  .refine(isWellFormedUnicode, WELL_FORMED);
const featureText = z
  .string()
  .max(1024)
  // eslint-disable-next-line no-control-regex
  .regex(/^[^\u0000]*$/, 'must not contain NUL')
  .refine(isWellFormedUnicode, WELL_FORMED);
const featureValue = z.union([
  z.number(),
  z.boolean(),
  featureText,
  z.array(featureText).max(256),
  z.array(z.number()).max(4096),
]);

export const itemMessageSchema = z.strictObject({
  version: z.literal(MESSAGE_VERSION),
  itemId: externalId,
  /** Item side information for the CML feature encoder: flat key to scalar or list. */
  features: z
    .record(featureKey, featureValue)
    .refine((value) => Object.keys(value).length <= MAX_FEATURES, {
      message: `must have at most ${MAX_FEATURES} keys`,
    }),
  /** False retires the item: it is no longer recommended. */
  active: z.boolean(),
  timestamp: timestamp.optional(),
});
export type ItemMessage = z.infer<typeof itemMessageSchema>;

/** A catalogue update as the database layer takes it. */
export interface ItemUpdate {
  itemId: string;
  features: ItemMessage['features'];
  active: boolean;
}

/** Decodes and validates one interaction message from its raw Kafka value. */
export function parseInteractionMessage(
  payload: Buffer | null,
  source: string,
  options: ParseOptions = {},
): ParseResult<Interaction> {
  const decoded = decodeJson(payload, MAX_INTERACTION_BYTES);
  if (!decoded.ok) return decoded;
  return validateInteraction(decoded.value, source, options);
}

/** Validates an already-decoded interaction (the HTTP API parses the body itself). */
export function validateInteraction(
  value: unknown,
  source: string,
  options: ParseOptions = {},
): ParseResult<Interaction> {
  const checked = checkSchema(interactionMessageSchema, value);
  if (!checked.ok) return checked;

  const message = checked.value;
  const occurredAt = new Date(message.timestamp);
  const tooLate = futureTimestamp(occurredAt, options);
  if (tooLate) return tooLate;

  return {
    ok: true,
    value: {
      userId: message.userId,
      itemId: message.itemId,
      eventType: message.eventType,
      weight: message.weight ?? 1,
      occurredAt,
      source,
      ...(message.eventId !== undefined ? { eventId: message.eventId } : {}),
    },
  };
}

/** Decodes and validates one catalogue message from its raw Kafka value. */
export function parseItemMessage(
  payload: Buffer | null,
  options: ParseOptions = {},
): ParseResult<ItemUpdate> {
  const decoded = decodeJson(payload, MAX_ITEM_BYTES);
  if (!decoded.ok) return decoded;

  const checked = checkSchema(itemMessageSchema, decoded.value);
  if (!checked.ok) return checked;

  const message = checked.value;
  const tooLate =
    message.timestamp === undefined ? null : futureTimestamp(new Date(message.timestamp), options);
  if (tooLate) return tooLate;

  return {
    ok: true,
    value: { itemId: message.itemId, features: message.features, active: message.active },
  };
}

/** The rejection of a timestamp further ahead of the consumer's clock than the skew allows. */
function futureTimestamp(at: Date, options: ParseOptions): ParseResult<never> | null {
  const skew = options.maxFutureSkewMs ?? DEFAULT_MAX_FUTURE_SKEW_MS;
  if (at.getTime() <= (options.now ?? Date.now()) + skew) return null;
  return {
    ok: false,
    reason: 'timestamp_in_future',
    detail: `timestamp: ${at.toISOString()} is more than ${skew} ms ahead of the consumer clock`,
  };
}

function decodeJson(payload: Buffer | null, maxBytes: number): ParseResult<unknown> {
  if (payload === null || payload.length === 0) {
    return { ok: false, reason: 'empty_payload', detail: 'message has no value' };
  }
  if (payload.length > maxBytes) {
    return {
      ok: false,
      reason: 'payload_too_large',
      detail: `message is ${payload.length} bytes, the limit is ${maxBytes}`,
    };
  }
  try {
    return { ok: true, value: JSON.parse(payload.toString('utf8')) };
  } catch (error) {
    return { ok: false, reason: 'invalid_json', detail: (error as Error).message };
  }
}

function checkSchema<T>(schema: z.ZodType<T>, value: unknown): ParseResult<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
    return { ok: false, reason: 'not_an_object', detail: `expected a JSON object, got ${kind}` };
  }
  const version = (value as { version?: unknown }).version;
  if (version !== MESSAGE_VERSION) {
    return {
      ok: false,
      reason: 'unsupported_version',
      detail: `version: expected ${MESSAGE_VERSION}, got ${JSON.stringify(version ?? null)}`,
    };
  }

  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };

  const issue = parsed.error.issues[0];
  const field = issue.path.map(String).join('.') || '(message)';
  if (issue.code === 'unrecognized_keys') {
    return {
      ok: false,
      reason: 'unknown_field',
      detail: `unknown field(s) ${issue.keys.join(', ')}`,
    };
  }
  if (field === 'eventType' && issue.code === 'invalid_value') {
    const got = (value as { eventType?: unknown }).eventType;
    return {
      ok: false,
      reason: 'unknown_event_type',
      detail: `eventType: ${JSON.stringify(got ?? null)} is not one of ${EVENT_TYPES.join(', ')}`,
    };
  }
  return { ok: false, reason: 'invalid_field', detail: `${field}: ${issue.message}` };
}
