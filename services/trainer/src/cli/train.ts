#!/usr/bin/env node
import path from 'node:path';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { ProgressBar } from '@cml-rec/shared/cli/progress';
import { runCli, UsageError } from '@cml-rec/shared/cli/run';
import type { Evaluation } from '@cml-rec/shared/cml/evaluation';
import { formatEvaluationTable } from '@cml-rec/shared/cml/report';
import { loadDatabaseConfig, openDatabase } from '@cml-rec/shared/db/database';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { readFileDataset, readItemFeatures } from '../file-dataset.js';
import { gateUsage, loadGateConfig, takeOptions } from '../gate.js';
import {
  buildPipelineOptions,
  parseTrainOptions,
  trainUsage,
  type TrainOptions,
} from '../options.js';
import { trainAndEvaluate, type EpochReport } from '../pipeline.js';
import { retrain, RetrainExitCode } from '../retrain.js';

const logger = createLogger('trainer');

// Options of the database path that cml-train's own parser does not know.
const GATE_OPTIONS = {
  gate: { type: 'string' },
  tolerance: { type: 'string' },
  'force-activate': { type: 'boolean' },
} as const;

const usage = `${trainUsage}
  --force-activate        activate even when the promotion gate fails
${gateUsage}
A version becomes active only when the promotion gate passes; otherwise it stays a candidate with
the reason recorded and the command exits with 3 (4 when a retrain run holds the lock).`;

type Evaluations = { cml: Evaluation; popularity: Evaluation; bpr?: Evaluation };

async function main(): Promise<number | void> {
  if (process.argv.includes('--help')) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const { values: gateFlags, rest } = takeOptions(process.argv.slice(2), GATE_OPTIONS);
  const options = parseTrainOptions(rest);
  if (options.ratingsFile) return trainFromFile(options, options.ratingsFile);
  return trainFromDatabase(options, gateFlags);
}

/**
 * The database path is the retraining job forced to train (even on an unchanged snapshot)
 * and started cold: same snapshot, lock, export, registry and promotion gate.
 */
async function trainFromDatabase(
  options: TrainOptions,
  gateFlags: Record<string, string | boolean | undefined>,
): Promise<number | void> {
  const gate = loadGateConfig({
    gate: typeof gateFlags.gate === 'string' ? gateFlags.gate : undefined,
    tolerance: typeof gateFlags.tolerance === 'string' ? gateFlags.tolerance : undefined,
  });
  const config = loadDatabaseConfig();
  const database = await openDatabase(config, logger);
  const store = new FileArtifactStore(
    process.env.ARTIFACT_DIR ?? path.join(config.dataDir, 'artifacts'),
  );
  const bar = new ProgressBar('training', options.hyperparameters.epochs);
  try {
    const outcome = await retrain(
      database.pool,
      store,
      {
        minRating: options.minRating,
        pipeline: buildPipelineOptions(options, (report) => reportEpoch(bar, report)),
        gate,
        activate: options.activate,
        forceActivate: gateFlags['force-activate'] === true,
        force: true,
        warmStart: false,
        lockWaitMs: 0,
        actor: 'cml-train',
      },
      logger,
    );
    bar.finish();
    if (outcome.status === 'locked') {
      process.stderr.write(
        'error: a retrain run holds the training lock; try again when it ends\n',
      );
      return RetrainExitCode.locked;
    }
    if (outcome.status === 'empty' || outcome.status === 'unchanged') {
      throw new Error('no positive interactions to train on: import data first (see cml-import)');
    }
    const status =
      outcome.status === 'registered'
        ? 'registered as a candidate (--no-activate)'
        : outcome.status === 'rejected'
          ? `kept as a candidate: ${outcome.decision?.reason ?? 'the promotion gate failed'}`
          : 'activated';
    printResult(
      options,
      {
        dataset: outcome.snapshot,
        version: outcome.version.id,
        status,
        trainSeconds: outcome.trainSeconds,
        metrics: outcome.evaluation,
      },
      outcome.evaluation,
    );
    return outcome.status === 'rejected' ? RetrainExitCode.notPromoted : undefined;
  } finally {
    await database.close();
  }
}

