import { Random } from '../util/random.js';

export interface SyntheticOptions {
  numUsers: number;
  numItems: number;
  /** Planted taste clusters: each user mostly likes the items of one cluster. */
  numClusters: number;
  /** Mean interactions per user (drawn per user between half and 1.5 times this). */
  meanInteractions: number;
  /** Share of a user's interactions that follow their cluster; the rest is popularity noise. */
  clusterAffinity: number;
  /** Zipf exponent of item popularity, within clusters and overall. */
  popularityExponent: number;
  seed: number;
}

export const defaultSyntheticOptions: SyntheticOptions = {
  numUsers: 2000,
  numItems: 1500,
  numClusters: 10,
  meanInteractions: 40,
  clusterAffinity: 0.8,
  popularityExponent: 1.0,
  seed: 7,
};

export interface SyntheticRating {
  userId: string;
  itemId: string;
  rating: number;
  /** Epoch seconds. */
  timestamp: number;
}

export interface SyntheticDataset {
  ratings: SyntheticRating[];
  /** Each item's tags: its cluster's tag, and sometimes a misleading one. */
  itemTags: Map<string, string[]>;
  /** The planted truth, for tests: cluster of every user and item. */
  userCluster: number[];
  itemCluster: number[];
}

/**
 * A seeded dataset with structure a recommender should find: users and items fall into taste
 * clusters; a user rates their cluster's items high (4-5) and random popular items anywhere
 * (1-5, mostly low); popularity follows a power law, so a popularity baseline is strong but
 * blind to taste. Item tags reveal the cluster (with noise), for cold-start features.
 */
export function generateSyntheticDataset(
  options: Partial<SyntheticOptions> = {},
): SyntheticDataset {
  const config = { ...defaultSyntheticOptions, ...options };
  const random = new Random(config.seed);
  const { numUsers, numItems, numClusters } = config;

  const itemCluster = Array.from({ length: numItems }, () => random.int(numClusters));
  const userCluster = Array.from({ length: numUsers }, () => random.int(numClusters));
  const popularity = zipfWeights(numItems, config.popularityExponent, random);
  const global = new CumulativeSampler(popularity);
  const perCluster = Array.from({ length: numClusters }, (_, cluster) => {
    const members = itemCluster.flatMap((c, item) => (c === cluster ? [item] : []));
    return { members, sampler: new CumulativeSampler(members.map((item) => popularity[item])) };
  });

  const ratings: SyntheticRating[] = [];
  const start = Date.UTC(2024, 0, 1) / 1000;
  for (let user = 0; user < numUsers; user++) {
    const count = Math.round(config.meanInteractions * (0.5 + random.float()));
    const seen = new Set<number>();
    for (let n = 0; n < count * 3 && seen.size < count; n++) {
      const inCluster = random.float() < config.clusterAffinity;
      const { members, sampler } = perCluster[userCluster[user]];
      const item =
        inCluster && members.length > 0 ? members[sampler.draw(random)] : global.draw(random);
      if (seen.has(item)) continue;
      seen.add(item);
      const likes = itemCluster[item] === userCluster[user];
      const rating = likes ? 4 + random.int(2) : 1 + random.int(4);
      const timestamp = start + Math.floor(random.float() * 365 * 86400);
      ratings.push({ userId: String(user + 1), itemId: String(item + 1), rating, timestamp });
    }
  }

  const itemTags = new Map<string, string[]>();
  for (let item = 0; item < numItems; item++) {
    const tags = [`taste-${itemCluster[item]}`];
    if (random.float() < 0.2) tags.push(`taste-${random.int(numClusters)}`);
    if (random.float() < 0.5) tags.push(`style-${random.int(25)}`);
    itemTags.set(String(item + 1), [...new Set(tags)]);
  }
  return { ratings, itemTags, userCluster, itemCluster };
}

/** Zipf weights 1/rank^s over items in a random order, so ids say nothing about popularity. */
function zipfWeights(count: number, exponent: number, random: Random): number[] {
  const ranks = random.shuffle(Array.from({ length: count }, (_, n) => n));
  return ranks.map((rank) => 1 / (rank + 1) ** exponent);
}

class CumulativeSampler {
  private readonly cumulative: Float64Array;

  constructor(weights: number[]) {
    this.cumulative = new Float64Array(weights.length);
    let total = 0;
    weights.forEach((weight, n) => (this.cumulative[n] = total += weight));
  }

  /** An index drawn with probability proportional to its weight (binary search). */
  draw(random: Random): number {
    const target = random.float() * this.cumulative[this.cumulative.length - 1];
    let low = 0;
    let high = this.cumulative.length - 1;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.cumulative[mid] <= target) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** The dataset as MovieLens u.data lines (user, item, rating, timestamp; tab-separated). */
export function toUDataLines(dataset: SyntheticDataset): string[] {
  return dataset.ratings.map((r) => `${r.userId}\t${r.itemId}\t${r.rating}\t${r.timestamp}`);
}

/** The item tags as a tag CSV (`item,tag` with `|` between several tags). */
export function toTagCsvLines(dataset: SyntheticDataset): string[] {
  return ['item,tag', ...[...dataset.itemTags].map(([item, tags]) => `${item},${tags.join('|')}`)];
}
