#!/usr/bin/env node
import path from 'node:path';
import { ProgressBar } from '@cml-rec/shared/cli/progress';
import { runCli } from '@cml-rec/shared/cli/run';
import type { Evaluation } from '@cml-rec/shared/cml/evaluation';
import { formatEvaluationTable } from '@cml-rec/shared/cml/report';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { loadDatabaseConfig, openDatabase } from '@cml-rec/shared/db/database';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { parseTrainOptions, trainUsage, type TrainOptions } from '../options.js';
import { readFileDataset } from '../file-dataset.js';
import { trainAndEvaluate, type EpochReport } from '../pipeline.js';
import { publishVersion } from '../publish.js';
import { readSnapshot } from '../snapshot.js';
import type { Dataset } from '@cml-rec/shared/cml/dataset';

const logger = createLogger('trainer');
const KS = [10, 20, 50, 100];

async function main(): Promise<void> {
  const options = parseTrainOptions(process.argv.slice(2));
  if (options.ratingsFile) return trainFromFile(options, options.ratingsFile);

  const config = loadDatabaseConfig();
  const database = await openDatabase(config, logger);
  try {
    const snapshot = await readSnapshot(database.pool, options.minRating);
    logger.info({ ...snapshot.info }, 'snapshot read');
    if (snapshot.dataset.positives.numPairs === 0) {
      throw new Error('no positive interactions to train on: import data first (see cml-import)');
    }
    const result = await runPipeline(snapshot.dataset, options);
    const metrics = metricsRecord(result.evaluation, result.trainSeconds);
    const store = new FileArtifactStore(
      process.env.ARTIFACT_DIR ?? path.join(config.dataDir, 'artifacts'),
    );
    const version = await publishVersion(
      database.pool,
      store,
      {
        tables: result.state.tables,
        dataset: snapshot.dataset,
        snapshot: snapshot.info,
        hyperparameters: { ...options.hyperparameters, minRating: options.minRating },
        metrics,
        activate: options.activate,
      },
      logger,
    );
    printResult(
      options,
      { dataset: snapshot.info, version: version.id, ...metrics },
      result.evaluation,
    );
  } finally {
    await database.close();
  }
}

async function trainFromFile(options: TrainOptions, file: string): Promise<void> {
  const { dataset, lines, rejected } = await readFileDataset(
    file,
    options.format,
    options.minRating,
    (line, reason) => logger.warn({ file, line, reason }, 'rejected line'),
  );
  const result = await runPipeline(dataset, options);
  const summary = {
    dataset: {
      file,
      lines,
      rejected,
      users: dataset.users.size,
      items: dataset.items.size,
      positives: dataset.positives.numPairs,
      trainPairs: result.split.train.numPairs,
      testPairs: result.split.test.numPairs,
    },
    protocol: {
      minRating: options.minRating,
      testFraction: options.testFraction,
      splitSeed: options.splitSeed,
      ranking: 'full catalogue, training items excluded',
    },
    hyperparameters: options.hyperparameters,
    ...metricsRecord(result.evaluation, result.trainSeconds),
    curve: result.epochs.map(({ epoch, trainSeconds, metricLoss, pairs }) => ({
      epoch,
      trainSeconds,
      meanLoss: metricLoss / pairs,
    })),
  };
  printResult(options, summary, result.evaluation);
}

async function runPipeline(dataset: Dataset, options: TrainOptions) {
  const { hyperparameters, testFraction, splitSeed } = options;
  const bar = new ProgressBar('training', hyperparameters.epochs);
  const result = await trainAndEvaluate(
    dataset,
    { hyperparameters, testFraction, splitSeed, ks: KS },
    (report: EpochReport) => {
      const meanLoss = report.metricLoss / Math.max(1, report.pairs);
      bar.update(report.epoch, `loss ${meanLoss.toFixed(3)}`);
      if (!bar.enabled) {
        logger.info(
          {
            epoch: report.epoch,
            epochs: report.epochs,
            meanLoss,
            trainSeconds: report.trainSeconds,
          },
          'epoch done',
        );
      }
    },
  );
  bar.finish();
  return result;
}

function metricsRecord(
  evaluation: { cml: Evaluation; popularity: Evaluation },
  trainSeconds: number,
) {
  return { trainSeconds, metrics: { cml: evaluation.cml, popularity: evaluation.popularity } };
}

function printResult(
  options: TrainOptions,
  summary: Record<string, unknown>,
  evaluation: { cml: Evaluation; popularity: Evaluation },
): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const version = summary.version ? `model version ${String(summary.version)}\n` : '';
  process.stdout.write(
    `${version}evaluated on ${evaluation.cml.users} users (held-out positives, full catalogue)\n` +
      `${formatEvaluationTable({ CML: evaluation.cml, popularity: evaluation.popularity })}\n`,
  );
}

runCli(main, logger, trainUsage);
