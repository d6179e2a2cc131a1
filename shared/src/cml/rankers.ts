import type { EmbeddingTables } from './tables.js';

/** Anything that can score the whole catalogue for a user; higher is better. */
export interface Ranker {
  readonly numItems: number;
  /** Writes one score per item into `out` (length numItems). */
  scoreItems(user: number, out: Float32Array): void;
}

/** CML ranks by Euclidean distance: score = −‖u − v‖², computed as 2u·v − ‖v‖² − ‖u‖². */
export class DistanceRanker implements Ranker {
  readonly numItems: number;
  private readonly itemSquaredNorms: Float32Array;

  constructor(private readonly tables: EmbeddingTables) {
    this.numItems = tables.numItems;
    this.itemSquaredNorms = new Float32Array(tables.numItems);
    const { dim, items } = tables;
    for (let item = 0; item < tables.numItems; item++) {
      let sum = 0;
      for (let d = 0; d < dim; d++) sum += items[item * dim + d] ** 2;
      this.itemSquaredNorms[item] = sum;
    }
  }

  scoreItems(user: number, out: Float32Array): void {
    const { dim, users, items } = this.tables;
    const userOffset = user * dim;
    let userSquaredNorm = 0;
    for (let d = 0; d < dim; d++) userSquaredNorm += users[userOffset + d] ** 2;

    for (let item = 0; item < this.numItems; item++) {
      const itemOffset = item * dim;
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += users[userOffset + d] * items[itemOffset + d];
      out[item] = 2 * dot - this.itemSquaredNorms[item] - userSquaredNorm;
    }
  }
}

/** Ranks every user's items by how many training users have them. */
export class PopularityRanker implements Ranker {
  readonly numItems: number;

  constructor(private readonly counts: Float64Array) {
    this.numItems = counts.length;
  }

  scoreItems(_user: number, out: Float32Array): void {
    for (let item = 0; item < this.numItems; item++) out[item] = this.counts[item];
  }
}
