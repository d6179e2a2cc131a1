import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FeatureVocabulary } from '@cml-rec/shared/cml/features';
import {
  evaluateColdStart,
  featurePopularity,
  holdOutColdItems,
  type ColdStartMethod,
} from './cold-start-eval.js';
import {
  smallCatalogue,
  testAlignment,
  testFeatureLoss,
  testHyperparameters,
} from './cold-start-testing.js';

describe('trainer > cold start > holdout', () => {
  it('removes every interaction of the held-out items and keeps all the others', () => {
    const { dataset, inputs } = smallCatalogue();
    const holdout = holdOutColdItems(dataset, inputs, 0.2, 3);
    assert.equal(holdout.coldItems.length, Math.round(0.2 * holdout.featuredItems));

    const trainCounts = holdout.train.positives.itemCounts();
    for (const item of holdout.coldItems) assert.equal(trainCounts[item], 0, `item ${item}`);
    const isCold = new Set(holdout.coldItems);
    const coldCounts = holdout.coldPositives.itemCounts();
    coldCounts.forEach((count, item) => {
      if (!isCold.has(item)) assert.equal(count, 0, `warm item ${item} among cold positives`);
    });
    assert.equal(
      holdout.train.positives.numPairs + holdout.coldPositives.numPairs,
      dataset.positives.numPairs,
    );
    assert.ok(holdout.coldPositives.numPairs > 0);
  });

  it('draws the same items for a seed and other items for another seed', () => {
    const { dataset, inputs } = smallCatalogue();
    const first = holdOutColdItems(dataset, inputs, 0.2, 3).coldItems;
    assert.deepEqual(holdOutColdItems(dataset, inputs, 0.2, 3).coldItems, first);
    assert.notDeepEqual(holdOutColdItems(dataset, inputs, 0.2, 4).coldItems, first);
  });

  it('holds out only items that have features', () => {
    const { dataset, itemFeatures } = smallCatalogue();
    const sparse = itemFeatures.map((features, item) => (item % 2 === 0 ? features : undefined));
    const inputs = FeatureVocabulary.build(sparse).encode(sparse);
    const holdout = holdOutColdItems(dataset, inputs, 0.5, 3);
    assert.equal(holdout.featuredItems, Math.ceil(dataset.items.size / 2));
    for (const item of holdout.coldItems) assert.equal(item % 2, 0);
  });
});

describe('trainer > cold start > feature popularity', () => {
  it('scores an item by the mean popularity of the warm items sharing each of its columns', () => {
    // Columns: a on items 0, 1, 3; b on items 1, 2, 3. Item 3 is cold.
    const inputs = Float32Array.from([1, 0, 1, 1, 0, 1, 1, 1]);
    const counts = Float64Array.from([4, 8, 2, 0]);
    const scores = featurePopularity(inputs, 2, counts, (item) => item < 3);
    // a: mean(4, 8) = 6; b: mean(8, 2) = 5; item 3 = mean(6, 5).
    assert.deepEqual(Array.from(scores), [6, 5.5, 5, 5.5]);
  });
});

describe('trainer > cold start > evaluation', () => {
  it('ranks the held-out items far above chance with every encoder, and random at chance', async () => {
    const { dataset, itemFeatures } = smallCatalogue();
    const report = await evaluateColdStart(dataset, itemFeatures, {
      hyperparameters: testHyperparameters,
      featureLoss: testFeatureLoss,
      alignment: testAlignment,
      coldFraction: 0.2,
      holdoutSeed: 3,
      ks: [10, 20],
      w1Points: 256,
    });
    const byMethod = new Map(report.methods.map((result) => [result.method, result]));
    assert.deepEqual(
      [...byMethod.keys()],
      ['random', 'feature-popularity', 'joint-encoder', 'post-hoc-encoder', 'wdgrl'],
    );
    const recall = (method: ColdStartMethod) => byMethod.get(method)?.coldOnly.at[10].recall ?? NaN;
    const chance = 10 / report.counts.coldItems;
    assert.ok(Math.abs(recall('random') - chance) < 0.08, `random ${recall('random')}`);
    for (const method of ['joint-encoder', 'post-hoc-encoder', 'wdgrl'] as const) {
      assert.ok(recall(method) > 2 * chance, `${method} ${recall(method)}, chance ${chance}`);
      const w1 = byMethod.get(method)?.w1;
      assert.ok(w1 && w1.encoderOutputs > 0 && w1.itemVectors > 0, `${method} W1`);
    }
    assert.equal(report.counts.coldItems, Math.round(0.2 * report.counts.featuredItems));
    assert.equal(report.counts.trainPairs + report.counts.coldPairs, dataset.positives.numPairs);
    assert.ok(report.counts.evaluatedUsers > 0);
  });
});
