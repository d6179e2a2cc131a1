import { BprModel, defaultBprOptions, type BprOptions } from '@cml-rec/shared/baselines/bpr';
import type { Dataset } from '@cml-rec/shared/cml/dataset';
import { evaluateRanking, type Evaluation } from '@cml-rec/shared/cml/evaluation';
import {
  FeatureLoss,
  FeatureVocabulary,
  type FeatureLossOptions,
} from '@cml-rec/shared/cml/features';
import { fitCml, type EpochReport, type FitResult } from '@cml-rec/shared/cml/fit';
import type { UserItemSets } from '@cml-rec/shared/cml/positives';
import { DistanceRanker, PopularityRanker } from '@cml-rec/shared/cml/rankers';
import { splitPerUser } from '@cml-rec/shared/cml/split';
import { createCmlState, type CmlHyperparameters, type CmlState } from '@cml-rec/shared/cml/train';
import type { PlainDenseLayer } from '@cml-rec/shared/alignment/mlp';
import type { ItemFeatures } from '@cml-rec/shared/data/item-formats';

export type { EpochReport };

export interface PipelineOptions {
  hyperparameters: CmlHyperparameters;
  /** Share of each user's positives held out for the final evaluation. */
  testFraction: number;
  /** Share of the remaining positives held out for early stopping (0: run every epoch). */
  validationFraction?: number;
  /** Seed of the splits (separate from the model's seed). */
  splitSeed: number;
  /** Cut-offs reported by the evaluation. */
  ks: number[];
  /** Worker threads (default 1 = deterministic serial training). */
  threads?: number;
  /** Validation every this many epochs (default 1). */
  evalEvery?: number;
  /** Evaluations without improvement before stopping (default 3). */
  patience?: number;
  /** Item features aligned with dataset.items, to train the feature encoder jointly. */
  itemFeatures?: (ItemFeatures | undefined)[];
  featureLoss?: FeatureLossOptions;
  /** Also train and evaluate dot-product MF with BPR on the same split. */
  bpr?: BprOptions | false;
  /**
   * Called once on the freshly initialised tables before the first epoch, e.g. to warm-start
   * known users and items from the active version's vectors.
   */
  prepare?: (state: CmlState, dataset: Dataset) => void | Promise<void>;
  onEpoch?: (report: EpochReport) => void;
}

export interface TrainedEncoder {
  layers: PlainDenseLayer[];
  vocabulary: string[];
}

export interface PipelineResult {
  state: CmlState;
  /** Everything but the test positives (what "training items" means in the evaluation). */
  train: UserItemSets;
  test: UserItemSets;
  fit: FitResult;
  /** Training wall time, evaluation excluded (fit.trainSeconds). */
  trainSeconds: number;
  /** Per-epoch reports (fit.history). */
  epochs: EpochReport[];
  split: { train: UserItemSets; test: UserItemSets };
  evaluation: { cml: Evaluation; popularity: Evaluation; bpr?: Evaluation };
  encoder?: TrainedEncoder;
  /** Items that had features but no training positive, placed at f(x_j). */
  coldItems: number;
}

/**
 * Split (test, then validation from the rest), train CML with early stopping on validation
 * recall, optionally jointly with the item-feature encoder, then evaluate CML and the
 * baselines on the test positives with the same exact full-catalogue evaluation.
 */
export async function trainAndEvaluate(
  dataset: Dataset,
  options: PipelineOptions,
  onEpoch: (report: EpochReport) => void = options.onEpoch ?? (() => undefined),
): Promise<PipelineResult> {
  const { hyperparameters: hp, splitSeed, ks } = options;
  const validationFraction = options.validationFraction ?? 0.1;
  const threads = options.threads ?? 1;
  const { train, test } = splitPerUser(dataset.positives, {
    testFraction: options.testFraction,
    seed: splitSeed,
  });
  const { train: fitSet, test: validation } =
    validationFraction > 0
      ? splitPerUser(train, { testFraction: validationFraction, seed: splitSeed + 1 })
      : { train, test: undefined };

  const state = createCmlState(dataset.users.size, dataset.items.size, hp, threads > 1);
  await options.prepare?.(state, dataset);
  const features = createFeatureLoss(dataset, state, options);

  const fit = await fitCml(state, fitSet, hp, {
    threads,
    validation,
    evalEvery: options.evalEvery ?? 1,
    patience: options.patience ?? 3,
    recallK: 50,
    onEpoch,
    afterEpoch: features
      ? (current) => void features.runSteps(current.itemSquaredNorms)
      : undefined,
  });

  const itemCounts = fitSet.itemCounts();
  const coldItems = features?.placeColdItems((item) => itemCounts[item] > 0).length ?? 0;
  const encoder = features && {
    layers: features.exportLayers(),
    vocabulary: features.vocabulary.tokens,
  };
  features?.dispose();

  const evaluation: PipelineResult['evaluation'] = {
    cml: evaluateRanking(new DistanceRanker(state.tables), train, test, { ks }),
    popularity: evaluateRanking(new PopularityRanker(train.itemCounts()), train, test, { ks }),
  };
  if (options.bpr !== false) {
    evaluation.bpr = evaluateRanking(trainBpr(train, options.bpr), train, test, { ks });
  }
  return {
    state,
    train,
    test,
    fit,
    trainSeconds: fit.trainSeconds,
    epochs: fit.history,
    split: { train, test },
    evaluation,
    encoder,
    coldItems,
  };
}

/** BPR trains on all training positives (it has no early stopping), for its full epochs. */
function trainBpr(train: UserItemSets, options: BprOptions | undefined): BprModel {
  const model = new BprModel(train, options ?? defaultBprOptions);
  for (let epoch = 0; epoch < (options ?? defaultBprOptions).epochs; epoch++) model.runEpoch();
  return model;
}

function createFeatureLoss(
  dataset: Dataset,
  state: CmlState,
  options: PipelineOptions,
): (FeatureLoss & { vocabulary: FeatureVocabulary }) | undefined {
  if (!options.itemFeatures || !options.featureLoss || options.featureLoss.weight === 0)
    return undefined;
  const vocabulary = FeatureVocabulary.build(options.itemFeatures);
  if (vocabulary.size === 0) return undefined;
  const inputs = vocabulary.encode(options.itemFeatures);
  const loss = new FeatureLoss(
    inputs,
    vocabulary.size,
    state.tables,
    state.optimizer.items,
    options.featureLoss,
  );
  return Object.assign(loss, { vocabulary });
}
