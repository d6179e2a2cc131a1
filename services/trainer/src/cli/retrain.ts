#!/usr/bin/env node
/**
 * cml-retrain: the offline retraining job (what the Kubernetes CronJob runs). See RETRAIN.md
 * for the steps, the lock and the exit codes.
 */
import path from 'node:path';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { runCli, UsageError } from '@cml-rec/shared/cli/run';
import { loadDatabaseConfig, openDatabase } from '@cml-rec/shared/db/database';
import { ConfigError, errorMessage } from '@cml-rec/shared/errors';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { gateUsage, loadGateConfig, takeOptions } from '../gate.js';
import { buildPipelineOptions, EVALUATED_KS, parseTrainOptions } from '../options.js';
import { exitCodeFor, retrain, RetrainExitCode, type RetrainOutcome } from '../retrain.js';

const logger = createLogger('retrain');

const usage = `usage: cml-retrain [options]

Retrains CML on a fresh snapshot of PostgreSQL (DATABASE_URL, or the embedded server when
unset), warm-started from the active version, and promotes the result through the gate.
Artifacts go to ARTIFACT_DIR (default CMLREC_DATA_DIR/artifacts).

job:
  --force                 train even when the snapshot equals the active or latest version's
  --no-warm-start         start every vector at random
  --wait-lock SECONDS     wait this long for a concurrent run's lock (default 0: exit 4 at once)
  --no-activate           register the new version as a candidate without running the gate
  --force-activate        activate even when the promotion gate fails
  --json                  print the outcome as JSON on stdout
${gateUsage}
model: the options of cml-train (--dim, --epochs, --min-rating, ...; not --ratings).

exit codes: 0 promoted, registered (--no-activate) or nothing to do; 1 failed (retry later);
2 usage or configuration; 3 trained but kept as a candidate by the gate; 4 another run holds
the lock.`;

const JOB_OPTIONS = {
  force: { type: 'boolean' },
  'no-warm-start': { type: 'boolean' },
  'wait-lock': { type: 'string' },
  'force-activate': { type: 'boolean' },
  gate: { type: 'string' },
  tolerance: { type: 'string' },
} as const;

async function main(): Promise<number> {
  const { values, rest } = takeOptions(process.argv.slice(2), JOB_OPTIONS);
  const train = parseTrainOptions(rest);
  if (train.ratingsFile) {
    throw new UsageError('--ratings is not an option of cml-retrain: it trains on the database');
  }
  const waitLock = values['wait-lock'] === undefined ? 0 : Number(values['wait-lock']);
  if (!Number.isFinite(waitLock) || waitLock < 0) {
    throw new UsageError(`--wait-lock must be a number of seconds >= 0`);
  }
  const gate = loadGateConfig({
    gate: typeof values.gate === 'string' ? values.gate : undefined,
    tolerance: typeof values.tolerance === 'string' ? values.tolerance : undefined,
  });

  for (const { metric } of gate.checks) {
    const k = /\.at\.(\d+)\./.exec(metric)?.[1];
    if (k !== undefined && !EVALUATED_KS.includes(Number(k))) {
      throw new UsageError(
        `gate metric ${metric} reads cut-off ${k}, which is not evaluated (${EVALUATED_KS.join(', ')})`,
      );
    }
  }

  const config = loadDatabaseConfig();
  const database = await openDatabase(config, logger);
  try {
    const store = new FileArtifactStore(
      process.env.ARTIFACT_DIR ?? path.join(config.dataDir, 'artifacts'),
    );
    const outcome = await retrain(
      database.pool,
      store,
      {
        minRating: train.minRating,
        pipeline: buildPipelineOptions(train, (report) => logger.info({ ...report }, 'epoch done')),
        gate,
        activate: train.activate,
        forceActivate: values['force-activate'] === true,
        force: values.force === true,
        warmStart: values['no-warm-start'] !== true,
        lockWaitMs: waitLock * 1000,
      },
      logger,
    );
    const message = describe(outcome);
    if (train.json) {
      process.stdout.write(`${JSON.stringify({ ...outcome, message }, null, 2)}\n`);
    } else {
      process.stdout.write(`${message}\n`);
    }
    return exitCodeFor(outcome);
  } finally {
    await database.close();
  }
}

function describe(outcome: RetrainOutcome): string {
  switch (outcome.status) {
    case 'locked':
      return 'another retrain run holds the lock: nothing done';
    case 'unchanged':
      return (
        `nothing to do: the snapshot (interactions up to id ${outcome.snapshot.maxInteractionId}, ` +
        `${outcome.snapshot.interactionCount} rows) is the one version ${outcome.matches.id} ` +
        `(${outcome.matches.status}) was trained on`
      );
    case 'empty':
      return 'nothing to do: no positive interactions to train on yet';
    case 'registered':
      return `version ${outcome.version.id} registered as a candidate (--no-activate)`;
    case 'rejected':
      return `version ${outcome.version.id} kept as a candidate: ${outcome.decision?.reason}`;
    case 'promoted':
      return `version ${outcome.version.id} promoted: ${outcome.decision?.reason ?? 'active'}`;
  }
}

/**
 * runCli turns usage and configuration errors into exit code 2; every other failure of the job
 * (including a 4xx-like registry conflict) is exit code 1, which a scheduler may retry.
 */
async function job(): Promise<number> {
  try {
    return await main();
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigError) throw error;
    logger.error({ err: error }, 'retrain failed');
    process.stderr.write(`error: ${errorMessage(error)}\n`);
    return RetrainExitCode.failed;
  }
}

runCli(job, logger, usage);
