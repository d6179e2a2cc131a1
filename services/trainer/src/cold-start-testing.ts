import { buildDataset, type Dataset } from '@cml-rec/shared/cml/dataset';
import { defaultFeatureLossOptions, FeatureVocabulary } from '@cml-rec/shared/cml/features';
import { defaultHyperparameters } from '@cml-rec/shared/cml/train';
import type { ItemFeatures } from '@cml-rec/shared/data/item-formats';
import { generateSyntheticDataset } from '@cml-rec/shared/data/synthetic';

/** Test support for the cold-start tests: a small seeded catalogue and fast settings. */
export interface SmallCatalogue {
  dataset: Dataset;
  itemFeatures: ItemFeatures[];
  /** The encoder inputs of `itemFeatures` (multi-hot over their vocabulary). */
  inputs: Float32Array;
}

/**
 * 300 users and 200 items in 5 planted clusters (generateSyntheticDataset, seed 11); positives
 * are ratings >= 4, and each item's tags reveal its cluster, with noise.
 */
export function smallCatalogue(): SmallCatalogue {
  const synthetic = generateSyntheticDataset({
    numUsers: 300,
    numItems: 200,
    numClusters: 5,
    meanInteractions: 25,
    seed: 11,
  });
  const positives = synthetic.ratings.filter((rating) => rating.rating >= 4);
  const dataset = buildDataset(positives, {
    users: synthetic.ratings.map((rating) => rating.userId),
    items: synthetic.ratings.map((rating) => rating.itemId),
  });
  const itemFeatures = dataset.items.ids.map((id) => ({ tags: synthetic.itemTags.get(id) ?? [] }));
  return { dataset, itemFeatures, inputs: encodeFeatures(itemFeatures) };
}

export function encodeFeatures(itemFeatures: (ItemFeatures | undefined)[]): Float32Array {
  return FeatureVocabulary.build(itemFeatures).encode(itemFeatures);
}

export const testHyperparameters = {
  ...defaultHyperparameters,
  dim: 16,
  epochs: 6,
  numNegatives: 10,
  batchSize: 512,
  seed: 5,
};

export const testFeatureLoss = { ...defaultFeatureLossOptions, hiddenSizes: [32], seed: 9 };

export const testAlignment = { iterations: 200, seed: 13 };
