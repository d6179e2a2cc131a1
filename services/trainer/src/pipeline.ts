import type { Dataset } from '@cml-rec/shared/cml/dataset';
import { evaluateRanking, type Evaluation } from '@cml-rec/shared/cml/evaluation';
import { DistanceRanker, PopularityRanker } from '@cml-rec/shared/cml/rankers';
import { splitPerUser, type TrainTestSplit } from '@cml-rec/shared/cml/split';
import {
  createCmlState,
  SerialCmlTrainer,
  type CmlHyperparameters,
  type CmlState,
} from '@cml-rec/shared/cml/train';
import type { PassStats } from '@cml-rec/shared/cml/engine';

export interface PipelineOptions {
  hyperparameters: CmlHyperparameters;
  /** Share of each user's positives held out for evaluation. */
  testFraction: number;
  /** Seed of the train/test split (separate from the model's seed). */
  splitSeed: number;
  /** Cut-offs reported by the evaluation. */
  ks: number[];
  /**
   * Called once on the freshly initialised tables before the first epoch, e.g. to warm-start
   * known users and items from the active version's vectors.
   */
  prepare?: (state: CmlState, dataset: Dataset) => void | Promise<void>;
}

export interface EpochReport extends PassStats {
  epoch: number;
  epochs: number;
  /** Training wall time so far, evaluation excluded. */
  trainSeconds: number;
}

export interface PipelineResult {
  state: CmlState;
  split: TrainTestSplit;
  evaluation: { cml: Evaluation; popularity: Evaluation };
  epochs: EpochReport[];
  trainSeconds: number;
}

/**
 * Split, train CML, and evaluate it beside the popularity baseline on the same split with the
 * same exact full-catalogue evaluation.
 */
export async function trainAndEvaluate(
  dataset: Dataset,
  options: PipelineOptions,
  onEpoch: (report: EpochReport) => void = () => undefined,
): Promise<PipelineResult> {
  const { hyperparameters: hp, testFraction, splitSeed, ks } = options;
  const split = splitPerUser(dataset.positives, { testFraction, seed: splitSeed });
  const state = createCmlState(dataset.users.size, dataset.items.size, hp);
  await options.prepare?.(state, dataset);
  const trainer = new SerialCmlTrainer(state, split.train, hp);

  const epochs: EpochReport[] = [];
  let trainSeconds = 0;
  for (let epoch = 1; epoch <= hp.epochs; epoch++) {
    const started = performance.now();
    const stats = trainer.runEpoch();
    trainSeconds += (performance.now() - started) / 1000;
    const report = { ...stats, epoch, epochs: hp.epochs, trainSeconds };
    epochs.push(report);
    onEpoch(report);
  }

  const evaluation = {
    cml: evaluateRanking(new DistanceRanker(state.tables), split.train, split.test, { ks }),
    popularity: evaluateRanking(
      new PopularityRanker(split.train.itemCounts()),
      split.train,
      split.test,
      { ks },
    ),
  };
  return { state, split, evaluation, epochs, trainSeconds };
}
