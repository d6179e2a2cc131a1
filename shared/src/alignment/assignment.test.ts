import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { solveAssignment } from './assignment.js';
import { createRandom, fillWith } from './random.js';

/** Minimum over all injective maps rows -> columns, by enumeration (n <= m <= 7). */
function bruteForce(cost: ArrayLike<number>, n: number, m: number): number {
  let best = Infinity;
  const used = new Array<boolean>(m).fill(false);
  const visit = (row: number, sum: number): void => {
    if (row === n) {
      best = Math.min(best, sum);
      return;
    }
    for (let j = 0; j < m; j++) {
      if (used[j]) continue;
      used[j] = true;
      visit(row + 1, sum + cost[row * m + j]);
      used[j] = false;
    }
  };
  visit(0, 0);
  return best;
}

describe('alignment > wasserstein > assignment', () => {
  it('solves a hand-checked 3 x 3 problem', () => {
    // Rows 0,1,2 -> columns 1,0,2 costs 1 + 2 + 2 = 5; every other permutation costs more.
    const cost = [4, 1, 3, 2, 0, 5, 3, 2, 2];
    const result = solveAssignment(cost, 3, 3);
    assert.deepEqual(Array.from(result.rowToCol), [1, 0, 2]);
    assert.equal(result.cost, 5);
  });

  it('matches enumeration on random square and rectangular matrices', () => {
    const random = createRandom(11);
    for (const [n, m] of [
      [6, 6],
      [5, 7],
      [1, 4],
      [7, 7],
    ]) {
      for (let trial = 0; trial < 5; trial++) {
        const cost = fillWith(n * m, () => random.uniform(-2, 5));
        const result = solveAssignment(cost, n, m);
        assert.ok(Math.abs(result.cost - bruteForce(cost, n, m)) < 1e-5, `${n} x ${m}`);
        assert.equal(new Set(result.rowToCol).size, n, 'columns are distinct');
      }
    }
  });

  it('returns dual potentials that certify optimality', () => {
    const random = createRandom(12);
    const n = 40;
    const cost = fillWith(n * n, () => random.uniform(0, 10));
    const { rowToCol, cost: total, rowPotential, colPotential } = solveAssignment(cost, n, n);
    let dual = 0;
    for (let i = 0; i < n; i++) {
      dual += rowPotential[i] + colPotential[i];
      for (let j = 0; j < n; j++) {
        assert.ok(rowPotential[i] + colPotential[j] <= cost[i * n + j] + 1e-6, `cell ${i},${j}`);
      }
      const tight = rowPotential[i] + colPotential[rowToCol[i]] - cost[i * n + rowToCol[i]];
      assert.ok(Math.abs(tight) < 1e-6, `assigned cell of row ${i} is tight`);
    }
    assert.ok(Math.abs(dual - total) < 1e-4, `dual ${dual} vs primal ${total}`);
  });

  it('rejects shapes it cannot solve', () => {
    assert.throws(() => solveAssignment([1, 2], 2, 1), /need 1 <= n <= m, got 2 x 1/);
    assert.throws(() => solveAssignment([1, 2, 3], 2, 2), /cost has length 3, expected 2 x 2/);
  });
});