async function trainFromFile(options: TrainOptions, file: string): Promise<void> {
  const onRejected = (source: string) => (line: number, reason: string) =>
    logger.warn({ file: source, line, reason }, 'rejected line');
  const { dataset, lines, rejected } = await readFileDataset(
    file,
    options.format,
    options.minRating,
    onRejected(file),
  );
  if (dataset.positives.numPairs === 0) {
    throw new UsageError(
      `${file} has no positive interactions at --min-rating ${options.minRating}: lower it, ` +
        'or check the file format',
    );
  }
  const features = options.itemsFile
    ? await readItemFeatures(options.itemsFile, onRejected(options.itemsFile))
    : undefined;

  const bar = new ProgressBar('training', options.hyperparameters.epochs);
  const result = await trainAndEvaluate(dataset, {
    ...buildPipelineOptions(options, (report) => reportEpoch(bar, report)),
    itemFeatures: features && dataset.items.ids.map((id) => features.get(id)),
    // Every item of a ratings file has interactions: none is placed from its features alone.
    coldItems: new Set<number>(),
  });
  bar.finish();

  const summary = {
    dataset: {
      file,
      lines,
      rejected,
      users: dataset.users.size,
      items: dataset.items.size,
      positives: dataset.positives.numPairs,
      trainPairs: result.train.numPairs,
      testPairs: result.test.numPairs,
    },
    protocol: {
      minRating: options.minRating,
      testFraction: options.testFraction,
      validationFraction: options.validationFraction,
      splitSeed: options.splitSeed,
      ranking: 'full catalogue, training items excluded',
    },
    hyperparameters: options.hyperparameters,
    trainSeconds: result.fit.trainSeconds,
    metrics: result.evaluation,
    training: {
      threads: options.threads,
      bestEpoch: result.fit.bestEpoch,
      stoppedEarly: result.fit.stoppedEarly,
      bestValidationRecall: result.fit.bestValidationRecall,
      coldItems: result.coldItems,
      featureColumns: result.encoder?.vocabulary.length ?? 0,
      align: options.align,
      alignment: result.alignment,
    },
    curve: result.fit.history.map(
      ({ epoch, trainSeconds, metricLoss, pairs, validationRecall }) => ({
        epoch,
        trainSeconds,
        meanLoss: metricLoss / pairs,
        validationRecall,
      }),
    ),
  };
  printResult(options, summary, result.evaluation);
}

/** A progress bar on a terminal, one structured log line per epoch elsewhere. */
function reportEpoch(bar: ProgressBar, report: EpochReport): void {
  const meanLoss = report.metricLoss / Math.max(1, report.pairs);
  const recall = report.validationRecall?.toFixed(4) ?? '-';
  bar.update(report.epoch, `loss ${meanLoss.toFixed(3)} val R@50 ${recall}`);
  if (bar.enabled) return;
  logger.info(
    {
      epoch: report.epoch,
      epochs: report.epochs,
      meanLoss,
      validationRecall: report.validationRecall,
      trainSeconds: report.trainSeconds,
    },
    'epoch done',
  );
}

function printResult(
  options: TrainOptions,
  summary: Record<string, unknown>,
  evaluation: Evaluations,
): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const version = summary.version
    ? `model version ${String(summary.version)}: ${String(summary.status)}\n`
    : '';
  const table = formatEvaluationTable({
    CML: evaluation.cml,
    ...(evaluation.bpr ? { 'BPR-MF': evaluation.bpr } : {}),
    popularity: evaluation.popularity,
  });
  process.stdout.write(
    `${version}evaluated on ${evaluation.cml.users} users (held-out positives, full catalogue)\n${table}\n`,
  );
}

runCli(main, logger, usage);
