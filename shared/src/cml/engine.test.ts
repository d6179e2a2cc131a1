import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateSyntheticDataset } from '../data/synthetic.js';
import { buildDataset } from './dataset.js';
import { evaluateRanking } from './evaluation.js';
import { DistanceRanker, PopularityRanker } from './rankers.js';
import { splitPerUser } from './split.js';
import { maxRowNorm } from './tables.js';
import { createCmlState, defaultHyperparameters, SerialCmlTrainer } from './train.js';

function syntheticSplit() {
  const data = generateSyntheticDataset({ numUsers: 400, numItems: 300, numClusters: 6, seed: 3 });
  const dataset = buildDataset(data.ratings.filter((r) => r.rating >= 4));
  return { dataset, ...splitPerUser(dataset.positives, { testFraction: 0.2, seed: 1 }) };
}

describe('cml > engine', () => {
  it('keeps every user and item vector inside the unit ball after every epoch', () => {
    const { dataset, train } = syntheticSplit();
    for (const optimizer of ['adagrad', 'adam'] as const) {
      const hp = { ...defaultHyperparameters, optimizer, learningRate: 0.5, dim: 16 };
      const state = createCmlState(dataset.users.size, dataset.items.size, hp);
      const trainer = new SerialCmlTrainer(state, train, hp);
      for (let epoch = 0; epoch < 3; epoch++) {
        trainer.runEpoch();
        const { users, items, dim } = state.tables;
        assert.ok(maxRowNorm(users, dim) <= 1 + 1e-6, `${optimizer} users, epoch ${epoch}`);
        assert.ok(maxRowNorm(items, dim) <= 1 + 1e-6, `${optimizer} items, epoch ${epoch}`);
      }
    }
  });

  it('learns the planted clusters: recall@50 far above popularity', () => {
    const { dataset, train, test } = syntheticSplit();
    const hp = { ...defaultHyperparameters, dim: 32, epochs: 8 };
    const state = createCmlState(dataset.users.size, dataset.items.size, hp);
    const trainer = new SerialCmlTrainer(state, train, hp);
    for (let epoch = 0; epoch < hp.epochs; epoch++) trainer.runEpoch();

    const cml = evaluateRanking(new DistanceRanker(state.tables), train, test, { ks: [50] });
    const popularity = evaluateRanking(new PopularityRanker(train.itemCounts()), train, test, {
      ks: [50],
    });
    assert.ok(
      cml.at[50].recall > 1.5 * popularity.at[50].recall,
      `CML ${cml.at[50].recall} vs popularity ${popularity.at[50].recall}`,
    );
  });

  it('is deterministic for a seed', () => {
    const { dataset, train } = syntheticSplit();
    const hp = { ...defaultHyperparameters, dim: 8 };
    const run = () => {
      const state = createCmlState(dataset.users.size, dataset.items.size, hp);
      new SerialCmlTrainer(state, train, hp).runEpoch();
      return state.tables.items;
    };
    assert.deepEqual(run(), run());
  });

  it('applies the covariance regularizer when λ_c > 0 and skips it at 0', () => {
    const { dataset, train } = syntheticSplit();
    const covarianceOf = (covarianceWeight: number) => {
      const hp = { ...defaultHyperparameters, dim: 16, covarianceWeight };
      const state = createCmlState(dataset.users.size, dataset.items.size, hp);
      return new SerialCmlTrainer(state, train, hp).runEpoch().covarianceLoss;
    };
    const applied = covarianceOf(5);
    assert.ok(Number.isFinite(applied) && applied !== 0, `covariance term ${applied}`);
    assert.equal(covarianceOf(0), 0);
  });
});
