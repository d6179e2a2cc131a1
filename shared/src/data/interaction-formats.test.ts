import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInteractionParser, type LineOutcome } from './interaction-formats.js';

const NOW = Date.UTC(2026, 0, 1);

function reasonOf(outcome: LineOutcome): string {
  assert.equal(outcome.kind, 'rejected', `expected a rejection, got ${JSON.stringify(outcome)}`);
  return (outcome as { reason: string }).reason;
}

describe('data > interaction formats > movielens', () => {
  const parse = createInteractionParser({ format: 'movielens', ratingRange: [1, 5], now: NOW });

  it('reads user, item, rating and epoch seconds', () => {
    const outcome = parse('196\t242\t3\t881250949');
    assert.equal(outcome.kind, 'interaction');
    if (outcome.kind !== 'interaction') return;
    assert.deepEqual(
      { ...outcome.value, occurredAt: outcome.value.occurredAt.toISOString() },
      {
        userId: '196',
        itemId: '242',
        eventType: 'rating',
        weight: 3,
        occurredAt: '1997-12-04T15:55:49.000Z',
        eventId: undefined,
      },
    );
  });

  it('rejects each kind of malformed line with a specific reason', () => {
    assert.match(reasonOf(parse('196\t242\t3')), /expected 4 fields/);
    assert.match(reasonOf(parse('')), /empty line/);
    assert.match(
      reasonOf(parse('abc\t242\t3\t881250949')),
      /user id "abc" is not a positive integer/,
    );
    assert.match(reasonOf(parse('196\t-2\t3\t881250949')), /item id "-2"/);
    assert.match(reasonOf(parse('196\t242\tfive\t881250949')), /rating "five" is not a number/);
    assert.match(reasonOf(parse('196\t242\t9\t881250949')), /rating 9 is outside \[1, 5\]/);
    assert.match(reasonOf(parse('196\t242\t3\tyesterday')), /timestamp "yesterday"/);
    assert.match(reasonOf(parse('196\t242\t3\t4102444800')), /in the future/);
    assert.match(reasonOf(parse('196\t242\t3\t99999999999999999999')), /not a valid date/);
  });

  it('reads ratings.dat with :: separators', () => {
    const parseDat = createInteractionParser({ format: 'movielens-dat', now: NOW });
    assert.equal(parseDat('1::1193::5::978300760').kind, 'interaction');
    assert.match(reasonOf(parseDat('1::1193::5')), /expected 4 fields/);
  });
});

describe('data > interaction formats > csv', () => {
  it('maps columns by header name and honours quoting', () => {
    const parse = createInteractionParser({
      format: 'csv',
      mapping: { user: 'userId', item: 'movieId', timestamp: 'ts' },
      now: NOW,
    });
    assert.equal(parse('userId,movieId,rating,ts').kind, 'header');
    const outcome = parse('"a,1",m9,4.5,2024-05-01T10:00:00Z');
    assert.equal(outcome.kind, 'interaction');
    if (outcome.kind === 'interaction') {
      assert.equal(outcome.value.userId, 'a,1');
      assert.equal(outcome.value.weight, 4.5);
    }
    assert.match(reasonOf(parse('"open,m9,4,1')), /unterminated quoted field/);
    assert.match(reasonOf(parse('u1')), /expected at least 4 columns/);
    assert.match(reasonOf(parse(',m9,4,1700000000')), /user id is missing/);
  });

  it('stops with the header columns listed when a mapped column is absent', () => {
    const parse = createInteractionParser({ format: 'csv', mapping: { user: 'uid' } });
    assert.throws(() => parse('user,item,timestamp'), /no column for user=uid.*"user", "item"/);
  });

  it('checks event types and weights', () => {
    const parse = createInteractionParser({ format: 'csv', now: NOW });
    parse('user,item,type,weight,timestamp');
    assert.equal(parse('u,i,purchase,2,1700000000').kind, 'interaction');
    assert.match(reasonOf(parse('u,i,teleport,1,1700000000')), /unknown event type "teleport"/);
    assert.match(reasonOf(parse('u,i,view,-1,1700000000')), /weight "-1"/);
  });
});

describe('data > interaction formats > jsonl', () => {
  const parse = createInteractionParser({ format: 'jsonl', now: NOW });

  it('reads objects with mapped fields, and the event id', () => {
    const outcome = parse(
      '{"userId":"u1","itemId":7,"eventType":"click","timestamp":1700000000,"eventId":"e-1"}',
    );
    assert.equal(outcome.kind, 'interaction');
    if (outcome.kind === 'interaction') assert.equal(outcome.value.eventId, 'e-1');
  });

  it('rejects broken JSON, non-objects and nested values', () => {
    assert.match(reasonOf(parse('{"user": "u1",')), /not valid JSON/);
    assert.match(reasonOf(parse('[1,2]')), /expected a JSON object/);
    assert.match(
      reasonOf(parse('{"userId":{"id":1},"itemId":"i","timestamp":1}')),
      /must be a string or number/,
    );
    assert.match(
      reasonOf(parse(`{"userId":"${'x'.repeat(300)}","itemId":"i","timestamp":1}`)),
      /longer than 256/,
    );
  });
});
