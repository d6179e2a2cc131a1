import hnswlib from 'hnswlib-node';

export interface IndexParameters {
  m: number;
  efConstruction: number;
  efSearch: number;
}

export interface Neighbour {
  item: number;
  /** True Euclidean distance (HNSW's l2 space works with squared distances). */
  distance: number;
}

/**
 * Euclidean k-NN over the item vectors: HNSW for speed, an exact scan as the safety net.
 *
 * Excluding seen items: HNSW is asked for k + |excluded| neighbours and the excluded ones are
 * dropped afterwards, which leaves at least k whenever HNSW returns what it was asked for. If
 * it returns fewer (a poorly connected graph region), the exact scan answers instead, so a
 * caller always gets exactly min(k, unseen items) results.
 */
export class ItemIndex {
  private readonly index: hnswlib.HierarchicalNSW;
  readonly numItems: number;

  constructor(
    private readonly vectors: Float32Array,
    readonly dim: number,
    private readonly parameters: IndexParameters,
  ) {
    this.numItems = vectors.length / dim;
    this.index = new hnswlib.HierarchicalNSW('l2', dim);
    this.index.initIndex({
      maxElements: Math.max(1, this.numItems),
      m: parameters.m,
      efConstruction: parameters.efConstruction,
      randomSeed: 100,
    });
    for (let item = 0; item < this.numItems; item++) {
      this.index.addPoint(Array.from(vectors.subarray(item * dim, (item + 1) * dim)), item);
    }
  }

  /** The k nearest items to `query` that are not in `excluded`, nearest first. */
  search(query: Float32Array, k: number, excluded: ReadonlySet<number>): Neighbour[] {
    const wanted = Math.min(k, this.numItems - countInRange(excluded, this.numItems));
    if (wanted <= 0) return [];

    const asked = Math.min(this.numItems, wanted + excluded.size);
    this.index.setEf(Math.max(this.parameters.efSearch, asked));
    const result = this.index.searchKnn(Array.from(query), asked);

    const neighbours: Neighbour[] = [];
    for (let n = 0; n < result.neighbors.length && neighbours.length < wanted; n++) {
      const item = result.neighbors[n];
      if (!excluded.has(item)) neighbours.push({ item, distance: Math.sqrt(result.distances[n]) });
    }
    return neighbours.length === wanted ? neighbours : this.exactSearch(query, wanted, excluded);
  }

  /** Brute force over every item: O(items × dim). */
  exactSearch(query: Float32Array, k: number, excluded: ReadonlySet<number>): Neighbour[] {
    const { dim, vectors } = this;
    const scored: Neighbour[] = [];
    for (let item = 0; item < this.numItems; item++) {
      if (excluded.has(item)) continue;
      let sum = 0;
      for (let d = 0; d < dim; d++) sum += (query[d] - vectors[item * dim + d]) ** 2;
      scored.push({ item, distance: Math.sqrt(sum) });
    }
    scored.sort((a, b) => a.distance - b.distance || a.item - b.item);
    return scored.slice(0, k);
  }
}

function countInRange(values: ReadonlySet<number>, limit: number): number {
  let count = 0;
  for (const value of values) if (value >= 0 && value < limit) count++;
  return count;
}
