import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSyntheticDataset } from '../data/synthetic.js';
import { buildDataset } from './dataset.js';
import { fitCml } from './fit.js';
import { splitPerUser } from './split.js';
import { createCmlState, defaultHyperparameters, DivergenceError } from './train.js';

function setup() {
  const data = generateSyntheticDataset({ numUsers: 300, numItems: 200, numClusters: 5, seed: 4 });
  const dataset = buildDataset(data.ratings.filter((r) => r.rating >= 4));
  const { train, test: validation } = splitPerUser(dataset.positives, {
    testFraction: 0.2,
    seed: 2,
  });
  return { dataset, train, validation };
}

describe('cml > fit', () => {
  it('stops after `patience` evaluations without gain and restores the best tables', async () => {
    const { dataset, train, validation } = setup();
    // A learning rate this high makes validation recall peak early and then wander.
    const hp = { ...defaultHyperparameters, dim: 8, epochs: 40, learningRate: 2 };
    const state = createCmlState(dataset.users.size, dataset.items.size, hp);
    let bestTables: Float32Array | undefined;
    let bestRecall = -1;
    const result = await fitCml(state, train, hp, {
      threads: 1,
      validation,
      evalEvery: 1,
      patience: 2,
      recallK: 50,
      onEpoch: (report) => {
        if ((report.validationRecall ?? -1) > bestRecall) {
          bestRecall = report.validationRecall ?? -1;
          bestTables = Float32Array.from(state.tables.items);
        }
      },
    });

    assert.equal(result.bestValidationRecall, bestRecall);
    assert.ok(result.stoppedEarly, 'expected an early stop before epoch 40');
    assert.equal(result.history.length, result.bestEpoch + 2, 'two evaluations without gain');
    assert.deepEqual(state.tables.items, bestTables, 'the best epoch tables were restored');
  });

  it('stops with a DivergenceError when a vector becomes NaN', async () => {
    const { dataset, train } = setup();
    const hp = { ...defaultHyperparameters, dim: 8, epochs: 3 };
    const state = createCmlState(dataset.users.size, dataset.items.size, hp);
    state.tables.users[5] = Number.NaN;
    await assert.rejects(
      fitCml(state, train, hp, { threads: 1, evalEvery: 1, patience: 1, recallK: 50 }),
      (error: unknown) =>
        error instanceof DivergenceError && /diverged at epoch 1/.test(error.message),
    );
  });
});
