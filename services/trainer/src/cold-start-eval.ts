import {
  ALIGN_COLD_ITEMS_DEFAULTS,
  type AlignColdItemsOptions,
  type AlignColdItemsResult,
  type AlignmentDiagnostics,
} from '@cml-rec/shared/alignment/cold-start';
import { applyPlainLayers, projectRowsToUnitBall } from '@cml-rec/shared/alignment/mlp';
import { subsampledWasserstein1 } from '@cml-rec/shared/alignment/wasserstein';
import type { Dataset } from '@cml-rec/shared/cml/dataset';
import { evaluateRanking, type Evaluation } from '@cml-rec/shared/cml/evaluation';
import { FeatureVocabulary, type FeatureLossOptions } from '@cml-rec/shared/cml/features';
import { UserItemSets } from '@cml-rec/shared/cml/positives';
import { DistanceRanker, type Ranker } from '@cml-rec/shared/cml/rankers';
import type { EmbeddingTables } from '@cml-rec/shared/cml/tables';
import type { CmlHyperparameters } from '@cml-rec/shared/cml/train';
import type { ItemFeatures } from '@cml-rec/shared/data/item-formats';
import { InputError } from '@cml-rec/shared/errors';
import { Random } from '@cml-rec/shared/util/random';
import { alignColdItemVectors, trainAndEvaluate, type EpochReport } from './pipeline.js';

/**
 * Cold-start evaluation (CML-NOTES section 5 in practice): hold a seeded share of the items
 * that have features out of training entirely, train CML and its jointly trained feature
 * encoder on the rest, then ask how well each method ranks the held-out items for the users
 * who liked them. COLD-START.md gives the protocol, its reasons and measured figures.
 */
export interface ColdStartEvalOptions {
  hyperparameters: CmlHyperparameters;
  featureLoss: FeatureLossOptions;
  /** WDGRL settings; `lambda` here is the aligned run's λ (the ablation uses λ = 0). */
  alignment?: Partial<AlignColdItemsOptions>;
  /** Share of the items with features held out as cold items (e.g. 0.2). */
  coldFraction: number;
  /** Seed of the held-out draw, the random baseline and the W1 subsamples. */
  holdoutSeed: number;
  ks: number[];
  threads?: number;
  /** Points per side for the exact W1 (seeded subsample above this). */
  w1Points?: number;
  /**
   * A tag added to every held-out item after the draw: metadata that only new items carry (a
   * new season, a release year), i.e. a planted shift between warm and cold features. A random
   * holdout alone has none: cold and warm features are then drawn from one distribution.
   */
  coldTag?: string;
  onEpoch?: (report: EpochReport) => void;
}

/** The held-out split: training data without any interaction of the cold items. */
export interface ColdHoldout {
  /** Same users and item catalogue (ids, indexes) as the input; cold items have no positive. */
  train: Dataset;
  /** Held-out item indexes, ascending. */
  coldItems: Int32Array;
  /** Every positive (user, cold item) pair of the input, indexed over the full catalogue. */
  coldPositives: UserItemSets;
  /** Items with features (a non-zero encoder input row), the pool the cold items come from. */
  featuredItems: number;
}

export type ColdStartMethod =
  'random' | 'feature-popularity' | 'joint-encoder' | 'post-hoc-encoder' | 'wdgrl';

export const METHOD_LABELS: Record<ColdStartMethod, string> = {
  random: 'random',
  'feature-popularity': 'feature popularity',
  'joint-encoder': 'encoder f(x) (joint)',
  'post-hoc-encoder': 'encoder, λ = 0',
  wdgrl: 'encoder + WDGRL',
};

export interface W1Pair {
  /** W1 between the encoder's outputs on warm items and on cold items. */
  encoderOutputs: number;
  /** W1 between the warm items' learned vectors v_j and the cold items' placed vectors. */
  itemVectors: number;
  /**
   * The sampling floor: W1 between the encoder's outputs on a random set of warm items as large
   * as the cold set and on the other warm items. Two samples of one distribution are this far
   * apart; only the part of `encoderOutputs` above it is a shift between warm and cold.
   */
  encoderOutputsFloor: number;
}

