import type { UserItemSets } from '../cml/positives.js';
import type { Ranker } from '../cml/rankers.js';
import { Random } from '../util/random.js';

export interface BprOptions {
  dim: number;
  learningRate: number;
  /** L2 penalty on the touched factors and biases. */
  regularization: number;
  epochs: number;
  seed: number;
}

export const defaultBprOptions: BprOptions = {
  dim: 64,
  learningRate: 0.05,
  regularization: 0.005,
  epochs: 30,
  seed: 42,
};

/**
 * Dot-product matrix factorisation trained with BPR (Rendle et al., 2009): for a positive
 * (u, i) and a sampled non-positive j, ascend ln σ(x_uij) with x_uij = p_u·(q_i − q_j) + b_i − b_j,
 * by plain SGD with L2 regularisation. The baseline that shows what a metric space buys
 * over an inner-product one on the same split and evaluation.
 */
export class BprModel implements Ranker {
  readonly numItems: number;
  readonly users: Float32Array;
  readonly items: Float32Array;
  readonly itemBias: Float32Array;
  private readonly random: Random;
  private readonly pairUsers: Int32Array;
  private readonly order: Int32Array;

  constructor(
    private readonly train: UserItemSets,
    private readonly options: BprOptions,
  ) {
    const { dim, seed } = options;
    this.random = new Random(seed);
    this.numItems = train.numItems;
    this.users = Float32Array.from(
      { length: train.numUsers * dim },
      () => this.random.normal() * 0.1,
    );
    this.items = Float32Array.from(
      { length: train.numItems * dim },
      () => this.random.normal() * 0.1,
    );
    this.itemBias = new Float32Array(train.numItems);
    this.pairUsers = train.pairUsers();
    this.order = Int32Array.from({ length: train.numPairs }, (_, n) => n);
  }

  /** One pass over the positive pairs; returns the mean −ln σ(x). */
  runEpoch(): number {
    const { dim, learningRate: lr, regularization: reg } = this.options;
    const { users, items, itemBias, train } = this;
    this.random.shuffle(this.order);
    let loss = 0;

    for (const pair of this.order) {
      const user = this.pairUsers[pair];
      const positive = train.items[pair];
      let negative = this.random.int(this.numItems);
      for (let attempt = 0; attempt < 32 && train.has(user, negative); attempt++) {
        negative = this.random.int(this.numItems);
      }
      const u = user * dim;
      const i = positive * dim;
      const j = negative * dim;
      let x = itemBias[positive] - itemBias[negative];
      for (let d = 0; d < dim; d++) x += users[u + d] * (items[i + d] - items[j + d]);

      // σ(−x) = ∂(−ln σ(x))/∂(−x); written through exp of a non-positive number for stability.
      const sigmoidNegX = x >= 0 ? Math.exp(-x) / (1 + Math.exp(-x)) : 1 / (1 + Math.exp(x));
      loss += x >= 0 ? Math.log1p(Math.exp(-x)) : -x + Math.log1p(Math.exp(x));

      itemBias[positive] += lr * (sigmoidNegX - reg * itemBias[positive]);
      itemBias[negative] += lr * (-sigmoidNegX - reg * itemBias[negative]);
      for (let d = 0; d < dim; d++) {
        const pu = users[u + d];
        const qi = items[i + d];
        const qj = items[j + d];
        users[u + d] += lr * (sigmoidNegX * (qi - qj) - reg * pu);
        items[i + d] += lr * (sigmoidNegX * pu - reg * qi);
        items[j + d] += lr * (-sigmoidNegX * pu - reg * qj);
      }
    }
    return loss / Math.max(1, this.order.length);
  }

  /** score = p_u·q_j + b_j. */
  scoreItems(user: number, out: Float32Array): void {
    const { dim } = this.options;
    const u = user * dim;
    for (let item = 0; item < this.numItems; item++) {
      let score = this.itemBias[item];
      for (let d = 0; d < dim; d++) score += this.users[u + d] * this.items[item * dim + d];
      out[item] = score;
    }
  }
}
