#!/usr/bin/env node
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadDatabaseConfig, openDatabase } from '@cml-rec/shared/db/database';
import type { Evaluation } from '@cml-rec/shared/cml/evaluation';
import { formatEvaluationTable } from '@cml-rec/shared/cml/report';
import type { Pool } from '@cml-rec/shared/db/pool';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { allocatorEnv, runScript, startScript, waitForHttp } from './processes.js';
import { writeSyntheticDataset } from './synthetic-files.js';

const logger = createLogger('demo', process.env.LOG_LEVEL ?? 'warn');

const usage = `usage: npm run demo -- [--data PATH] [--port N] [--epochs N] [--exit]

Starts PostgreSQL (embedded unless DATABASE_URL is set), imports a dataset, trains and
evaluates CML against popularity, then serves recommendations over HTTP.
  --data PATH   a MovieLens folder (u.data [+ u.item]) or ratings file; default: a seeded
                synthetic dataset with planted taste clusters and power-law popularity
  --port N      HTTP port of the API (default 8080)
  --epochs N    training epochs (default: the trainer's)
  --exit        stop after the example requests instead of serving until Ctrl-C
  --summary F   also write the metrics and the measured latency to F as JSON`;

interface TrainingOutput {
  version: string;
  trainSeconds: number;
  metrics: { cml: Evaluation; popularity: Evaluation; bpr?: Evaluation };
}

interface DemoOptions {
  data?: string;
  port: number;
  epochs?: string;
  exit: boolean;
  summary?: string;
}

async function main(): Promise<void> {
  const options = parseOptions();
  // Each dataset gets its own schema, so a MovieLens run never mixes with the synthetic data
  // of an earlier run (their ids overlap) and each keeps its own model versions.
  const config = loadDatabaseConfig({
    ...process.env,
    DATABASE_SCHEMA: process.env.DATABASE_SCHEMA || demoSchema(options.data),
  });
  step(
    'starting PostgreSQL',
    config.databaseUrl ? 'DATABASE_URL' : `embedded, data in ${config.dataDir}`,
  );
  const database = await openDatabase(config, logger);
  // The API refuses requests without a key; the demo makes one for this run.
  const apiKey = randomBytes(18).toString('base64url');
  const env = {
    ...process.env,
    DATABASE_URL: database.connectionString,
    DATABASE_SCHEMA: config.databaseSchema,
    CMLREC_DATA_DIR: config.dataDir,
    API_KEYS: apiKey,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };
  const children: ChildProcess[] = [];
  const stopAll = async () => {
    for (const child of children) child.kill('SIGTERM');
    await database.close();
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    const importArgs = prepareData(options, config.dataDir);
    step('importing', importArgs.slice(1).join(' '));
    await runScript('services/ingest/dist/cli/import.js', importArgs, env);

    step('training and evaluating CML against popularity');
    // The demo serves what it just trained, even if an earlier run's version scored higher.
    const trainArgs = [
      '--json',
      '--force-activate',
      ...(options.epochs ? ['--epochs', options.epochs] : []),
    ];
    const { output } = await runScript('services/trainer/dist/cli/train.js', trainArgs, env, {
      captureOutput: true,
    });
    const training = JSON.parse(output) as TrainingOutput;
    console.log(
      `  model version ${training.version}, trained in ${training.trainSeconds.toFixed(1)} s`,
    );
    console.log(
      `  evaluated on ${training.metrics.cml.users} users (held-out positives, full catalogue)\n`,
    );
    const { cml, bpr, popularity } = training.metrics;
    const table = formatEvaluationTable({
      CML: cml,
      ...(bpr ? { 'BPR-MF': bpr } : {}),
      popularity,
    });
    console.log(indent(table));

    step('starting the recommender API', `http://127.0.0.1:${options.port}`);
    const server = startScript('services/recommender/dist/main.js', [], {
      ...env,
      ...allocatorEnv,
      PORT: String(options.port),
    });
    children.push(server);
    await waitForHttp(`http://127.0.0.1:${options.port}/readyz`, server);
    const latency = await showExamples(options.port, apiKey, database.pool);
    if (options.summary) {
      writeFileSync(options.summary, JSON.stringify({ training, latency }, null, 2));
    }
  } catch (error) {
    await stopAll();
    throw error;
  }

  if (options.exit) {
    await stopAll();
    console.log('\n(--exit: the API has stopped; run without --exit to keep it serving)');
    return;
  }
  console.log('\nserving until Ctrl-C');
  await new Promise(() => undefined);
}

