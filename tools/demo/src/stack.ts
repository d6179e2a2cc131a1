#!/usr/bin/env node
/**
 * Every cml-rec service at once on this machine: PostgreSQL (embedded unless DATABASE_URL),
 * a Kafka protocol broker (librdkafka's mock cluster via kcat, unless KAFKA_BROKERS), the
 * ingest service and the recommender, seeded with a first model version. `--smoke` then
 * checks the whole loop and exits: events posted over HTTP reach PostgreSQL through Kafka, a
 * retrain promotes a new version, and the recommender serves it.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadDatabaseConfig, openDatabase, type Database } from '@cml-rec/shared/db/database';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { getActiveVersion } from '@cml-rec/shared/registry/registry';
import { startMockKafka, type LocalKafka } from './kafka-mock.js';
import { allocatorEnv, runScript, startScript, stopProcess, waitForHttp } from './processes.js';
import { writeSyntheticDataset } from './synthetic-files.js';

const logger = createLogger('stack', process.env.LOG_LEVEL ?? 'warn');

interface StackOptions {
  apiPort: number;
  ingestPort: number;
  smoke: boolean;
}

interface Stack {
  env: NodeJS.ProcessEnv;
  apiKey: string;
  apiUrl: string;
  ingestUrl: string;
  database: Database;
}

async function main(): Promise<number> {
  const options = parseOptions();
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
  process.once('SIGTERM', () => void cleanUp().then(() => process.exit(143)));

  try {
    const stack = await startStack(options, cleanups);
    if (options.smoke) {
      await smokeTest(stack);
      console.log('\nsmoke test passed');
      return 0;
    }
    console.log(`\nrecommender  ${stack.apiUrl}   (Authorization: Bearer ${stack.apiKey})`);
    console.log(`ingest       ${stack.ingestUrl}   (POST /v1/events)`);
    console.log('serving until Ctrl-C');
    await new Promise(() => undefined);
    return 0;
  } finally {
    await cleanUp();
  }
}

function parseOptions(): StackOptions {
  const { values } = parseArgs({
    options: {
      'api-port': { type: 'string', default: '8080' },
      'ingest-port': { type: 'string', default: '8081' },
      smoke: { type: 'boolean', default: false },
    },
  });
  return {
    apiPort: Number(values['api-port']),
    ingestPort: Number(values['ingest-port']),
    smoke: values.smoke,
  };
}

async function startStack(
  options: StackOptions,
  cleanups: (() => Promise<void>)[],
): Promise<Stack> {
  const config = loadDatabaseConfig();
  step('PostgreSQL', config.databaseUrl ? 'DATABASE_URL' : `embedded, data in ${config.dataDir}`);
  const database = await openDatabase(config, logger);
  cleanups.push(() => database.close());

  let brokers = process.env.KAFKA_BROKERS || undefined;
  if (!brokers) {
    const kafka: LocalKafka = await startMockKafka();
    cleanups.push(() => kafka.stop());
    brokers = kafka.brokers;
  }
  step('Kafka', brokers);

  const configuredKey = process.env.API_KEYS?.split(',')[0]?.trim();
  const apiKey = configuredKey || randomBytes(18).toString('base64url');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: database.connectionString,
    CMLREC_DATA_DIR: config.dataDir,
    KAFKA_BROKERS: brokers,
    API_KEYS: configuredKey ? process.env.API_KEYS : apiKey,
    RELOAD_POLL_MS: process.env.RELOAD_POLL_MS ?? '1000',
    SEEN_CACHE_MS: process.env.SEEN_CACHE_MS ?? '1000',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  };

  if (!(await getActiveVersion(database.pool))) await seed(env, config.dataDir);

  const services: [string, string, number][] = [
    ['ingest', 'services/ingest/dist/main.js', options.ingestPort],
    ['recommender', 'services/recommender/dist/main.js', options.apiPort],
  ];
  for (const [name, script, port] of services) {
    const child: ChildProcess = startScript(script, [], {
      ...env,
      ...allocatorEnv,
      PORT: String(port),
    });
    cleanups.push(() => stopProcess(child));
    await waitForHttp(`http://127.0.0.1:${port}/readyz`, child);
    step(name, `http://127.0.0.1:${port} ready`);
  }
  return {
    env,
    apiKey,
    apiUrl: `http://127.0.0.1:${options.apiPort}`,
    ingestUrl: `http://127.0.0.1:${options.ingestPort}`,
    database,
  };
}

/** A first model version: the synthetic dataset imported and trained once. */
async function seed(env: NodeJS.ProcessEnv, dataDir: string): Promise<void> {
  const folder = path.join(dataDir, 'stack', 'synthetic');
  writeSyntheticDataset(folder);
  step('seeding', 'synthetic dataset, first model version');
  await runScript('services/ingest/dist/cli/import.js', ['movielens', folder], env, {
    captureOutput: true,
  });
  await runScript(
    'services/trainer/dist/cli/train.js',
    ['--epochs', '5', '--bpr-epochs', '0'],
    env,
    {
      captureOutput: true,
    },
  );
}

