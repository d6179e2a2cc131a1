import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSyntheticDataset } from '../data/synthetic.js';
import { buildDataset } from './dataset.js';
import { evaluateRanking } from './evaluation.js';
import { HogwildCmlTrainer } from './hogwild.js';
import { DistanceRanker } from './rankers.js';
import { splitPerUser } from './split.js';
import { maxRowNorm } from './tables.js';
import { createCmlState, defaultHyperparameters, SerialCmlTrainer } from './train.js';

describe('cml > hogwild', () => {
  it('reaches the same recall with two worker threads as the serial trainer', async () => {
    const data = generateSyntheticDataset({
      numUsers: 600,
      numItems: 400,
      numClusters: 6,
      seed: 8,
    });
    const dataset = buildDataset(data.ratings.filter((r) => r.rating >= 4));
    const { train, test } = splitPerUser(dataset.positives, { testFraction: 0.2, seed: 1 });
    const hp = { ...defaultHyperparameters, dim: 32, epochs: 6 };

    const serialState = createCmlState(dataset.users.size, dataset.items.size, hp);
    const serial = new SerialCmlTrainer(serialState, train, hp);
    for (let epoch = 0; epoch < hp.epochs; epoch++) serial.runEpoch();

    const sharedState = createCmlState(dataset.users.size, dataset.items.size, hp, true);
    const parallel = new HogwildCmlTrainer(sharedState, train, hp, 2);
    let pairs = 0;
    try {
      for (let epoch = 0; epoch < hp.epochs; epoch++) pairs = (await parallel.runEpoch()).pairs;
    } finally {
      await parallel.close();
    }

    assert.equal(pairs, train.numPairs, 'the workers together visit every pair once per epoch');
    const recall = (state: typeof serialState) =>
      evaluateRanking(new DistanceRanker(state.tables), train, test, { ks: [50] }).at[50].recall;
    const serialRecall = recall(serialState);
    const parallelRecall = recall(sharedState);
    assert.ok(
      Math.abs(parallelRecall - serialRecall) < 0.03,
      `2 threads ${parallelRecall} vs 1 thread ${serialRecall}`,
    );
    assert.ok(maxRowNorm(sharedState.tables.items, hp.dim) <= 1 + 1e-6);
  });

  it('refuses tables that are not on shared memory', () => {
    const data = generateSyntheticDataset({ numUsers: 20, numItems: 20, numClusters: 2, seed: 1 });
    const dataset = buildDataset(data.ratings);
    const state = createCmlState(dataset.users.size, dataset.items.size, defaultHyperparameters);
    assert.throws(
      () => new HogwildCmlTrainer(state, dataset.positives, defaultHyperparameters, 2),
      /SharedArrayBuffer/,
    );
  });
});
