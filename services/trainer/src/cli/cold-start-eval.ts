#!/usr/bin/env node
import { ProgressBar } from '@cml-rec/shared/cli/progress';
import { parseNumberOption, runCli, UsageError } from '@cml-rec/shared/cli/run';
import { buildDataset, type Dataset } from '@cml-rec/shared/cml/dataset';
import { defaultFeatureLossOptions } from '@cml-rec/shared/cml/features';
import type { ItemFeatures } from '@cml-rec/shared/data/item-formats';
import { generateSyntheticDataset } from '@cml-rec/shared/data/synthetic';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { evaluateColdStart, formatColdStartTable } from '../cold-start-eval.js';
import { readFileDataset, readItemFeatures } from '../file-dataset.js';
import { takeOptions } from '../gate.js';
import { parseTrainOptions } from '../options.js';

const logger = createLogger('trainer');

/** Epochs when --epochs is not given: there is no validation split to stop early on. */
const DEFAULT_EPOCHS = 10;

const usage = `usage: cml-cold-start-eval (--ratings FILE --items FILE | --synthetic) [options]

Holds a seeded share of the items that have features out of training entirely (every
interaction of theirs removed), trains CML with the jointly trained feature encoder on the
rest, and reports cold-item Recall@50 and @100 for random, feature popularity, the joint
encoder f(x), a post-hoc encoder (λ = 0) and the WDGRL-aligned encoder, with the exact W1
between warm and cold representations. No database is touched.

data:
  --ratings FILE        ratings file (MovieLens u.data, ratings.dat, CSV, JSONL)
  --items FILE          item features (MovieLens u.item, or a tag CSV item,tag)
  --synthetic           the seeded synthetic dataset (clusters revealed by tags) instead
  --no-titles           drop title words from the item features (e.g. u.item: genres only)
  --format NAME         --min-rating N (4)
protocol:
  --cold-fraction F     share of the items with features held out (default 0.2)
  --holdout-seed N      seed of the held-out draw, random baseline and W1 subsample (default 1)
  --w1-points N         points per side for the exact W1 (default 512)
  --cold-tag TAG        add TAG to every held-out item: a planted warm/cold feature shift
training (as cml-train): --epochs N (${DEFAULT_EPOCHS}, no early stopping) --dim N --threads N
  --feature-weight W (0.1)  --align-lambda L  --align-iterations N  and the model options
output:
  --json                print the report as JSON on stdout`;

const EVAL_OPTIONS = {
  synthetic: { type: 'boolean' },
  'no-titles': { type: 'boolean' },
  'cold-fraction': { type: 'string' },
  'holdout-seed': { type: 'string' },
  'w1-points': { type: 'string' },
  'cold-tag': { type: 'string' },
} as const;

/** cml-train options that mean nothing here: refused rather than silently ignored. */
const UNUSED_TRAIN_OPTIONS = [
  'test-fraction',
  'split-seed',
  'validation-fraction',
  'eval-every',
  'patience',
  'bpr-epochs',
  'align',
  'no-activate',
];

async function main(): Promise<void> {
  const { values, rest } = takeOptions(process.argv.slice(2), EVAL_OPTIONS);
  const unused = rest.find((arg) => UNUSED_TRAIN_OPTIONS.includes(arg.replace(/^--|=.*$/g, '')));
  if (unused) throw new UsageError(`${unused} does not apply to the cold-start evaluation`);
  const train = parseTrainOptions(rest);
  const epochsGiven = rest.some((arg) => arg === '--epochs' || arg.startsWith('--epochs='));
  const hyperparameters = {
    ...train.hyperparameters,
    epochs: epochsGiven ? train.hyperparameters.epochs : DEFAULT_EPOCHS,
  };
  const coldFraction = parseNumberOption(
    stringValue(values['cold-fraction']),
    '--cold-fraction',
    0.2,
    { min: 0.01, max: 0.9 },
  );
  const holdoutSeed = parseNumberOption(stringValue(values['holdout-seed']), '--holdout-seed', 1, {
    integer: true,
  });
  const w1Points = parseNumberOption(stringValue(values['w1-points']), '--w1-points', 512, {
    min: 2,
    max: 4096,
    integer: true,
  });

  const source = values.synthetic === true ? syntheticSource(train.minRating) : undefined;
  if (!source && (!train.ratingsFile || !train.itemsFile)) {
    throw new UsageError('give --ratings and --items, or --synthetic');
  }
  const loaded = source ?? (await fileSource(train));
  const { dataset, description } = loaded;
  const noTitles = values['no-titles'] === true;
  const itemFeatures = noTitles
    ? loaded.itemFeatures.map((features) => features && { ...features, title: undefined })
    : loaded.itemFeatures;

  const bar = new ProgressBar('training', hyperparameters.epochs);
  const report = await evaluateColdStart(dataset, itemFeatures, {
    hyperparameters,
    featureLoss: { ...defaultFeatureLossOptions, weight: train.featureWeight },
    alignment: { lambda: train.alignLambda, iterations: train.alignIterations },
    coldFraction,
    holdoutSeed,
    ks: [50, 100],
    threads: train.threads,
    w1Points,
    coldTag: stringValue(values['cold-tag']),
    onEpoch: (epoch) => {
      const meanLoss = epoch.metricLoss / Math.max(1, epoch.pairs);
      bar.update(epoch.epoch, `loss ${meanLoss.toFixed(3)}`);
      if (!bar.enabled) {
        logger.info({ epoch: epoch.epoch, epochs: epoch.epochs, meanLoss }, 'epoch done');
      }
    },
  });
  bar.finish();

  const output = { data: { ...description, titleWords: !noTitles }, hyperparameters, ...report };
  if (train.json) {
    process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return;
  }
  const { counts } = report;
  process.stdout.write(
    `${description.name}: ${counts.coldItems} cold items of ${counts.featuredItems} with features, ` +
      `${counts.coldPairs} cold positives, ${counts.evaluatedUsers} users evaluated\n` +
      `${formatColdStartTable(report)}\n`,
  );
}

function stringValue(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

interface Source {
  dataset: Dataset;
  itemFeatures: (ItemFeatures | undefined)[];
  description: Record<string, unknown> & { name: string };
}

async function fileSource(options: ReturnType<typeof parseTrainOptions>): Promise<Source> {
  const ratings = options.ratingsFile as string;
  const items = options.itemsFile as string;
  const onRejected = (file: string) => (line: number, reason: string) =>
    logger.warn({ file, line, reason }, 'rejected line');
  const { dataset } = await readFileDataset(
    ratings,
    options.format,
    options.minRating,
    onRejected(ratings),
  );
  const features = await readItemFeatures(items, onRejected(items));
  return {
    dataset,
    itemFeatures: dataset.items.ids.map((id) => features.get(id)),
    description: { name: ratings, ratings, items, minRating: options.minRating },
  };
}

/** The generator's default size (2000 users, 1500 items), one tag list per item. */
function syntheticSource(minRating: number): Source {
  const synthetic = generateSyntheticDataset();
  const positives = synthetic.ratings.filter((rating) => rating.rating >= minRating);
  const dataset = buildDataset(positives, {
    users: synthetic.ratings.map((rating) => rating.userId),
    items: synthetic.ratings.map((rating) => rating.itemId),
  });
  return {
    dataset,
    itemFeatures: dataset.items.ids.map((id) => ({ tags: synthetic.itemTags.get(id) ?? [] })),
    description: { name: 'synthetic (defaultSyntheticOptions)', minRating },
  };
}

runCli(main, logger, usage);
