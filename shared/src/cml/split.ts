import { Random } from '../util/random.js';
import { UserItemSets } from './positives.js';

export interface SplitOptions {
  /** Share of each user's positives held out for testing, e.g. 0.2. */
  testFraction: number;
  seed: number;
}

export interface TrainTestSplit {
  train: UserItemSets;
  test: UserItemSets;
}

/**
 * Per-user random split: each user's positives are shuffled with the seed and
 * `round(testFraction * n)` of them are held out. Users with a single positive keep it for
 * training, so that every test user also has history to learn from.
 */
export function splitPerUser(positives: UserItemSets, options: SplitOptions): TrainTestSplit {
  const { testFraction, seed } = options;
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new Error(`splitPerUser: testFraction must be in [0, 1), got ${testFraction}`);
  }
  const random = new Random(seed);
  const trainUsers: number[] = [];
  const trainItems: number[] = [];
  const testUsers: number[] = [];
  const testItems: number[] = [];

  for (let user = 0; user < positives.numUsers; user++) {
    const items = Array.from(positives.itemsOf(user));
    random.shuffle(items);
    const numTest = items.length < 2 ? 0 : Math.round(testFraction * items.length);
    items.forEach((item, index) => {
      const isTest = index < numTest;
      (isTest ? testUsers : trainUsers).push(user);
      (isTest ? testItems : trainItems).push(item);
    });
  }

  const { numUsers, numItems } = positives;
  return {
    train: UserItemSets.fromPairs(numUsers, numItems, trainUsers, trainItems),
    test: UserItemSets.fromPairs(numUsers, numItems, testUsers, testItems),
  };
}
