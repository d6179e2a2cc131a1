import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Random } from '../util/random.js';
import { PositiveMembership } from './membership.js';
import { UserItemSets } from './positives.js';

function randomSets(numUsers: number, numItems: number, pairs: number, seed: number): UserItemSets {
  const random = new Random(seed);
  const users = Array.from({ length: pairs }, () => random.int(numUsers));
  const items = Array.from({ length: pairs }, () => random.int(numItems));
  return UserItemSets.fromPairs(numUsers, numItems, users, items);
}

for (const [label, bitLimit] of [
  ['bit matrix', undefined],
  ['binary search fallback', 0],
] as const) {
  test(`PositiveMembership (${label}) answers exactly as the sorted rows do`, () => {
    // 37 items: rows span two 32-bit words, so the word boundary is exercised.
    const sets = randomSets(50, 37, 600, 3);
    const membership = PositiveMembership.build(sets, { bitLimit });
    assert.equal(membership.usesBitMatrix, bitLimit === undefined);

    let positives = 0;
    for (let user = 0; user < sets.numUsers; user++) {
      for (let item = 0; item < sets.numItems; item++) {
        const expected = sets.itemsOf(user).includes(item);
        assert.equal(membership.has(user, item), expected, `user ${user} item ${item}`);
        if (expected) positives++;
      }
    }
    assert.equal(positives, sets.numPairs);
  });
}

test('PositiveMembership falls back to binary search when the matrix exceeds its limit', () => {
  const sets = randomSets(100, 1000, 500, 5);
  assert.equal(PositiveMembership.build(sets, { bitLimit: 100 * 1024 - 1 }).usesBitMatrix, false);
  assert.equal(PositiveMembership.build(sets, { bitLimit: 100 * 1024 }).usesBitMatrix, true);
});

test('PositiveMembership shares one matrix across threads and checks its shape', () => {
  const sets = randomSets(20, 40, 100, 7);
  const shared = PositiveMembership.build(sets, { shared: true });
  assert.ok(shared.bits?.buffer instanceof SharedArrayBuffer);
  const rebuilt = new PositiveMembership(sets, shared.bits);
  for (let item = 0; item < sets.numItems; item++) {
    assert.equal(rebuilt.has(3, item), sets.has(3, item));
  }
  assert.throws(() => new PositiveMembership(sets, new Int32Array(5)), /expected 40/);
});
