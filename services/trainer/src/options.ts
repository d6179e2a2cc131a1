import { parseArgs } from 'node:util';
import { parseNumberOption, UsageError } from '@cml-rec/shared/cli/run';
import { defaultBprOptions } from '@cml-rec/shared/baselines/bpr';
import { defaultFeatureLossOptions } from '@cml-rec/shared/cml/features';
import { defaultHyperparameters, type CmlHyperparameters } from '@cml-rec/shared/cml/train';
import { ALIGN_COLD_ITEMS_DEFAULTS } from '@cml-rec/shared/alignment/cold-start';
import type { EpochReport, PipelineOptions } from './pipeline.js';
import {
  INTERACTION_FORMATS,
  type InteractionFormat,
} from '@cml-rec/shared/data/interaction-formats';

export const trainUsage = `usage: cml-train [options]

Trains CML on the interactions in PostgreSQL (DATABASE_URL, or the embedded server when
unset), evaluates it against popularity on a seeded per-user split, exports the model to ONNX,
registers it, and activates it when the promotion gate passes (the first version always
does). With --ratings it trains and evaluates straight from a ratings file instead, touching
no database.

data:
  --ratings FILE          train from a file (MovieLens u.data or ratings.dat, CSV, JSONL)
  --format NAME           ${INTERACTION_FORMATS.join(' | ')} (default: from the file name)
  --min-rating N          ratings >= N are positives (default 4)
  --test-fraction F       share of each user's positives held out (default 0.2)
  --split-seed N          seed of the splits (default 1)
  --items FILE            item features for the encoder (u.item or a tag CSV; file mode only,
                          the database path reads items.features)
training control:
  --threads N             worker threads, Hogwild (default 1: deterministic)
  --validation-fraction F share of training positives for early stopping (default 0.1, 0 = off)
  --eval-every N          validate every N epochs (default 1)
  --patience N            stop after N validations without improvement (default 3)
  --feature-weight W      λ_f of the item-feature loss (default 0.1, 0 = off)
  --bpr-epochs N          epochs of the BPR-MF baseline (default 30, 0 = skip it)
  --align none|wdgrl      vectors of items with features and no history: f(x) of the jointly
                          trained encoder (none, default) or a WDGRL-aligned encoder
  --align-lambda L        λ of the WDGRL distance term (default ${ALIGN_COLD_ITEMS_DEFAULTS.lambda})
  --align-iterations N    WDGRL encoder iterations (default ${ALIGN_COLD_ITEMS_DEFAULTS.iterations})
model (defaults in parentheses):
  --dim N (${defaultHyperparameters.dim})  --margin M (${defaultHyperparameters.margin})  --learning-rate R (${defaultHyperparameters.learningRate})
  --negatives U (${defaultHyperparameters.numNegatives})  --covariance-weight C (${defaultHyperparameters.covarianceWeight}, 0 = off)
  --epochs N (${defaultHyperparameters.epochs})  --batch-size N (${defaultHyperparameters.batchSize})  --optimizer adagrad|adam  --seed N (${defaultHyperparameters.seed})
output:
  --json                  print the result as JSON on stdout
  --no-activate           register the version as a candidate without activating it`;

export interface TrainOptions {
  ratingsFile?: string;
  itemsFile?: string;
  threads: number;
  validationFraction: number;
  evalEvery: number;
  patience: number;
  featureWeight: number;
  bprEpochs: number;
  align: 'none' | 'wdgrl';
  alignLambda: number;
  alignIterations: number;
  format?: InteractionFormat;
  minRating: number;
  testFraction: number;
  splitSeed: number;
  hyperparameters: CmlHyperparameters;
  json: boolean;
  activate: boolean;
}

