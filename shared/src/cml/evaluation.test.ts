import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Random } from '../util/random.js';
import { evaluateRanking } from './evaluation.js';
import { UserItemSets } from './positives.js';
import type { Ranker } from './rankers.js';
import { splitPerUser } from './split.js';
import { topK } from './topk.js';

/** Scores fixed per user, to make a ranking whose metrics can be worked out by hand. */
class FixedRanker implements Ranker {
  constructor(private readonly scores: number[][]) {}
  get numItems() {
    return this.scores[0].length;
  }
  scoreItems(user: number, out: Float32Array) {
    out.set(this.scores[user]);
  }
}

describe('cml > evaluation', () => {
  it('computes recall, precision, NDCG, MAP, HR and coverage on a hand-worked case', () => {
    // 6 items. User 0 trained on item 0 (excluded), test items {1, 4}.
    // Ranking by score with item 0 excluded: 5, 1, 3, 4, 2 → top 3 = [5, 1, 3]: one hit at rank 2.
    const train = UserItemSets.fromPairs(1, 6, [0], [0]);
    const test = UserItemSets.fromPairs(1, 6, [0, 0], [1, 4]);
    const ranker = new FixedRanker([[10, 5, 1, 4, 2, 6]]);
    const result = evaluateRanking(ranker, train, test, { ks: [3] });
    const at3 = result.at[3];

    assert.equal(result.users, 1);
    assert.equal(at3.recall, 0.5);
    assert.ok(Math.abs(at3.precision - 1 / 3) < 1e-12);
    const idcg = 1 + 1 / Math.log2(3);
    assert.ok(Math.abs(at3.ndcg - 1 / Math.log2(3) / idcg) < 1e-12);
    assert.ok(Math.abs(at3.map - 0.5 / 2) < 1e-12);
    assert.equal(at3.hitRate, 1);
    assert.equal(at3.coverage, 3 / 6);
  });

  it('skips users without test items and never ranks a training item', () => {
    const train = UserItemSets.fromPairs(2, 4, [0, 1], [3, 3]);
    const test = UserItemSets.fromPairs(2, 4, [0], [3]);
    // The only test item is also a training item of user 0: it must not count as a hit.
    const result = evaluateRanking(
      new FixedRanker([
        [0, 0, 0, 9],
        [0, 0, 0, 9],
      ]),
      train,
      test,
      {
        ks: [2],
      },
    );
    assert.equal(result.users, 1);
    assert.equal(result.at[2].recall, 0);
  });
});

describe('cml > topK', () => {
  it('agrees with a full sort, excluded items removed', () => {
    const random = new Random(4);
    for (let trial = 0; trial < 20; trial++) {
      const scores = Float32Array.from({ length: 200 }, () => random.float());
      const excluded = [...new Set(Array.from({ length: 30 }, () => random.int(200)))].sort(
        (a, b) => a - b,
      );
      const k = 1 + random.int(60);
      const expected = [...scores.keys()]
        .filter((item) => !excluded.includes(item))
        .sort((a, b) => scores[b] - scores[a] || a - b)
        .slice(0, k);
      assert.deepEqual([...topK(scores, k, excluded)], expected);
    }
  });

  it('returns everything left when k exceeds the catalogue', () => {
    assert.deepEqual([...topK(Float32Array.from([1, 3, 2]), 10, [1])], [2, 0]);
  });
});

describe('cml > split', () => {
  it('holds out round(20%) of each user, disjoint from training, reproducibly', () => {
    const users = Array.from({ length: 100 }, (_, n) => n % 10);
    const items = Array.from({ length: 100 }, (_, n) => n);
    const positives = UserItemSets.fromPairs(10, 100, users, items);
    const a = splitPerUser(positives, { testFraction: 0.2, seed: 7 });
    const b = splitPerUser(positives, { testFraction: 0.2, seed: 7 });
    for (let user = 0; user < 10; user++) {
      assert.equal(a.test.count(user), 2);
      assert.equal(a.train.count(user), 8);
      for (const item of a.test.itemsOf(user)) assert.ok(!a.train.has(user, item));
    }
    assert.deepEqual(a.test.items, b.test.items);
  });
});
