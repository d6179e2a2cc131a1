import { InputError } from '../errors.js';
import { checkFinite } from './validate.js';

/** An optimal assignment of rows to distinct columns. */
export interface Assignment {
  /** `rowToCol[i]` is the column given to row i. */
  rowToCol: Int32Array;
  /** Sum of `cost[i][rowToCol[i]]`. */
  cost: number;
  /**
   * Dual potentials (length n and m) with `rowPotential[i] + colPotential[j] <= cost[i][j]`
   * for every cell, equality on the assigned cells: a certificate that `cost` is optimal.
   */
  rowPotential: Float64Array;
  colPotential: Float64Array;
}

/**
 * Minimum-cost assignment of n rows to n <= m columns (each row gets one column, each column
 * at most one row), by shortest augmenting paths with dual potentials (the Hungarian method in
 * the Jonker-Volgenant form). O(n^2 m) time, O(n + m) extra memory.
 *
 * `cost` is row-major n x m. For two uniform point sets of equal size n, the optimal
 * assignment under the Euclidean cost is an optimal transport plan (Birkhoff: the transport
 * polytope's vertices are permutation matrices), so W1 = cost / n (CML-NOTES section 2).
 */
export function solveAssignment(cost: ArrayLike<number>, n: number, m: number): Assignment {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || n > m) {
    throw new InputError(
      'ALIGNMENT_BAD_SHAPE',
      `solveAssignment: need 1 <= n <= m, got ${n} x ${m}`,
    );
  }
  if (cost.length !== n * m) {
    throw new InputError(
      'ALIGNMENT_BAD_SHAPE',
      `solveAssignment: cost has length ${cost.length}, expected ${n} x ${m} = ${n * m}`,
    );
  }
  checkFinite('solveAssignment', 'cost', cost);

  // 1-based arrays; index 0 is the virtual column/row that starts each augmenting search.
  const u = new Float64Array(n + 1);
  const v = new Float64Array(m + 1);
  const colOwner = new Int32Array(m + 1); // row assigned to column j (0 = free)
  const way = new Int32Array(m + 1); // previous column on the shortest path
  const minSlack = new Float64Array(m + 1);
  const used = new Uint8Array(m + 1);

  for (let i = 1; i <= n; i++) {
    colOwner[0] = i;
    let j0 = 0;
    minSlack.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = colOwner[j0];
      const rowBase = (i0 - 1) * m;
      let delta = Infinity;
      let j1 = 0;
      for (let j = 1; j <= m; j++) {
        if (used[j]) continue;
        const slack = cost[rowBase + j - 1] - u[i0] - v[j];
        if (slack < minSlack[j]) {
          minSlack[j] = slack;
          way[j] = j0;
        }
        if (minSlack[j] < delta) {
          delta = minSlack[j];
          j1 = j;
        }
      }
      // Shift the potentials so that the tightest column becomes reachable at zero slack.
      for (let j = 0; j <= m; j++) {
        if (used[j]) {
          u[colOwner[j]] += delta;
          v[j] -= delta;
        } else {
          minSlack[j] -= delta;
        }
      }
      j0 = j1;
    } while (colOwner[j0] !== 0);
    // Flip the augmenting path.
    do {
      const j1 = way[j0];
      colOwner[j0] = colOwner[j1];
      j0 = j1;
    } while (j0 !== 0);
  }

  const rowToCol = new Int32Array(n);
  for (let j = 1; j <= m; j++) if (colOwner[j] !== 0) rowToCol[colOwner[j] - 1] = j - 1;
  let total = 0;
  for (let i = 0; i < n; i++) total += cost[i * m + rowToCol[i]];
  return {
    rowToCol,
    cost: total,
    rowPotential: u.slice(1),
    colPotential: v.slice(1),
  };
}