export interface MethodResult {
  method: ColdStartMethod;
  /** Ranking only the cold items (primary protocol). */
  coldOnly: Evaluation;
  /** Ranking the whole catalogue minus each user's training items; hits = cold positives. */
  fullCatalogue: Evaluation;
  /** Only for the encoders. */
  w1?: W1Pair;
  /** Only for the WDGRL-trained encoders: mean ||f(x_j) - v_j||^2 over warm items. */
  taskError?: number;
  /** Only for the WDGRL-trained encoders: alignColdItems' own diagnostics. */
  diagnostics?: AlignmentDiagnostics;
}

export interface ColdStartReport {
  protocol: {
    coldFraction: number;
    holdoutSeed: number;
    coldTag?: string;
    ks: number[];
    ranking: string;
    w1: string;
  };
  counts: {
    users: number;
    items: number;
    featuredItems: number;
    coldItems: number;
    warmFeaturedItems: number;
    trainPairs: number;
    coldPairs: number;
    evaluatedUsers: number;
    featureColumns: number;
  };
  methods: MethodResult[];
  alignment: { lambda: number; iterations: number; trainingMs: number };
  trainSeconds: number;
}

/**
 * Draws `round(coldFraction * featured)` of the items with features (seeded Fisher-Yates) and
 * removes every positive of theirs from the training data. Items without features are never
 * held out: no method could place them.
 */
export function holdOutColdItems(
  dataset: Dataset,
  inputs: Float32Array,
  coldFraction: number,
  seed: number,
): ColdHoldout {
  if (!(coldFraction > 0 && coldFraction < 1)) {
    throw new InputError(
      'COLD_FRACTION',
      `holdOutColdItems: coldFraction must be in (0, 1), got ${coldFraction}`,
    );
  }
  const numItems = dataset.items.size;
  const columns = inputs.length / numItems;
  const featured: number[] = [];
  for (let item = 0; item < numItems; item++) {
    if (inputs.subarray(item * columns, (item + 1) * columns).some((value) => value !== 0)) {
      featured.push(item);
    }
  }
  const numCold = Math.round(coldFraction * featured.length);
  if (numCold === 0 || numCold === featured.length) {
    throw new InputError(
      'COLD_FRACTION',
      `holdOutColdItems: ${featured.length} items have features; a share of ${coldFraction} leaves no cold or no warm item`,
    );
  }
  new Random(seed).shuffle(featured);
  const coldItems = Int32Array.from(featured.slice(0, numCold)).sort();
  const isCold = new Uint8Array(numItems);
  for (const item of coldItems) isCold[item] = 1;

  const { positives } = dataset;
  const users = positives.pairUsers();
  const train = { users: [] as number[], items: [] as number[] };
  const cold = { users: [] as number[], items: [] as number[] };
  positives.items.forEach((item, n) => {
    const side = isCold[item] ? cold : train;
    side.users.push(users[n]);
    side.items.push(item);
  });
  const numUsers = dataset.users.size;
  return {
    train: {
      users: dataset.users,
      items: dataset.items,
      positives: UserItemSets.fromPairs(numUsers, numItems, train.users, train.items),
    },
    coldItems,
    coldPositives: UserItemSets.fromPairs(numUsers, numItems, cold.users, cold.items),
    featuredItems: featured.length,
  };
}

/**
 * Runs the whole evaluation: hold out, train (the pipeline, no validation split so that every
 * training item is a warm item and the epoch count is fixed), then place and rank the cold
 * items with each method.
 */
