import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPlainLayers, projectRowsToUnitBall } from '@cml-rec/shared/alignment/mlp';
import { evaluateColdOnly, holdOutColdItems } from './cold-start-eval.js';
import {
  encodeFeatures,
  smallCatalogue,
  testAlignment,
  testFeatureLoss,
  testHyperparameters,
} from './cold-start-testing.js';
import { alignColdItemVectors, trainAndEvaluate } from './pipeline.js';

describe('trainer > pipeline > align wdgrl', () => {
  it('places the cold items with the aligned encoder, lowers W1 below the unaligned encoder and ranks them well', async () => {
    const catalogue = smallCatalogue();
    const holdout = holdOutColdItems(catalogue.dataset, catalogue.inputs, 0.2, 3);
    // New items carry metadata no warm item has (as a new season or release year would): the
    // jointly trained encoder never sees that column, so its weights stay random and shift
    // every cold item the same way. That shift is what alignment removes.
    const isHeldOut = new Set(holdout.coldItems);
    const itemFeatures = catalogue.itemFeatures.map((features, item) =>
      isHeldOut.has(item) ? { tags: [...(features.tags ?? []), 'new-arrival'] } : features,
    );
    const inputs = encodeFeatures(itemFeatures);

    const result = await trainAndEvaluate(holdout.train, {
      hyperparameters: testHyperparameters,
      testFraction: 0,
      validationFraction: 0,
      splitSeed: 1,
      ks: [10],
      itemFeatures,
      featureLoss: testFeatureLoss,
      bpr: false,
      align: 'wdgrl',
      alignment: testAlignment,
    });
    const { tables } = result.state;
    const { dim } = tables;
    const counts = result.train.itemCounts();
    const cold = Array.from({ length: tables.numItems }, (_, item) => item).filter(
      (item) => counts[item] === 0,
    );
    for (const item of holdout.coldItems) assert.ok(cold.includes(item), `item ${item}`);
    assert.ok(result.alignment, 'alignment diagnostics');
    assert.equal(result.coldItems, cold.length);
    assert.equal(result.alignment.targetItems, cold.length);
    assert.equal(result.alignment.sourceItems, tables.numItems - cold.length);

    // The cold rows are the exported (aligned) encoder's outputs.
    const encoder = result.encoder;
    assert.ok(encoder);
    const columns = encoder.vocabulary.length;
    const x = new Float32Array(cold.length * columns);
    cold.forEach((item, n) =>
      x.set(inputs.subarray(item * columns, (item + 1) * columns), n * columns),
    );
    const expected = projectRowsToUnitBall(applyPlainLayers(encoder.layers, x), dim);
    cold.forEach((item, n) => {
      for (let d = 0; d < dim; d++) {
        const gap = Math.abs(tables.items[item * dim + d] - expected[n * dim + d]);
        assert.ok(gap < 1e-4, `item ${item} dimension ${d}: off by ${gap}`);
      }
    });

    // The same encoder, data and minibatches without the distance term (λ = 0).
    const unaligned = alignColdItemVectors(
      tables,
      inputs,
      (item) => counts[item] > 0,
      (item) => counts[item] === 0,
      {
        ...testAlignment,
        lambda: 0,
      },
    );
    assert.ok(unaligned);
    const before = unaligned.result.diagnostics.w1After;
    const after = result.alignment.w1After;
    assert.ok(after < 0.75 * before, `W1 aligned ${after}, unaligned ${before}`);
    const taskBefore = unaligned.result.diagnostics.taskErrorAfter;
    assert.ok(result.alignment.taskErrorAfter < 1.1 * taskBefore, 'task error kept');

    // Users who liked held-out items find them among the cold items far above chance.
    const k = 10;
    const recall = evaluateColdOnly(tables, holdout, [k]).at[k].recall;
    const chance = k / holdout.coldItems.length;
    assert.ok(recall > 2 * chance, `cold-only Recall@${k} ${recall}, chance ${chance}`);
  });

  it('refuses to align without item features', async () => {
    const { dataset } = smallCatalogue();
    await assert.rejects(
      trainAndEvaluate(dataset, {
        hyperparameters: { ...testHyperparameters, epochs: 1 },
        testFraction: 0,
        splitSeed: 1,
        ks: [10],
        bpr: false,
        align: 'wdgrl',
      }),
      /align wdgrl needs item features/,
    );
  });
});
