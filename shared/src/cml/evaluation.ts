import type { UserItemSets } from './positives.js';
import type { Ranker } from './rankers.js';
import { topK } from './topk.js';

/** Ranking quality at one cut-off k, averaged over the users that have test items. */
export interface MetricsAtK {
  recall: number;
  precision: number;
  ndcg: number;
  map: number;
  hitRate: number;
  /** Share of the catalogue that appears in at least one user's top k. */
  coverage: number;
}

export interface Evaluation {
  users: number;
  at: Record<number, MetricsAtK>;
}

export interface EvaluationOptions {
  ks: number[];
  /** Evaluate only these users (e.g. a sample); default: every user with test items. */
  users?: ArrayLike<number>;
}

/**
 * Exact full-catalogue evaluation shared by every model: each test user's items are ranked
 * over the whole catalogue with that user's training items excluded, and the held-out items
 * are looked up in the top max(ks).
 *
 * Recall@k = hits/|test|, Precision@k = hits/k, NDCG@k = DCG/IDCG with gains 1/log2(rank+1),
 * MAP@k = Σ_{hits} precision@rank / min(k, |test|), HR@k = 1 if any hit.
 */
export function evaluateRanking(
  ranker: Ranker,
  train: UserItemSets,
  test: UserItemSets,
  options: EvaluationOptions,
): Evaluation {
  const ks = [...options.ks].sort((a, b) => a - b);
  const maxK = ks[ks.length - 1];
  const scores = new Float32Array(ranker.numItems);
  const sums = ks.map(() => ({ recall: 0, precision: 0, ndcg: 0, map: 0, hitRate: 0 }));
  const recommended = ks.map(() => new Uint8Array(ranker.numItems));
  const candidates = options.users ?? range(test.numUsers);
  let evaluatedUsers = 0;

  for (let n = 0; n < candidates.length; n++) {
    const user = candidates[n];
    const held = test.itemsOf(user);
    if (held.length === 0) continue;
    evaluatedUsers++;

    ranker.scoreItems(user, scores);
    const ranked = topK(scores, maxK, train.itemsOf(user));
    ks.forEach((k, index) => {
      accumulateUser(ranked, held, test, user, k, sums[index]);
      for (let r = 0; r < Math.min(k, ranked.length); r++) recommended[index][ranked[r]] = 1;
    });
  }

  const at: Record<number, MetricsAtK> = {};
  ks.forEach((k, index) => {
    const divide = (value: number) => (evaluatedUsers === 0 ? 0 : value / evaluatedUsers);
    at[k] = {
      recall: divide(sums[index].recall),
      precision: divide(sums[index].precision),
      ndcg: divide(sums[index].ndcg),
      map: divide(sums[index].map),
      hitRate: divide(sums[index].hitRate),
      coverage: recommended[index].reduce((sum, flag) => sum + flag, 0) / ranker.numItems,
    };
  });
  return { users: evaluatedUsers, at };
}

function accumulateUser(
  ranked: Int32Array,
  held: Int32Array,
  test: UserItemSets,
  user: number,
  k: number,
  sums: { recall: number; precision: number; ndcg: number; map: number; hitRate: number },
): void {
  let hits = 0;
  let dcg = 0;
  let precisionSum = 0;
  const cut = Math.min(k, ranked.length);
  for (let r = 0; r < cut; r++) {
    if (!test.has(user, ranked[r])) continue;
    hits++;
    dcg += 1 / Math.log2(r + 2);
    precisionSum += hits / (r + 1);
  }

  let idealDcg = 0;
  const idealHits = Math.min(k, held.length);
  for (let r = 0; r < idealHits; r++) idealDcg += 1 / Math.log2(r + 2);

  sums.recall += hits / held.length;
  sums.precision += hits / k;
  sums.ndcg += dcg / idealDcg;
  sums.map += precisionSum / idealHits;
  sums.hitRate += hits > 0 ? 1 : 0;
}

function range(length: number): Int32Array {
  return Int32Array.from({ length }, (_, n) => n);
}