function parseOptions(): DemoOptions {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' },
      port: { type: 'string', default: '8080' },
      epochs: { type: 'string' },
      exit: { type: 'boolean', default: false },
      summary: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`--port must be 1-65535\n${usage}`);
  return {
    data: values.data,
    port,
    epochs: values.epochs,
    exit: values.exit,
    summary: values.summary,
  };
}

/** The import command for the chosen dataset; writes the synthetic one when none is given. */
function prepareData(options: DemoOptions, dataDir: string): string[] {
  if (options.data) {
    if (!existsSync(options.data)) throw new Error(`--data ${options.data} does not exist`);
    return statSync(options.data).isDirectory()
      ? ['movielens', options.data]
      : ['interactions', options.data];
  }
  const folder = path.join(dataDir, 'demo', 'synthetic');
  const dataset = writeSyntheticDataset(folder);
  console.log(
    `  synthetic dataset: ${dataset.ratings.length} ratings, ${dataset.userCluster.length} users, ` +
      `${dataset.itemCluster.length} items, planted taste clusters (seeded) -> ${folder}`,
  );
  return ['movielens', folder];
}

async function showExamples(
  port: number,
  apiKey: string,
  pool: Pool,
): Promise<{ medianMs: number; p99Ms: number; requests: number }> {
  const { rows } = await pool.query<{ external_id: string }>(
    'SELECT external_id FROM users ORDER BY id LIMIT 1',
  );
  const userId = rows[0].external_id;
  const url = `http://127.0.0.1:${port}/v1/users/${encodeURIComponent(userId)}/recommendations?k=5`;
  const latencies: number[] = [];
  let body: unknown;
  for (let n = 0; n < 200; n++) {
    const started = performance.now();
    const response = await fetch(url, { headers: { authorization: `Bearer ${apiKey}` } });
    body = await response.json();
    latencies.push(performance.now() - started);
    if (!response.ok) throw new Error(`example request failed: ${JSON.stringify(body)}`);
  }
  latencies.sort((a, b) => a - b);
  const median = latencies[latencies.length >> 1];

  step('example request', `GET ${url}`);
  console.log(JSON.stringify(body, null, 2));
  console.log(
    `  median latency over 200 sequential requests: ${median.toFixed(2)} ms (p99 ${latencies[197].toFixed(2)} ms)`,
  );
  const auth = `-H 'Authorization: Bearer ${apiKey}'`;
  const base = `http://127.0.0.1:${port}/v1/users`;
  console.log(`\ntry (this run's API key):\n  curl ${auth} '${url}'`);
  console.log(`  curl ${auth} '${base}/no-such-user/recommendations'   # 404`);
  console.log(`  curl ${auth} '${base}/${userId}/recommendations?k=0'   # 400`);
  console.log(`  curl '${base}/${userId}/recommendations'   # 401 without a key`);
  return { medianMs: median, p99Ms: latencies[197], requests: latencies.length };
}

/** `demo_synthetic`, or `demo_<folder or file name>` for --data. */
function demoSchema(data: string | undefined): string {
  if (!data) return 'demo_synthetic';
  const name = path
    .basename(path.resolve(data))
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_');
  return `demo_${name}`.slice(0, 63);
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function step(title: string, detail = ''): void {
  console.log(`\n== ${title}${detail ? ` (${detail})` : ''}`);
}

main().catch((error: unknown) => {
  console.error(`demo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
