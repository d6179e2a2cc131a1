import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_INTERACTION_BYTES,
  parseInteractionMessage,
  parseItemMessage,
  type ParseResult,
} from './messages.js';

const NOW = Date.UTC(2026, 5, 1);
const valid = {
  version: 1,
  eventId: 'e-1',
  userId: 'u1',
  itemId: 'i1',
  eventType: 'purchase',
  weight: 2,
  timestamp: '2026-05-31T12:00:00.000Z',
};
const encode = (value: unknown) => Buffer.from(JSON.stringify(value));
const parse = (value: unknown) =>
  parseInteractionMessage(
    typeof value === 'string' ? Buffer.from(value) : encode(value),
    'kafka:t',
    {
      now: NOW,
    },
  );
const reasonOf = <T>(result: ParseResult<T>) => (result.ok ? 'ok' : result.reason);

describe('domain > messages > interaction', () => {
  it('turns a valid message into an interaction', () => {
    assert.deepEqual(parse(valid), {
      ok: true,
      value: {
        userId: 'u1',
        itemId: 'i1',
        eventType: 'purchase',
        weight: 2,
        occurredAt: new Date('2026-05-31T12:00:00.000Z'),
        source: 'kafka:t',
        eventId: 'e-1',
      },
    });
  });

  it('defaults the weight to 1 and accepts epoch milliseconds without an event id', () => {
    const result = parse({
      ...valid,
      eventId: undefined,
      weight: undefined,
      timestamp: NOW - 1_000,
    });
    assert.ok(result.ok);
    assert.equal(result.value.weight, 1);
    assert.equal(result.value.occurredAt.getTime(), NOW - 1_000);
    assert.equal(result.value.eventId, undefined);
  });

  it('names the reason for each kind of malformed message', () => {
    const cases: [string, unknown, string][] = [
      ['empty', '', 'empty_payload'],
      ['truncated', '{"version":1,', 'invalid_json'],
      ['array', [1, 2], 'not_an_object'],
      ['string', '"hello"', 'not_an_object'],
      ['unknown version', { ...valid, version: 2 }, 'unsupported_version'],
      ['no version', { ...valid, version: undefined }, 'unsupported_version'],
      ['unknown event type', { ...valid, eventType: 'teleport' }, 'unknown_event_type'],
      ['unknown field', { ...valid, userID: 'x' }, 'unknown_field'],
      ['missing user', { ...valid, userId: undefined }, 'invalid_field'],
      ['empty item', { ...valid, itemId: '' }, 'invalid_field'],
      ['long id', { ...valid, userId: 'u'.repeat(257) }, 'invalid_field'],
      ['NUL in id', { ...valid, userId: 'a\u0000b' }, 'invalid_field'],
      // PostgreSQL would store both as 's\uFFFD': two users merged into one.
      ['unpaired surrogate in id', { ...valid, userId: 's\ud800' }, 'invalid_field'],
      ['unpaired surrogate in event id', { ...valid, eventId: 'L\udfff' }, 'invalid_field'],
      ['weight type', { ...valid, weight: 'heavy' }, 'invalid_field'],
      ['weight range', { ...valid, weight: 1e9 }, 'invalid_field'],
      ['bad timestamp', { ...valid, timestamp: 'yesterday' }, 'invalid_field'],
      ['no offset', { ...valid, timestamp: '2026-05-31T12:00:00' }, 'invalid_field'],
      // Beyond a JavaScript Date's range: it would be an invalid Date, never writable.
      ['epoch ms beyond dates', { ...valid, timestamp: 9e15 }, 'invalid_field'],
      ['year 0', { ...valid, timestamp: '0000-01-01T00:00:00Z' }, 'invalid_field'],
      ['year 10000', { ...valid, timestamp: '+010000-01-01T00:00:00Z' }, 'invalid_field'],
      ['future', { ...valid, timestamp: NOW + 10 * 60_000 }, 'timestamp_in_future'],
      ['oversized', { ...valid, itemId: 'x'.repeat(MAX_INTERACTION_BYTES) }, 'payload_too_large'],
    ];
    for (const [name, value, reason] of cases) {
      assert.equal(reasonOf(parse(value)), reason, name);
    }
  });

  it('says which field is wrong and what it got', () => {
    const result = parse({ ...valid, eventType: 'teleport' });
    assert.ok(!result.ok);
    assert.match(result.detail, /^eventType: "teleport" is not one of view, click/);
    const weight = parse({ ...valid, weight: 'heavy' });
    assert.ok(!weight.ok);
    assert.match(weight.detail, /^weight: /);
  });

  it('allows five minutes of clock skew by default', () => {
    assert.equal(reasonOf(parse({ ...valid, timestamp: NOW + 4 * 60_000 })), 'ok');
    assert.equal(reasonOf(parse({ ...valid, timestamp: NOW + 6 * 60_000 })), 'timestamp_in_future');
  });
});

describe('domain > messages > item', () => {
  const item = {
    version: 1,
    itemId: 'i1',
    features: { genre: ['drama'], year: 1994 },
    active: true,
  };

  it('accepts features as scalars and lists', () => {
    assert.deepEqual(parseItemMessage(encode(item)), {
      ok: true,
      value: { itemId: 'i1', features: { genre: ['drama'], year: 1994 }, active: true },
    });
  });

  it('rejects a missing active flag, nested features and unknown fields', () => {
    assert.equal(
      reasonOf(parseItemMessage(encode({ ...item, active: undefined }))),
      'invalid_field',
    );
    assert.equal(
      reasonOf(parseItemMessage(encode({ ...item, features: { a: { b: 1 } } }))),
      'invalid_field',
    );
    assert.equal(reasonOf(parseItemMessage(encode({ ...item, price: 3 }))), 'unknown_field');
  });

  it('rejects ids and features that are not well-formed Unicode', () => {
    for (const message of [
      { ...item, itemId: 'c\ud800' },
      { ...item, features: { 'g\udbff': 1 } },
      { ...item, features: { genre: ['x\udc00'] } },
    ]) {
      assert.equal(reasonOf(parseItemMessage(encode(message))), 'invalid_field');
    }
    assert.equal(reasonOf(parseItemMessage(encode({ ...item, itemId: 'emoji 😀' }))), 'ok');
  });
});