export async function evaluateColdStart(
  dataset: Dataset,
  features: (ItemFeatures | undefined)[],
  options: ColdStartEvalOptions,
): Promise<ColdStartReport> {
  const { hyperparameters: hp, ks, holdoutSeed } = options;
  let itemFeatures = features;
  let vocabulary = FeatureVocabulary.build(itemFeatures);
  if (vocabulary.size === 0) {
    throw new InputError('NO_FEATURES', 'evaluateColdStart: no item has features');
  }
  const holdout = holdOutColdItems(
    dataset,
    vocabulary.encode(itemFeatures),
    options.coldFraction,
    holdoutSeed,
  );
  if (options.coldTag !== undefined) {
    const tag = options.coldTag;
    const isHeldOut = new Set(holdout.coldItems);
    itemFeatures = itemFeatures.map((features, item) =>
      isHeldOut.has(item) ? { ...features, tags: [...(features?.tags ?? []), tag] } : features,
    );
    vocabulary = FeatureVocabulary.build(itemFeatures);
  }
  const inputs = vocabulary.encode(itemFeatures);

  // testFraction 0: the pipeline's own per-user evaluation is not used here.
  const trained = await trainAndEvaluate(holdout.train, {
    hyperparameters: hp,
    testFraction: 0,
    validationFraction: 0,
    splitSeed: holdoutSeed,
    ks,
    threads: options.threads,
    itemFeatures,
    featureLoss: options.featureLoss,
    bpr: false,
    align: 'none',
    onEpoch: options.onEpoch,
  });
  const jointLayers = trained.encoder?.layers;
  if (!jointLayers) {
    throw new InputError('NO_ENCODER', 'evaluateColdStart: the feature loss is off (weight 0)');
  }
  const { tables } = trained.state;
  const { dim } = tables;
  const train = trained.train;
  const counts = train.itemCounts();
  const isWarm = (item: number) => counts[item] > 0;
  const cold = Array.from(holdout.coldItems);
  for (const item of cold) {
    if (isWarm(item)) throw new Error(`cold item ${item} has training positives`);
  }

  // The joint encoder's outputs, as the pipeline places them (f(x) then the unit ball).
  const jointOutputs = (rows: number[]) =>
    projectRowsToUnitBall(
      applyPlainLayers(jointLayers, gatherRows(inputs, vocabulary.size, rows)),
      dim,
    );
  const alignmentOptions = { ...options.alignment };
  const isCold = (item: number) => !isWarm(item);
  const posthoc = alignColdItemVectors(tables, inputs, isWarm, isCold, {
    ...alignmentOptions,
    lambda: 0,
  });
  const wdgrl = alignColdItemVectors(tables, inputs, isWarm, isCold, alignmentOptions);
  if (!posthoc || !wdgrl) throw new Error('evaluateColdStart: no warm or no cold featured item');
  // Both runs see the same item sets; the aligned run's cold rows must be the held-out items
  // plus any other featured item without a training positive (none when every item has one).
  const warm = wdgrl.warm;
  const coldRowOf = new Map(wdgrl.cold.map((item, n) => [item, n]));
  const pick = (embeddings: Float32Array) =>
    gatherRows(
      embeddings,
      dim,
      cold.map((item) => coldRowOf.get(item)!),
    );

  const w1Points = options.w1Points ?? 512;
  const warmVectors = gatherRows(tables.items, dim, warm);
  const shuffledWarm = new Random(holdoutSeed).shuffle(Array.from(warm, (_, n) => n));
  const floorSplit = Math.min(cold.length, Math.floor(warm.length / 2));
  const w1 = (warmOutputs: Float32Array, coldOutputs: Float32Array): W1Pair => ({
    encoderOutputsFloor: subsampledWasserstein1(
      gatherRows(warmOutputs, dim, shuffledWarm.slice(0, floorSplit)),
      gatherRows(warmOutputs, dim, shuffledWarm.slice(floorSplit)),
      dim,
      w1Points,
      holdoutSeed,
    ).distance,
    encoderOutputs: subsampledWasserstein1(warmOutputs, coldOutputs, dim, w1Points, holdoutSeed)
      .distance,
    itemVectors: subsampledWasserstein1(warmVectors, coldOutputs, dim, w1Points, holdoutSeed)
      .distance,
  });

  // Each placement covers every featured item without a training positive (`wdgrl.cold`): the
  // held-out items, plus in real data items nobody liked, which stay in the catalogue.
  const placements: Placement[] = [
    { method: 'joint-encoder', warm: jointOutputs(warm), all: jointOutputs(wdgrl.cold) },
    { method: 'post-hoc-encoder', ...embeddingsOf(posthoc.result) },
    { method: 'wdgrl', ...embeddingsOf(wdgrl.result) },
  ];

  const local = localColdPositives(holdout.coldPositives, holdout.coldItems);
  const noExclusions = UserItemSets.fromPairs(train.numUsers, cold.length, [], []);
  const evaluateBoth = (coldScorer: Ranker, fullScorer: Ranker) => ({
    coldOnly: evaluateRanking(coldScorer, noExclusions, local, { ks }),
    fullCatalogue: evaluateRanking(fullScorer, train, holdout.coldPositives, { ks }),
  });

  const methods: MethodResult[] = [];
  methods.push({
    method: 'random',
    ...evaluateBoth(
      new RandomRanker(cold.length, holdoutSeed),
      new RandomRanker(tables.numItems, holdoutSeed),
    ),
  });
  const predicted = featurePopularity(inputs, vocabulary.size, counts, isWarm);
  const popularity = Float64Array.from(counts, (count, item) =>
    isWarm(item) ? count : predicted[item],
  );
  methods.push({
    method: 'feature-popularity',
    ...evaluateBoth(
      new ScoreRanker(Float64Array.from(cold, (item) => predicted[item])),
      new ScoreRanker(popularity),
    ),
  });
  for (const placement of placements) {
    const items = Float32Array.from(tables.items);
    wdgrl.cold.forEach((item, n) =>
      items.set(placement.all.subarray(n * dim, (n + 1) * dim), item * dim),
    );
    const placed = { ...tables, items };
    methods.push({
      method: placement.method,
      coldOnly: evaluateColdOnly(placed, holdout, ks),
      fullCatalogue: evaluateRanking(new DistanceRanker(placed), train, holdout.coldPositives, {
        ks,
      }),
      w1: w1(placement.warm, pick(placement.all)),
      taskError: placement.task,
      diagnostics: placement.diagnostics,
    });
  }

  return {
    protocol: {
      coldFraction: options.coldFraction,
      holdoutSeed,
      coldTag: options.coldTag,
      ks,
      ranking:
        'cold-only: each user with positives among the cold items ranks the cold items only; ' +
        'full catalogue: every item but the user’s training items, hits counted on cold positives',
      w1: `exact W1 (Euclidean) between warm and cold sets, seeded subsample of at most ${w1Points} per side`,
    },
    counts: {
      users: dataset.users.size,
      items: dataset.items.size,
      featuredItems: holdout.featuredItems,
      coldItems: cold.length,
      warmFeaturedItems: warm.length,
      trainPairs: train.numPairs,
      coldPairs: holdout.coldPositives.numPairs,
      evaluatedUsers: methods[0].coldOnly.users,
      featureColumns: vocabulary.size,
    },
    methods,
    alignment: {
      lambda: { ...ALIGN_COLD_ITEMS_DEFAULTS, ...options.alignment }.lambda,
      iterations: wdgrl.result.diagnostics.iterations,
      trainingMs: wdgrl.result.diagnostics.trainingMs,
    },
    trainSeconds: trained.fit.trainSeconds,
  };
}

