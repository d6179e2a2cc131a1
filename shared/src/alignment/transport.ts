import { InputError } from '../errors.js';
import { checkFinite, checkNonEmpty, checkWeights, normalizedWeights } from './validate.js';

/** An optimal transport plan between two discrete distributions. */
export interface TransportPlan {
  /** Row-major n x m plan Γ; rows sum to the (normalised) a, columns to b. */
  plan: Float64Array;
  /** <Γ, C>. */
  cost: number;
  /**
   * Dual potentials with `rowPotential[i] + colPotential[j] <= C[i][j]` everywhere and
   * equality wherever Γ > 0; `Σ a_i rowPotential_i + Σ b_j colPotential_j = cost` (strong
   * duality, CML-NOTES section 2), which certifies optimality.
   */
  rowPotential: Float64Array;
  colPotential: Float64Array;
  /** Number of augmenting paths used. */
  augmentations: number;
}

/** Masses below this are treated as exhausted (the masses are normalised to sum to 1). */
const MASS_EPSILON = 1e-12;

/**
 * Exact solution of the discrete transport linear programme of CML-NOTES section 2:
 *
 *   minimise <Γ, C>  subject to  Γ 1 = a,  Γ^T 1 = b,  Γ >= 0
 *
 * as a min-cost flow on the bipartite graph rows -> columns, solved by successive shortest
 * augmenting paths with Johnson potentials (dense Dijkstra, O((n + m)^2) per path). Each path
 * exhausts a supply, a demand or a backward arc, so the number of paths stays small in
 * practice (about n + m). Suited to a few hundred points per side; the weights may be
 * unequal and the sizes may differ. `a` and `b` default to uniform and are normalised.
 */
export function solveTransport(
  cost: ArrayLike<number>,
  n: number,
  m: number,
  a?: ArrayLike<number>,
  b?: ArrayLike<number>,
): TransportPlan {
  const op = 'solveTransport';
  checkNonEmpty(op, 'rows', n);
  checkNonEmpty(op, 'columns', m);
  if (cost.length !== n * m) {
    throw new InputError(
      'ALIGNMENT_BAD_SHAPE',
      `${op}: cost has length ${cost.length}, expected ${n} x ${m} = ${n * m}`,
    );
  }
  checkFinite(op, 'cost', cost);
  if (a !== undefined) checkWeights(op, 'a', a, n);
  if (b !== undefined) checkWeights(op, 'b', b, m);
  const supply = normalizedWeights(n, a);
  const demand = normalizedWeights(m, b);

  // Nodes: rows 0..n-1, columns n..n+m-1, sink n+m. The source is implicit, with potential
  // 0: every row with supply left is reached from it through a zero-cost arc.
  const sink = n + m;
  const nodes = n + m + 1;
  const plan = new Float64Array(n * m);
  const potential = new Float64Array(nodes);
  // Start from potentials that make every row -> column reduced cost non-negative, so costs
  // of any sign work: potential(col j) = min_i C_ij.
  for (let j = 0; j < m; j++) {
    let min = Infinity;
    for (let i = 0; i < n; i++) min = Math.min(min, cost[i * m + j]);
    potential[n + j] = min;
  }
  let minColumn = Infinity;
  for (let j = 0; j < m; j++) minColumn = Math.min(minColumn, potential[n + j]);
  potential[sink] = minColumn;

  const dist = new Float64Array(nodes);
  const prev = new Int32Array(nodes);
  const done = new Uint8Array(nodes);
  let augmentations = 0;

  for (;;) {
    let supplyLeft = false;
    for (let i = 0; i < n; i++) if (supply[i] > MASS_EPSILON) supplyLeft = true;
    let demandLeft = false;
    for (let j = 0; j < m; j++) if (demand[j] > MASS_EPSILON) demandLeft = true;
    if (!supplyLeft || !demandLeft) break;

    // Dijkstra on reduced costs c(u, v) + potential(u) - potential(v) >= 0.
    dist.fill(Infinity);
    prev.fill(-1);
    done.fill(0);
    // Arc source -> row i has reduced cost 0 + 0 - potential(row i): row potentials start at 0
    // and stay <= 0, because dist(row i) <= -potential(row i) through this very arc.
    for (let i = 0; i < n; i++) if (supply[i] > MASS_EPSILON) dist[i] = -potential[i];
    for (;;) {
      let node = -1;
      let best = Infinity;
      for (let k = 0; k < nodes; k++) {
        if (!done[k] && dist[k] < best) {
          best = dist[k];
          node = k;
        }
      }
      if (node < 0 || node === sink) break;
      done[node] = 1;
      if (node < n) {
        // row -> every column (unbounded capacity).
        const base = node * m;
        for (let j = 0; j < m; j++) {
          const col = n + j;
          if (done[col]) continue;
          const d = best + cost[base + j] + potential[node] - potential[col];
          if (d < dist[col]) {
            dist[col] = d;
            prev[col] = node;
          }
        }
      } else {
        const j = node - n;
        // column -> row where flow can be pushed back.
        for (let i = 0; i < n; i++) {
          if (done[i] || plan[i * m + j] <= MASS_EPSILON) continue;
          const d = best - cost[i * m + j] + potential[node] - potential[i];
          if (d < dist[i]) {
            dist[i] = d;
            prev[i] = node;
          }
        }
        // column -> sink while demand is left.
        if (demand[j] > MASS_EPSILON && !done[sink]) {
          const d = best + potential[node] - potential[sink];
          if (d < dist[sink]) {
            dist[sink] = d;
            prev[sink] = node;
          }
        }
      }
    }
    if (!Number.isFinite(dist[sink])) {
      throw new InputError('ALIGNMENT_INFEASIBLE', `${op}: no augmenting path left`);
    }
    // Johnson update, capped at dist(sink) so unreached nodes keep valid reduced costs.
    const reach = dist[sink];
    for (let k = 0; k < nodes; k++) potential[k] += Math.min(dist[k], reach);

    // Bottleneck along sink <- column <- row <- ... <- row(start).
    const lastCol = prev[sink];
    let bottleneck = demand[lastCol - n];
    let node = lastCol;
    while (node >= 0) {
      const from = prev[node];
      if (node < n) {
        if (from < 0) bottleneck = Math.min(bottleneck, supply[node]);
        else bottleneck = Math.min(bottleneck, plan[node * m + (from - n)]);
      }
      node = from;
    }
    node = lastCol;
    demand[lastCol - n] -= bottleneck;
    while (node >= 0) {
      const from = prev[node];
      if (node < n) {
        if (from < 0) supply[node] -= bottleneck;
        else plan[node * m + (from - n)] -= bottleneck; // push back along column -> row
      } else {
        plan[from * m + (node - n)] += bottleneck; // row -> column
      }
      node = from;
    }
    augmentations++;
  }

  let total = 0;
  for (let k = 0; k < n * m; k++) total += plan[k] * cost[k];
  // Reduced costs C_ij + p(row i) - p(col j) >= 0 give the dual pair f_i = -p(row i),
  // g_j = p(col j) with f_i + g_j <= C_ij, tight where flow is positive.
  const rowPotential = new Float64Array(n);
  const colPotential = new Float64Array(m);
  for (let i = 0; i < n; i++) rowPotential[i] = -potential[i];
  for (let j = 0; j < m; j++) colPotential[j] = potential[n + j];
  return { plan, cost: total, rowPotential, colPotential, augmentations };
}
