import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRandom, gatherRows, sampleWithoutReplacement } from './random.js';

describe('alignment > random', () => {
  it('repeats the same sequence for the same seed and differs for another seed', () => {
    const a = createRandom(7);
    const b = createRandom(7);
    const c = createRandom(8);
    const seqA = Array.from({ length: 5 }, () => a.next());
    const seqB = Array.from({ length: 5 }, () => b.next());
    const seqC = Array.from({ length: 5 }, () => c.next());
    assert.deepEqual(seqA, seqB);
    assert.notDeepEqual(seqA, seqC);
  });

  it('draws normals with mean near 0 and variance near 1', () => {
    const random = createRandom(1);
    const n = 20000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const z = random.normal();
      sum += z;
      sumSq += z * z;
    }
    const mean = sum / n;
    assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
    assert.ok(Math.abs(sumSq / n - mean * mean - 1) < 0.05, `variance ${sumSq / n}`);
  });

  it('samples distinct indices without replacement', () => {
    const picked = sampleWithoutReplacement(createRandom(3), 10, 10);
    assert.deepEqual(
      Array.from(picked).sort((x, y) => x - y),
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
    assert.throws(() => sampleWithoutReplacement(createRandom(3), 2, 3), /size 3 > n 2/);
  });

  it('gathers rows of a row-major matrix', () => {
    const data = Float32Array.from([0, 1, 10, 11, 20, 21]);
    assert.deepEqual(Array.from(gatherRows(data, 2, [2, 0])), [20, 21, 0, 1]);
  });
});
