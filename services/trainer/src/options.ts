import { parseArgs } from 'node:util';
import { parseNumberOption, UsageError } from '@cml-rec/shared/cli/run';
import { defaultHyperparameters, type CmlHyperparameters } from '@cml-rec/shared/cml/train';
import {
  INTERACTION_FORMATS,
  type InteractionFormat,
} from '@cml-rec/shared/data/interaction-formats';

export const trainUsage = `usage: cml-train [options]

Trains CML on the interactions in PostgreSQL (DATABASE_URL, or the embedded server when
unset), evaluates it against popularity on a seeded per-user split, exports the model to ONNX,
registers it and makes it the active version. With --ratings it trains and evaluates straight
from a ratings file instead, touching no database.

data:
  --ratings FILE          train from a file (MovieLens u.data or ratings.dat, CSV, JSONL)
  --format NAME           ${INTERACTION_FORMATS.join(' | ')} (default: from the file name)
  --min-rating N          ratings >= N are positives (default 4)
  --test-fraction F       share of each user's positives held out (default 0.2)
  --split-seed N          seed of the split (default 1)
model (defaults in parentheses):
  --dim N (${defaultHyperparameters.dim})  --margin M (${defaultHyperparameters.margin})  --learning-rate R (${defaultHyperparameters.learningRate})
  --negatives U (${defaultHyperparameters.numNegatives})  --covariance-weight C (${defaultHyperparameters.covarianceWeight}, 0 = off)
  --epochs N (${defaultHyperparameters.epochs})  --batch-size N (${defaultHyperparameters.batchSize})  --optimizer adagrad|adam  --seed N (${defaultHyperparameters.seed})
output:
  --json                  print the result as JSON on stdout
  --no-activate           register the version as a candidate without activating it`;

export interface TrainOptions {
  ratingsFile?: string;
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
  const d = defaultHyperparameters;
  const integer = { integer: true };

  return {
    ratingsFile: values.ratings,
    format,
    minRating: parseNumberOption(values['min-rating'], '--min-rating', 4),
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