/** Events in over HTTP → Kafka → PostgreSQL; retrain → promotion → served by the API. */
async function smokeTest(stack: Stack): Promise<void> {
  const { pool } = stack.database;
  const before = await getActiveVersion(pool);
  const userId = `smoke-${randomBytes(4).toString('hex')}`;
  const { rows } = await pool.query<{ external_id: string }>(
    'SELECT external_id FROM items ORDER BY id LIMIT 8',
  );
  const items = rows.map((row) => row.external_id);
  const now = Date.now();
  const events = items.map((itemId, index) => ({
    version: 1,
    eventId: `${userId}-${index}`,
    userId,
    itemId,
    eventType: 'purchase',
    timestamp: now - index * 1000,
  }));

  step('smoke', `POST ${events.length} events for new user ${userId}`);
  const posted = await fetch(`${stack.ingestUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
    body: JSON.stringify({ events }),
  });
  if (posted.status !== 202)
    throw new Error(`POST /v1/events answered ${posted.status}: ${await posted.text()}`);

  await waitFor('rows stored', 60_000, async () => {
    const stored = await pool.query<{ count: number }>(
      `SELECT count(*)::int AS count FROM interactions x JOIN users u ON u.id = x.user_id
        WHERE u.external_id = $1`,
      [userId],
    );
    return stored.rows[0].count === events.length;
  });

  step('smoke', 'retrain');
  const retrained = await runScript(
    'services/trainer/dist/cli/retrain.js',
    ['--epochs', '5', '--bpr-epochs', '0', '--tolerance', '0.05', '--json'],
    stack.env,
    { captureOutput: true, allowedCodes: [0, 3] },
  );
  const outcome = JSON.parse(retrained.output) as {
    status: string;
    version?: { id: string };
    message: string;
  };
  if (outcome.status !== 'promoted' || !outcome.version) {
    throw new Error(`retrain did not promote a new version: ${outcome.message}`);
  }
  const version = outcome.version.id;
  if (version === before?.id)
    throw new Error('retrain promoted the version that was already active');

  await waitFor(`recommender serving ${version}`, 60_000, async () => {
    const ready = await fetch(`${stack.apiUrl}/readyz`).catch(() => undefined);
    const body = ready?.ok ? ((await ready.json()) as { modelVersion?: string }) : {};
    return body.modelVersion === version;
  });

  const response = await fetch(`${stack.apiUrl}/v1/users/${userId}/recommendations?k=5`, {
    headers: { authorization: `Bearer ${stack.apiKey}` },
  });
  const body = (await response.json()) as { modelVersion?: string; items?: { itemId: string }[] };
  if (response.status !== 200)
    throw new Error(`recommendations answered ${response.status}: ${JSON.stringify(body)}`);
  if (body.modelVersion !== version)
    throw new Error(`served ${body.modelVersion}, expected ${version}`);
  const recommended = (body.items ?? []).map((item) => item.itemId);
  if (recommended.length !== 5)
    throw new Error(`expected 5 recommendations, got ${recommended.length}`);
  const seen = recommended.filter((itemId) => items.includes(itemId));
  if (seen.length > 0) throw new Error(`already-seen items recommended: ${seen.join(', ')}`);
  step('smoke', `new user ${userId} served by ${version}: ${recommended.join(', ')}`);
}

async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
}

function step(title: string, detail: string): void {
  console.log(`== ${title}: ${detail}`);
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    console.error(`stack failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