/**
 * "Popularity" for items nobody has interacted with yet: each feature column's mean training
 * popularity over the warm items that have it, averaged over the item's columns (the mean
 * over warm items when it shares no column with them). Non-personalised, like popularity.
 */
export function featurePopularity(
  inputs: Float32Array,
  columns: number,
  counts: Float64Array,
  isWarm: (item: number) => boolean,
): Float64Array {
  const numItems = counts.length;
  const sums = new Float64Array(columns);
  const seen = new Float64Array(columns);
  let total = 0;
  let warmItems = 0;
  for (let item = 0; item < numItems; item++) {
    if (!isWarm(item)) continue;
    total += counts[item];
    warmItems++;
    for (let c = 0; c < columns; c++) {
      if (inputs[item * columns + c] === 0) continue;
      sums[c] += counts[item];
      seen[c]++;
    }
  }
  const fallback = warmItems === 0 ? 0 : total / warmItems;
  const scores = new Float64Array(numItems);
  for (let item = 0; item < numItems; item++) {
    let sum = 0;
    let used = 0;
    for (let c = 0; c < columns; c++) {
      if (inputs[item * columns + c] === 0 || seen[c] === 0) continue;
      sum += sums[c] / seen[c];
      used++;
    }
    scores[item] = used === 0 ? fallback : sum / used;
  }
  return scores;
}