export function parseTrainOptions(argv: string[]): TrainOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        ratings: { type: 'string' },
        items: { type: 'string' },
        threads: { type: 'string' },
        'validation-fraction': { type: 'string' },
        'eval-every': { type: 'string' },
        patience: { type: 'string' },
        'feature-weight': { type: 'string' },
        'bpr-epochs': { type: 'string' },
        align: { type: 'string' },
        'align-lambda': { type: 'string' },
        'align-iterations': { type: 'string' },
        format: { type: 'string' },
        'min-rating': { type: 'string' },
        'test-fraction': { type: 'string' },
        'split-seed': { type: 'string' },
        dim: { type: 'string' },
        margin: { type: 'string' },
        'learning-rate': { type: 'string' },
        negatives: { type: 'string' },
        'covariance-weight': { type: 'string' },
        epochs: { type: 'string' },
        'batch-size': { type: 'string' },
        optimizer: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'boolean', default: false },
        'no-activate': { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values } = parsed;
  const format = values.format as InteractionFormat | undefined;
  if (format !== undefined && !INTERACTION_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${INTERACTION_FORMATS.join(', ')}`);
  }
  const optimizer = values.optimizer ?? defaultHyperparameters.optimizer;
  if (optimizer !== 'adagrad' && optimizer !== 'adam') {
    throw new UsageError(`--optimizer must be adagrad or adam, got ${JSON.stringify(optimizer)}`);
  }
  const align = values.align ?? 'none';
  if (align !== 'none' && align !== 'wdgrl') {
    throw new UsageError(`--align must be none or wdgrl, got ${JSON.stringify(align)}`);
  }
  const d = defaultHyperparameters;
  const integer = { integer: true };

  return {
    ratingsFile: values.ratings,
    itemsFile: values.items,
    threads: parseNumberOption(values.threads, '--threads', 1, { min: 1, max: 64, integer: true }),
    validationFraction: parseNumberOption(
      values['validation-fraction'],
      '--validation-fraction',
      0.1,
      { min: 0, max: 0.5 },
    ),
    evalEvery: parseNumberOption(values['eval-every'], '--eval-every', 1, {
      min: 1,
      max: 1000,
      integer: true,
    }),
    patience: parseNumberOption(values.patience, '--patience', 3, {
      min: 1,
      max: 1000,
      integer: true,
    }),
    featureWeight: parseNumberOption(values['feature-weight'], '--feature-weight', 0.1, {
      min: 0,
      max: 1000,
    }),
    bprEpochs: parseNumberOption(values['bpr-epochs'], '--bpr-epochs', 30, {
      min: 0,
      max: 10_000,
      integer: true,
    }),
    align,
    alignLambda: parseNumberOption(
      values['align-lambda'],
      '--align-lambda',
      ALIGN_COLD_ITEMS_DEFAULTS.lambda,
      { min: 0, max: 1000 },
    ),
    alignIterations: parseNumberOption(
      values['align-iterations'],
      '--align-iterations',
      ALIGN_COLD_ITEMS_DEFAULTS.iterations,
      { min: 1, max: 1_000_000, integer: true },
    ),
    format,
    minRating: parseNumberOption(values['min-rating'], '--min-rating', 4, { min: -1e6, max: 1e6 }),
    testFraction: parseNumberOption(values['test-fraction'], '--test-fraction', 0.2, {
      min: 0.01,
      max: 0.9,
    }),
    splitSeed: parseNumberOption(values['split-seed'], '--split-seed', 1, integer),
    json: values.json,
    activate: !values['no-activate'],
    hyperparameters: {
      ...d,
      optimizer,
      dim: parseNumberOption(values.dim, '--dim', d.dim, { min: 2, max: 1024, integer: true }),
      margin: parseNumberOption(values.margin, '--margin', d.margin, { min: 1e-6, max: 4 }),
      learningRate: parseNumberOption(values['learning-rate'], '--learning-rate', d.learningRate, {
        min: 1e-8,
        max: 10,
      }),
      numNegatives: parseNumberOption(values.negatives, '--negatives', d.numNegatives, {
        min: 1,
        max: 1000,
        integer: true,
      }),
      covarianceWeight: parseNumberOption(
        values['covariance-weight'],
        '--covariance-weight',
        d.covarianceWeight,
        { min: 0, max: 1000 },
      ),
      epochs: parseNumberOption(values.epochs, '--epochs', d.epochs, {
        min: 1,
        max: 10_000,
        integer: true,
      }),
      batchSize: parseNumberOption(values['batch-size'], '--batch-size', d.batchSize, {
        min: 1,
        max: 1_000_000,
        integer: true,
      }),
      seed: parseNumberOption(values.seed, '--seed', d.seed, integer),
    },
  };
}

/** Cut-offs every trainer command evaluates (the gate and the reports read from these). */
export const EVALUATED_KS = [10, 20, 50, 100];

/**
 * The pipeline settings of a training command line, shared by cml-train and cml-retrain so the
 * two always train and evaluate the same way. Item features and warm starts come from the
 * caller, which knows where its data came from.
 */
export function buildPipelineOptions(
  options: TrainOptions,
  onEpoch?: (report: EpochReport) => void,
): Omit<PipelineOptions, 'prepare' | 'itemFeatures'> {
  return {
    hyperparameters: options.hyperparameters,
    testFraction: options.testFraction,
    splitSeed: options.splitSeed,
    ks: EVALUATED_KS,
    threads: options.threads,
    validationFraction: options.validationFraction,
    evalEvery: options.evalEvery,
    patience: options.patience,
    featureLoss: { ...defaultFeatureLossOptions, weight: options.featureWeight },
    bpr: options.bprEpochs > 0 ? { ...defaultBprOptions, epochs: options.bprEpochs } : false,
    align: options.align,
    alignment: { lambda: options.alignLambda, iterations: options.alignIterations },
    onEpoch,
  };
}
