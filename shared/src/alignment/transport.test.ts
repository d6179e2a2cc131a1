import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { solveAssignment } from './assignment.js';
import { createRandom, fillWith } from './random.js';
import { solveTransport, type TransportPlan } from './transport.js';
import { wasserstein1d } from './wasserstein-1d.js';
import { euclideanCosts } from './wasserstein.js';

/** Checks the marginals, non-negativity, dual feasibility and strong duality of a plan. */
function assertOptimal(
  result: TransportPlan,
  cost: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
): void {
  const n = a.length;
  const m = b.length;
  const { plan, rowPotential, colPotential } = result;
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < m; j++) {
      const mass = plan[i * m + j];
      assert.ok(mass >= -1e-12, `plan[${i},${j}] = ${mass}`);
      row += mass;
      const slack = cost[i * m + j] - rowPotential[i] - colPotential[j];
      assert.ok(slack >= -1e-6, `dual infeasible at ${i},${j}: ${slack}`);
      if (mass > 1e-9) assert.ok(slack < 1e-6, `not tight where plan > 0 at ${i},${j}`);
    }
    assert.ok(Math.abs(row - a[i]) < 1e-9, `row ${i} sums to ${row}, expected ${a[i]}`);
  }
  for (let j = 0; j < m; j++) {
    let col = 0;
    for (let i = 0; i < n; i++) col += plan[i * m + j];
    assert.ok(Math.abs(col - b[j]) < 1e-9, `column ${j} sums to ${col}, expected ${b[j]}`);
  }
  let dual = 0;
  for (let i = 0; i < n; i++) dual += a[i] * rowPotential[i];
  for (let j = 0; j < m; j++) dual += b[j] * colPotential[j];
  assert.ok(Math.abs(dual - result.cost) < 1e-6, `dual ${dual} vs primal ${result.cost}`);
}

describe('alignment > wasserstein > transport', () => {
  it('solves hand-checked problems', () => {
    // Two half-masses to one column at costs 1 and 3.
    assert.equal(solveTransport([1, 3], 2, 1).cost, 2);
    // Supplies [0.75, 0.25], demands [0.5, 0.5]: row 0 fills column 0 (cost 0) and sends 0.25
    // to column 1 (cost 2); row 1 sends 0.25 to column 1 (cost 0). Total 0.5.
    const result = solveTransport([0, 2, 1, 0], 2, 2, [3, 1], [1, 1]);
    assert.ok(Math.abs(result.cost - 0.5) < 1e-12);
    assert.deepEqual(Array.from(result.plan), [0.5, 0.25, 0, 0.25]);
  });

  it('agrees with the assignment solver on equal-size uniform sets', () => {
    const random = createRandom(21);
    for (const n of [5, 30, 80]) {
      const a = fillWith(n * 2, () => random.normal());
      const b = fillWith(n * 2, () => random.uniform(-1, 3));
      const cost = euclideanCosts(a, b, 2);
      const transport = solveTransport(cost, n, n);
      const assignment = solveAssignment(cost, n, n);
      assert.ok(
        Math.abs(transport.cost - assignment.cost / n) < 1e-6,
        `n=${n}: transport ${transport.cost} vs assignment ${assignment.cost / n}`,
      );
      assertOptimal(transport, cost, new Array(n).fill(1 / n), new Array(n).fill(1 / n));
    }
  });

  it('agrees with the 1-D closed form for unequal sizes and weights', () => {
    const random = createRandom(22);
    const a = fillWith(23, () => random.normal());
    const b = fillWith(41, () => random.uniform(-2, 2));
    const wa = fillWith(23, () => random.uniform(0.1, 1));
    const wb = fillWith(41, () => random.uniform(0.1, 1));
    const cost = euclideanCosts(a, b, 1);
    const result = solveTransport(cost, 23, 41, wa, wb);
    const closed = wasserstein1d(a, b, wa, wb);
    assert.ok(Math.abs(result.cost - closed) < 1e-6, `LP ${result.cost} vs sorted ${closed}`);
    const sumA = wa.reduce((s, x) => s + x, 0);
    const sumB = wb.reduce((s, x) => s + x, 0);
    assertOptimal(
      result,
      cost,
      Array.from(wa, (x) => x / sumA),
      Array.from(wb, (x) => x / sumB),
    );
  });

  it('accepts costs of any sign and zero weights', () => {
    const random = createRandom(23);
    const cost = fillWith(6 * 4, () => random.uniform(-3, 3));
    const a = [1, 0, 2, 1, 0, 1];
    const b = [2, 1, 1, 1];
    assertOptimal(
      solveTransport(cost, 6, 4, a, b),
      cost,
      a.map((x) => x / 5),
      b.map((x) => x / 5),
    );
  });

  it('rejects a cost matrix of the wrong size', () => {
    assert.throws(() => solveTransport([1, 2, 3], 2, 2), /cost has length 3, expected 2 x 2/);
    assert.throws(() => solveTransport([1, 2], 2, 1, [0, 0]), /a sums to 0/);
  });
});