/**
 * The cold-only protocol on tables whose cold rows are placed: every user with positives among
 * the held-out items ranks the held-out items only (nothing to exclude: none is a training item).
 */
export function evaluateColdOnly(
  tables: EmbeddingTables,
  holdout: Pick<ColdHoldout, 'coldItems' | 'coldPositives'>,
  ks: number[],
): Evaluation {
  const { coldItems } = holdout;
  const items = gatherRows(tables.items, tables.dim, coldItems);
  const none = UserItemSets.fromPairs(tables.numUsers, coldItems.length, [], []);
  const local = localColdPositives(holdout.coldPositives, coldItems);
  return evaluateRanking(
    new DistanceRanker({ ...tables, numItems: coldItems.length, items }),
    none,
    local,
    { ks },
  );
}

/** The cold positives re-indexed over the cold items only (column n = coldItems[n]). */
function localColdPositives(positives: UserItemSets, coldItems: Int32Array): UserItemSets {
  const local = new Map<number, number>();
  coldItems.forEach((item, n) => local.set(item, n));
  const users = positives.pairUsers();
  const items = Array.from(positives.items, (item) => local.get(item)!);
  return UserItemSets.fromPairs(positives.numUsers, coldItems.length, users, items);
}

/** An encoder's outputs on the warm items and on every item without a training positive. */
interface Placement {
  method: ColdStartMethod;
  warm: Float32Array;
  all: Float32Array;
  task?: number;
  diagnostics?: AlignmentDiagnostics;
}

function embeddingsOf(result: AlignColdItemsResult): Omit<Placement, 'method'> {
  return {
    warm: result.sourceEmbeddings,
    all: result.targetEmbeddings,
    task: result.diagnostics.taskErrorAfter,
    diagnostics: result.diagnostics,
  };
}

function gatherRows(table: Float32Array, width: number, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * width);
  for (let n = 0; n < rows.length; n++) {
    out.set(table.subarray(rows[n] * width, (rows[n] + 1) * width), n * width);
  }
  return out;
}

/** The same scores for every user. */
class ScoreRanker implements Ranker {
  readonly numItems: number;

  constructor(private readonly scores: Float64Array) {
    this.numItems = scores.length;
  }

  scoreItems(_user: number, out: Float32Array): void {
    for (let item = 0; item < this.numItems; item++) out[item] = this.scores[item];
  }
}

/** Fresh seeded uniform scores for every call: a random ranking per user. */
class RandomRanker implements Ranker {
  private readonly random: Random;

  constructor(
    readonly numItems: number,
    seed: number,
  ) {
    this.random = new Random(seed);
  }

  scoreItems(_user: number, out: Float32Array): void {
    for (let item = 0; item < this.numItems; item++) out[item] = this.random.float();
  }
}

/** The report as a plain-text table: recall per protocol and cut-off, then W1 and task error. */
export function formatColdStartTable(report: ColdStartReport): string {
  const { ks } = report.protocol;
  const header = [
    'method',
    ...ks.map((k) => `cold-only R@${k}`),
    ...ks.map((k) => `full R@${k}`),
    'W1 f(x) warm/cold',
    'W1 floor',
    'W1 v warm/cold',
    'task err',
  ];
  const number = (value: number | undefined) =>
    value === undefined || Number.isNaN(value) ? '-' : value.toFixed(4);
  const rows = report.methods.map((result) => [
    METHOD_LABELS[result.method],
    ...ks.map((k) => number(result.coldOnly.at[k]?.recall)),
    ...ks.map((k) => number(result.fullCatalogue.at[k]?.recall)),
    number(result.w1?.encoderOutputs),
    number(result.w1?.encoderOutputsFloor),
    number(result.w1?.itemVectors),
    number(result.taskError),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}
