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
import {
  alignColdItems,
  type AlignColdItemsOptions,
  type AlignColdItemsResult,
  type AlignmentDiagnostics,
} from '@cml-rec/shared/alignment/cold-start';
import { computeSquaredNorms } from '@cml-rec/shared/cml/engine';
import { InputError } from '@cml-rec/shared/errors';
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
   * How items with features but no training positive get their vectors: 'none' (default)
   * places them at f(x_j) of the jointly trained encoder; 'wdgrl' trains a cold-start encoder
   * on the warm items' learned vectors with WDGRL alignment (`alignColdItems`) and places them
   * with it. Needs `itemFeatures`.
   */
  align?: 'none' | 'wdgrl';
  /**
   * The items that have no history and get their vectors from features (f(x_j), or the
   * aligned encoder). Default: items with no positive anywhere in the dataset. Items that
   * were trained (even only as negatives) keep their learned vectors: the metric loss knows
   * more about them than the features do.
   */
  coldItems?: ReadonlySet<number>;
  alignment?: Partial<AlignColdItemsOptions>;
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
  evaluation: { cml: Evaluation; popularity: Evaluation; bpr?: Evaluation };
  encoder?: TrainedEncoder;
  /** Items that had features but no training positive, placed at f(x_j) (aligned or not). */
  coldItems: number;
  /** With align 'wdgrl' and at least one cold item: the alignment's diagnostics. */
  alignment?: AlignmentDiagnostics & { sourceItems: number; targetItems: number };
}

/**
 * Split (test, then validation from the rest), train CML with early stopping on validation
 * recall, optionally jointly with the item-feature encoder, then evaluate CML and the
 * baselines on the test positives with the same exact full-catalogue evaluation.
 */
export async function trainAndEvaluate(
  dataset: Dataset,
  options: PipelineOptions,
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

  if (options.align === 'wdgrl' && !options.itemFeatures) {
    throw new InputError('ALIGN_NEEDS_FEATURES', 'align wdgrl needs item features (--items)');
  }
  const state = createCmlState(dataset.users.size, dataset.items.size, hp, threads > 1);
  await options.prepare?.(state, dataset);
  // Warm = learned by the metric loss: the items with positives in the training pairs.
  const fitCounts = fitSet.itemCounts();
  const isWarm = (item: number) => fitCounts[item] > 0;
  const features = createFeatureLoss(state, options, isWarm);

  const fit = await fitCml(state, fitSet, hp, {
    threads,
    validation,
    evalEvery: options.evalEvery ?? 1,
    patience: options.patience ?? 3,
    recallK: 50,
    onEpoch: options.onEpoch,
    afterEpoch: features
      ? (current) => void features.runSteps(current.itemSquaredNorms)
      : undefined,
  });

  const positiveCounts = dataset.positives.itemCounts();
  const isCold = options.coldItems
    ? (item: number) => options.coldItems?.has(item) === true
    : (item: number) => positiveCounts[item] === 0;
  let coldItems = 0;
  let encoder: TrainedEncoder | undefined;
  let alignment: PipelineResult['alignment'];
  let vocabulary = features?.vocabulary;
  let aligned: ReturnType<typeof alignColdItemVectors>;
  if (options.align === 'wdgrl' && options.itemFeatures) {
    vocabulary ??= FeatureVocabulary.build(options.itemFeatures);
    const inputs = features?.featureInputs ?? vocabulary.encode(options.itemFeatures);
    aligned = alignColdItemVectors(state.tables, inputs, isWarm, isCold, options.alignment);
  }
  if (aligned && vocabulary) {
    const { dim, items } = state.tables;
    const { targetEmbeddings, encoder: alignedEncoder, diagnostics } = aligned.result;
    aligned.cold.forEach((item, n) =>
      items.set(targetEmbeddings.subarray(n * dim, (n + 1) * dim), item * dim),
    );
    coldItems = aligned.cold.length;
    encoder = { layers: alignedEncoder.layers, vocabulary: vocabulary.tokens };
    alignment = { ...diagnostics, sourceItems: aligned.warm.length, targetItems: coldItems };
  } else if (features) {
    coldItems = features.placeColdItems(isCold).length;
  }
  if (features && !encoder) {
    encoder = { layers: features.exportLayers(), vocabulary: features.vocabulary.tokens };
  }
  features?.dispose();
  // Rows were written directly: refresh the cached norms (CmlState.itemSquaredNorms).
  computeSquaredNorms(state.tables.items, state.tables.dim, state.itemSquaredNorms);

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
    evaluation,
    encoder,
    coldItems,
    alignment,
  };
}

/**
 * The WDGRL cold-start step (CML-NOTES section 5): source = items with features and training
 * positives (task: regress the encoder's output to the learned v_j), target = items with
 * features and no training positive. Returns the item indexes of both sets and the alignment's
 * result (target embeddings row-aligned with `cold`), or undefined when either set is empty.
 * `inputs` is the row-major [numItems x featureColumns] encoder input; a zero row = no features.
 */
export function alignColdItemVectors(
  tables: { dim: number; numItems: number; items: Float32Array },
  inputs: Float32Array,
  isWarm: (item: number) => boolean,
  isCold: (item: number) => boolean,
  options?: Partial<AlignColdItemsOptions>,
): { warm: number[]; cold: number[]; result: AlignColdItemsResult } | undefined {
  const { dim, numItems, items } = tables;
  const columns = inputs.length / numItems;
  const warm: number[] = [];
  const cold: number[] = [];
  for (let item = 0; item < numItems; item++) {
    const row = inputs.subarray(item * columns, (item + 1) * columns);
    if (!row.some((value) => value !== 0)) continue;
    if (isCold(item)) cold.push(item);
    else if (isWarm(item)) warm.push(item);
  }
  if (warm.length === 0 || cold.length === 0) return undefined;
  const gather = (table: Float32Array, width: number, rows: number[]) => {
    const out = new Float32Array(rows.length * width);
    rows.forEach((row, n) => out.set(table.subarray(row * width, (row + 1) * width), n * width));
    return out;
  };
  const result = alignColdItems({
    sourceFeatures: gather(inputs, columns, warm),
    sourceTargets: gather(items, dim, warm),
    targetFeatures: gather(inputs, columns, cold),
    dim,
    options,
  });
  return { warm, cold, result };
}

/** BPR trains on all training positives (it has no early stopping), for its full epochs. */
function trainBpr(train: UserItemSets, options: BprOptions | undefined): BprModel {
  const model = new BprModel(train, options ?? defaultBprOptions);
  for (let epoch = 0; epoch < (options ?? defaultBprOptions).epochs; epoch++) model.runEpoch();
  return model;
}

function createFeatureLoss(
  state: CmlState,
  options: PipelineOptions,
  isWarm: (item: number) => boolean,
): (FeatureLoss & { vocabulary: FeatureVocabulary; featureInputs: Float32Array }) | undefined {
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
    isWarm,
  );
  return Object.assign(loss, { vocabulary, featureInputs: inputs });
}
