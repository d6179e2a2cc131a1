import { isEventType, MAX_ID_LENGTH, type EventType } from '../domain/interaction.js';
import { InputError } from '../errors.js';
import { splitCsvLine } from './lines.js';
import { parseTimestamp } from './timestamps.js';

/** One interaction as read from a file, before ids are mapped or rows stored. */
export interface ParsedInteraction {
  userId: string;
  itemId: string;
  eventType: EventType;
  weight: number;
  occurredAt: Date;
  eventId?: string;
}

export type LineOutcome =
  | { kind: 'interaction'; value: ParsedInteraction }
  | { kind: 'rejected'; reason: string }
  /** A header line: consumed, neither data nor an error. */
  | { kind: 'header' };

export const INTERACTION_FORMATS = ['movielens', 'movielens-dat', 'csv', 'jsonl'] as const;
export type InteractionFormat = (typeof INTERACTION_FORMATS)[number];

/** Which column (CSV header name) or field (JSONL key) holds each value. */
export interface ColumnMapping {
  user: string;
  item: string;
  rating?: string;
  weight?: string;
  type?: string;
  timestamp?: string;
  eventId?: string;
}

export interface ParserOptions {
  format: InteractionFormat;
  /**
   * CSV and JSONL only. CSV defaults: user, item, rating, weight, type, timestamp, event_id;
   * JSONL defaults: userId, itemId, rating, weight, eventType, timestamp, eventId.
   */
  mapping?: Partial<ColumnMapping>;
  /** CSV only. */
  delimiter?: string;
  /** Event type for rows that do not name one: `rating` when there is a rating, else `view`. */
  defaultEventType?: EventType;
  /** Inclusive rating range; MovieLens uses 1..5 (0.5..5 in the newer sets). */
  ratingRange?: [number, number];
  /** "now" for the future-timestamp check; tests pin it. */
  now?: number;
}

/** JSONL defaults follow the Kafka and HTTP event schema's field names. */
export const defaultJsonlMapping: ColumnMapping = {
  user: 'userId',
  item: 'itemId',
  rating: 'rating',
  weight: 'weight',
  type: 'eventType',
  timestamp: 'timestamp',
  eventId: 'eventId',
};

/** The keys `--map` accepts. */
export const MAPPING_KEYS: (keyof ColumnMapping)[] = [
  'user', 'item', 'rating', 'weight', 'type', 'timestamp', 'eventId',
]; // prettier-ignore

export const defaultMapping: ColumnMapping = {
  user: 'user',
  item: 'item',
  rating: 'rating',
  weight: 'weight',
  type: 'type',
  timestamp: 'timestamp',
  eventId: 'event_id',
};

type Fields = Partial<Record<keyof ColumnMapping, string>>;

/**
 * Returns a parser for one line of the given format. MovieLens `u.data` is
 * `user<TAB>item<TAB>rating<TAB>timestamp`; `ratings.dat` is `user::item::rating::timestamp`;
 * CSV has a header row naming the columns; JSONL has one JSON object per line.
 */
export function createInteractionParser(options: ParserOptions): (line: string) => LineOutcome {
  const toInteraction = (fields: Fields) => validateFields(fields, options);
  switch (options.format) {
    case 'movielens':
      return (line) => parseMovieLens(line, /\t/, toInteraction);
    case 'movielens-dat':
      return (line) => parseMovieLens(line, '::', toInteraction);
    case 'csv':
      return createCsvParser(options, toInteraction);
    case 'jsonl':
      return createJsonlParser(options, toInteraction);
  }
}

function parseMovieLens(
  line: string,
  separator: RegExp | string,
  toInteraction: (fields: Fields) => LineOutcome,
): LineOutcome {
  const parts = line.trim().split(separator);
  if (line.trim() === '') return { kind: 'rejected', reason: 'empty line' };
  if (parts.length !== 4) {
    return {
      kind: 'rejected',
      reason: `expected 4 fields (user, item, rating, timestamp), found ${parts.length}`,
    };
  }
  const [user, item, rating, timestamp] = parts;
  for (const [name, value] of [
    ['user', user],
    ['item', item],
  ] as const) {
    if (!/^\d+$/.test(value)) {
      return {
        kind: 'rejected',
        reason: `${name} id ${JSON.stringify(value)} is not a positive integer`,
      };
    }
  }
  return toInteraction({ user, item, rating, timestamp });
}

