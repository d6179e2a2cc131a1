#!/usr/bin/env node
/**
 * cml-versions: inspect the model registry, promote a version through the gate, roll back.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FileArtifactStore } from '@cml-rec/shared/artifacts/store';
import { parseNumberOption, runCli, UsageError } from '@cml-rec/shared/cli/run';
import { loadDatabaseConfig, openDatabase } from '@cml-rec/shared/db/database';
import type { Pool } from '@cml-rec/shared/db/pool';
import { AppError } from '@cml-rec/shared/errors';
import { createLogger, type Logger } from '@cml-rec/shared/logging/logger';
import {
  getVersion,
  listVersionEvents,
  listVersions,
  RegistryErrorCode,
  type ModelVersion,
} from '@cml-rec/shared/registry/registry';
import {
  gateUsage,
  loadGateConfig,
  promoteVersion,
  readMetric,
  rollbackActive,
  type GateConfig,
} from '../gate.js';
import { RetrainExitCode } from '../retrain.js';

const logger = createLogger('versions');

const usage = `usage: cml-versions <command> [options]

commands:
  list [--limit N]                 newest versions first, with status, gate metrics and reason
  show <id>                        one version: snapshot, hyperparameters, metrics, history
  promote <id> [--force]           activate through the promotion gate (--force skips it)
  rollback                         re-activate the version that was active before the current one
options:
  --reason TEXT                    recorded with a promotion or rollback
  --json                           print JSON on stdout
${gateUsage}
exit codes: 0 done; 1 failed; 2 usage, unknown version or nothing to roll back to;
3 the gate kept the version a candidate.`;

interface Command {
  name: 'list' | 'show' | 'promote' | 'rollback';
  id?: string;
  limit: number;
  force: boolean;
  reason?: string;
  json: boolean;
  gate: GateConfig;
}

function parseVersionsArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        limit: { type: 'string' },
        force: { type: 'boolean', default: false },
        reason: { type: 'string' },
        json: { type: 'boolean', default: false },
        gate: { type: 'string' },
        tolerance: { type: 'string' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [name, id, ...extra] = positionals;
  if (name !== 'list' && name !== 'show' && name !== 'promote' && name !== 'rollback') {
    throw new UsageError(
      name === undefined ? 'a command is required' : `unknown command ${JSON.stringify(name)}`,
    );
  }
  const needsId = name === 'show' || name === 'promote';
  if (needsId && id === undefined) throw new UsageError(`${name} needs a version id`);
  if ((!needsId && id !== undefined) || extra.length > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(needsId ? extra[0] : id)}`);
  }
  return {
    name,
    id,
    limit: parseNumberOption(values.limit, '--limit', 20, { min: 1, max: 10_000, integer: true }),
    force: values.force,
    reason: values.reason,
    json: values.json,
    gate: loadGateConfig({ gate: values.gate, tolerance: values.tolerance }, env),
  };
}

async function main(): Promise<number> {
  const command = parseVersionsArgs(process.argv.slice(2));
  const config = loadDatabaseConfig();
  const database = await openDatabase(config, logger);
  try {
    const store = new FileArtifactStore(
      process.env.ARTIFACT_DIR ?? path.join(config.dataDir, 'artifacts'),
    );
    return await run(command, database.pool, store, logger);
  } finally {
    await database.close();
  }
}

async function run(
  command: Command,
  pool: Pool,
  store: FileArtifactStore,
  log: Logger,
): Promise<number> {
  const print = (json: unknown, text: string) =>
    process.stdout.write(command.json ? `${JSON.stringify(json, null, 2)}\n` : `${text}\n`);

  switch (command.name) {
    case 'list': {
      const versions = await listVersions(pool, command.limit);
      print(versions, formatList(versions, command.gate));
      return 0;
    }
    case 'show': {
      const version = await requireVersion(pool, command.id ?? '');
      const events = await listVersionEvents(pool, version.id);
      print({ ...version, events }, formatShow(version, events));
      return 0;
    }
    case 'promote': {
      const id = command.id ?? '';
      await requireVersion(pool, id);
      const result = await promoteVersion(
        pool,
        store,
        id,
        {
          gate: command.gate,
          force: command.force,
          actor: command.reason ? `cml-versions: ${command.reason}` : 'cml-versions',
        },
        log,
      );
      if (result.outcome === 'already-active') {
        print(result, `version ${id} is already active`);
        return 0;
      }
      if (result.outcome === 'rejected') {
        print(result, `version ${id} stays a candidate: ${result.decision.reason}`);
        return RetrainExitCode.notPromoted;
      }
      const how = result.forced ? 'forced past the gate' : result.decision.reason;
      print(result, `version ${id} is active (was ${result.previousActive ?? 'none'}): ${how}`);
      return 0;
    }
    case 'rollback': {
      const result = await rollbackActive(
        pool,
        store,
        command.reason ?? 'rollback requested with cml-versions',
        log,
      );
      print(result, `rolled back from ${result.from} to ${result.to}`);
      return 0;
    }
  }
}

async function requireVersion(pool: Pool, id: string): Promise<ModelVersion> {
  const version = await getVersion(pool, id);
  if (!version) {
    throw new AppError(RegistryErrorCode.notFound, `model version ${id} is not registered`, {
      status: 404,
    });
  }
  return version;
}

function formatList(versions: ModelVersion[], gate: GateConfig): string {
  if (versions.length === 0) return 'no model versions registered';
  const metrics = gate.checks.map((check) => check.metric);
  const header = ['id', 'status', 'created', 'promoted', ...metrics, 'reason'];
  const rows = versions.map((version) => [
    version.id,
    version.status,
    version.createdAt.toISOString().slice(0, 19),
    version.promotedAt?.toISOString().slice(0, 19) ?? '-',
    ...metrics.map((metric) => readMetric(version.metrics, metric)?.toFixed(4) ?? '-'),
    version.statusReason ?? '',
  ]);
  const widths = header.map((_, column) =>
    Math.max(...[header, ...rows].map((row) => row[column].length)),
  );
  return [header, ...rows]
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column])))
        .join('  '),
    )
    .join('\n');
}

function formatShow(
  version: ModelVersion,
  events: Awaited<ReturnType<typeof listVersionEvents>>,
): string {
  const lines = [
    `version          ${version.id}`,
    `status           ${version.status} (${version.statusReason ?? ''})`,
    `created          ${version.createdAt.toISOString()}`,
    `promoted         ${version.promotedAt?.toISOString() ?? '-'}`,
    `previous active  ${version.previousActive ?? '-'}`,
    `artifacts        ${version.artifactUri}`,
    `checksum         ${version.checksum} (sha256 of manifest.json)`,
    `data snapshot    ${JSON.stringify(version.dataSnapshot)}`,
    `hyperparameters  ${JSON.stringify(version.hyperparameters)}`,
    `metrics          ${JSON.stringify(version.metrics)}`,
    'history:',
    ...events.map(
      (event) => `  ${event.createdAt.toISOString()}  ${event.event.padEnd(11)} ${event.reason}`,
    ),
  ];
  return lines.join('\n');
}

runCli(main, logger, usage);
