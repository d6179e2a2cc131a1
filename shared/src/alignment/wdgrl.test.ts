import { tf } from '../util/tensorflow.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { criticGap } from './gradient-penalty.js';
import { Mlp } from './mlp.js';
import { createRandom, fillWith } from './random.js';
import { WdgrlTrainer, type WdgrlParts } from './wdgrl.js';

interface Fixture {
  parts: WdgrlParts;
  extractor: Mlp;
  critic: Mlp;
  sourceX: tf.Tensor2D;
  sourceY: tf.Tensor2D;
  targetX: tf.Tensor2D;
  dispose(): void;
}

/** A linear-ish 3 -> 2 extractor, source around 0 and target shifted by 2 in every feature. */
function fixture(): Fixture {
  const random = createRandom(1);
  const extractor = new Mlp({ inputSize: 3, hiddenSizes: [8], outputSize: 2, seed: 2 });
  const critic = new Mlp({ inputSize: 2, hiddenSizes: [16], outputSize: 1, seed: 3 });
  const sourceX = tf.tensor2d(
    fillWith(32 * 3, () => random.normal()),
    [32, 3],
  );
  const sourceY = tf.tensor2d(
    fillWith(32 * 2, () => random.normal() * 0.1),
    [32, 2],
  );
  const targetX = tf.tensor2d(
    fillWith(32 * 3, () => random.normal() + 2),
    [32, 3],
  );
  return {
    parts: {
      extractor: (x) => extractor.apply(x),
      extractorVariables: extractor.variables as tf.Variable[],
      critic,
      taskLoss: (h, y) => tf.mean(tf.sum(tf.squaredDifference(h, y), 1)) as tf.Scalar,
    },
    extractor,
    critic,
    sourceX,
    sourceY,
    targetX,
    dispose: () => {
      tf.dispose([sourceX, sourceY, targetX]);
      extractor.dispose();
      critic.dispose();
    },
  };
}

const flat = (mlp: Mlp): number[] => mlp.toPlainLayers().flatMap((l) => [...l.weight, ...l.bias]);

describe('alignment > wdgrl > iteration', () => {
  it('raises the critic gap between the domains, then lowers it by moving the extractor', () => {
    const f = fixture();
    const trainer = new WdgrlTrainer(f.parts, {
      lambda: 1,
      criticSteps: 20,
      criticLearningRate: 1e-2,
      extractorLearningRate: 1e-2,
    });
    const gap = (): number =>
      tf.tidy(
        () =>
          criticGap(
            (h) => f.critic.apply(h),
            f.extractor.apply(f.sourceX),
            f.extractor.apply(f.targetX),
          ).dataSync()[0],
      );
    const initial = gap();
    const first = trainer.iteration(f.sourceX, f.sourceY, f.targetX);
    // The first iteration's critic phase has run and the extractor has made one step.
    assert.ok(
      first.wassersteinEstimate > initial,
      `critic gap ${initial} -> ${first.wassersteinEstimate}`,
    );
    assert.ok(Number.isFinite(first.penalty) && first.penalty >= 0);
    const beforeExtractorSteps = gap();
    // Freeze the critic (no critic steps) and let the extractor descend on L_c + λ L_wd.
    const extractorOnly = new WdgrlTrainer(f.parts, {
      lambda: 1,
      criticSteps: 0,
      extractorLearningRate: 1e-2,
    });
    for (let k = 0; k < 20; k++) extractorOnly.iteration(f.sourceX, f.sourceY, f.targetX);
    assert.ok(
      gap() < beforeExtractorSteps,
      `gap under a fixed critic ${beforeExtractorSteps} -> ${gap()}`,
    );
    trainer.dispose();
    extractorOnly.dispose();
    f.dispose();
  });

  it('skips the critic when λ = 0 and trains the task alone', () => {
    const f = fixture();
    const criticBefore = flat(f.critic);
    const trainer = new WdgrlTrainer(f.parts, { lambda: 0, extractorLearningRate: 1e-2 });
    const first = trainer.iteration(f.sourceX, f.sourceY, f.targetX);
    let last = first;
    for (let k = 0; k < 30; k++) last = trainer.iteration(f.sourceX, f.sourceY, f.targetX);
    assert.deepEqual(flat(f.critic), criticBefore);
    assert.ok(Number.isNaN(first.wassersteinEstimate) && Number.isNaN(first.penalty));
    assert.ok(last.taskLoss < first.taskLoss, `task loss ${first.taskLoss} -> ${last.taskLoss}`);
    trainer.dispose();
    f.dispose();
  });

  it('leaks no tensors across iterations', () => {
    const f = fixture();
    const trainer = new WdgrlTrainer(f.parts, { criticSteps: 2 });
    trainer.iteration(f.sourceX, f.sourceY, f.targetX); // creates the optimizers' slots
    const count = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) trainer.iteration(f.sourceX, f.sourceY, f.targetX);
    assert.equal(tf.memory().numTensors, count);
    trainer.dispose();
    f.dispose();
  });
});