function createCsvParser(
  options: ParserOptions,
  toInteraction: (fields: Fields) => LineOutcome,
): (line: string) => LineOutcome {
  const mapping = { ...defaultMapping, ...options.mapping };
  const delimiter = options.delimiter ?? ',';
  let columns: Map<keyof ColumnMapping, number> | undefined;

  return (line) => {
    const split = splitCsvLine(line, delimiter);
    if (!Array.isArray(split)) return { kind: 'rejected', reason: split.error };

    if (!columns) {
      columns = resolveColumns(split, mapping, options.mapping ?? {});
      return { kind: 'header' };
    }
    if (line.trim() === '') return { kind: 'rejected', reason: 'empty line' };
    const header = columns;
    if (split.length < Math.max(...header.values()) + 1) {
      return {
        kind: 'rejected',
        reason: `expected at least ${Math.max(...header.values()) + 1} columns, found ${split.length}`,
      };
    }
    const fields: Fields = {};
    for (const [key, index] of header) fields[key] = split[index];
    return toInteraction(fields);
  };
}

/**
 * Finds each mapped column in the header. A column the user named explicitly must exist; a
 * default name that is absent just means the file lacks that optional value.
 */
function resolveColumns(
  header: string[],
  mapping: ColumnMapping,
  explicit: Partial<ColumnMapping>,
): Map<keyof ColumnMapping, number> {
  const names = header.map((name) => name.trim());
  const columns = new Map<keyof ColumnMapping, number>();
  const missing: string[] = [];
  for (const [key, column] of Object.entries(mapping) as [keyof ColumnMapping, string][]) {
    const index = names.indexOf(column);
    if (index >= 0) columns.set(key, index);
    else if (key === 'user' || key === 'item' || key in explicit) missing.push(`${key}=${column}`);
  }
  if (missing.length > 0) {
    throw new InputError(
      'IMPORT_MAPPING',
      `the CSV header has no column for ${missing.join(', ')}; header columns are ` +
        `${names.map((name) => JSON.stringify(name)).join(', ')}. Pass --map key=column to map them`,
    );
  }
  return columns;
}

function createJsonlParser(
  options: ParserOptions,
  toInteraction: (fields: Fields) => LineOutcome,
): (line: string) => LineOutcome {
  const mapping = { ...defaultJsonlMapping, ...options.mapping };
  return (line) => {
    if (line.trim() === '') return { kind: 'rejected', reason: 'empty line' };
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch {
      return { kind: 'rejected', reason: 'not valid JSON' };
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      return { kind: 'rejected', reason: 'expected a JSON object' };
    }
    const fields: Fields = {};
    for (const [key, name] of Object.entries(mapping) as [keyof ColumnMapping, string][]) {
      const value = (record as Record<string, unknown>)[name];
      if (value === undefined || value === null) continue;
      if (typeof value !== 'string' && typeof value !== 'number') {
        return {
          kind: 'rejected',
          reason: `field ${JSON.stringify(name)} must be a string or number`,
        };
      }
      fields[key] = String(value);
    }
    return toInteraction(fields);
  };
}

/** The checks every format shares: ids, event type, weight or rating, timestamp. */
function validateFields(fields: Fields, options: ParserOptions): LineOutcome {
  const reject = (reason: string): LineOutcome => ({ kind: 'rejected', reason });
  const userId = fields.user?.trim() ?? '';
  const itemId = fields.item?.trim() ?? '';
  for (const [name, id] of [
    ['user', userId],
    ['item', itemId],
  ] as const) {
    if (id === '') return reject(`${name} id is missing`);
    if (id.length > MAX_ID_LENGTH)
      return reject(`${name} id is longer than ${MAX_ID_LENGTH} characters`);
  }

  const hasRating = fields.rating !== undefined && fields.rating.trim() !== '';
  const eventType =
    fields.type?.trim() || options.defaultEventType || (hasRating ? 'rating' : 'view');
  if (!isEventType(eventType)) return reject(`unknown event type ${JSON.stringify(eventType)}`);

  let weight = 1;
  if (hasRating) {
    const rating = Number(fields.rating);
    const [low, high] = options.ratingRange ?? [0, 10];
    if (!Number.isFinite(rating))
      return reject(`rating ${JSON.stringify(fields.rating)} is not a number`);
    if (rating < low || rating > high)
      return reject(`rating ${rating} is outside [${low}, ${high}]`);
    weight = rating;
  } else if (fields.weight !== undefined && fields.weight.trim() !== '') {
    weight = Number(fields.weight);
    if (!Number.isFinite(weight) || weight < 0) {
      return reject(`weight ${JSON.stringify(fields.weight)} is not a non-negative number`);
    }
  }

  if (fields.timestamp === undefined || fields.timestamp.trim() === '')
    return reject('timestamp is missing');
  const occurredAt = parseTimestamp(fields.timestamp, options.now);
  if (!(occurredAt instanceof Date)) return reject(occurredAt.error);

  const eventId = fields.eventId?.trim() || undefined;
  if (eventId !== undefined && eventId.length > MAX_ID_LENGTH) {
    return reject(`event id is longer than ${MAX_ID_LENGTH} characters`);
  }
  return { kind: 'interaction', value: { userId, itemId, eventType, weight, occurredAt, eventId } };
}
