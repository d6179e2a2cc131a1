#!/usr/bin/env node
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseKeyValueList, runCli, UsageError } from '@cml-rec/shared/cli/run';
import {
  INTERACTION_FORMATS,
  MAPPING_KEYS,
  type ColumnMapping,
  type InteractionFormat,
} from '@cml-rec/shared/data/interaction-formats';
import { loadDatabaseConfig, openDatabase } from '@cml-rec/shared/db/database';
import { isEventType, type EventType } from '@cml-rec/shared/domain/interaction';
import { createLogger } from '@cml-rec/shared/logging/logger';
import { importInteractions, type Rejection } from '../import/import-interactions.js';
import { importItemFeatures, ITEM_FORMATS, type ItemFormat } from '../import/import-items.js';

const usage = `usage:
  cml-import interactions <file> [--format ${INTERACTION_FORMATS.join('|')}]
                          [--map user=COL,item=COL,rating=COL,weight=COL,type=COL,timestamp=COL,eventId=COL]
                          [--delimiter ,] [--event-type TYPE] [--source NAME] [--json]
  cml-import items <file> [--format ${ITEM_FORMATS.join('|')}] [--map item=COL,tag=COL] [--json]
  cml-import movielens <dir>   (u.data or ratings.dat, plus u.item and tags.csv when present) [--json]

The database is DATABASE_URL, or the embedded PostgreSQL when it is unset. Every rejected
line is logged with its file, line number and reason; re-importing a file is harmless.`;

const logger = createLogger('import');

async function main(): Promise<number> {
  const { positionals, values } = parseCommandLine();
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const [command, target] = positionals;
  if (!command || !target) throw new UsageError('a command and a path are required');
  if (!COMMANDS.includes(command)) {
    throw new UsageError(`unknown command ${JSON.stringify(command)}: use ${COMMANDS.join(', ')}`);
  }
  if (!existsSync(target)) throw new UsageError(`no such file or directory: ${target}`);
  const isFolder = statSync(target).isDirectory();
  if (isFolder !== (command === 'movielens')) {
    throw new UsageError(
      command === 'movielens'
        ? `${target} is a file; cml-import movielens takes a folder (u.data or ratings.dat inside)`
        : `${target} is a folder; cml-import ${command} takes a file`,
    );
  }

  if (values.map && command === 'interactions') parseMapping(values.map);
  const database = await openDatabase(loadDatabaseConfig(), logger);
  const onRejected = (rejection: Rejection) =>
    logger.warn(
      { file: rejection.file, line: rejection.lineNumber, reason: rejection.reason },
      'rejected line',
    );

  try {
    const summaries: object[] = [];
    if (command === 'interactions') {
      summaries.push(await importInteractionFile(database.pool, target, values, onRejected));
    } else if (command === 'items') {
      const format = (values.format ?? guessItemFormat(target)) as ItemFormat;
      if (!ITEM_FORMATS.includes(format))
        throw new UsageError(`--format must be one of ${ITEM_FORMATS.join(', ')}`);
      const mapping = values.map ? parseKeyValueList(values.map, '--map') : undefined;
      summaries.push(
        await importItemFeatures(database.pool, { file: target, format, mapping, onRejected }),
      );
    } else if (command === 'movielens') {
      summaries.push(...(await importMovieLensFolder(database.pool, target, onRejected)));
    } else {
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }

    const output = values.json
      ? JSON.stringify(summaries)
      : summaries.map(formatSummary).join('\n');
    process.stdout.write(`${output}\n`);
    return 0;
  } finally {
    await database.close();
  }
}

function parseCommandLine() {
  try {
    return parseArgs({
      allowPositionals: true,
      options: {
        format: { type: 'string' },
        map: { type: 'string' },
        delimiter: { type: 'string' },
        'event-type': { type: 'string' },
        source: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

type Options = ReturnType<typeof parseCommandLine>['values'];

async function importInteractionFile(
  pool: Parameters<typeof importInteractions>[0],
  file: string,
  values: Options,
  onRejected: (rejection: Rejection) => void,
) {
  const format = (values.format ?? guessInteractionFormat(file)) as InteractionFormat;
  if (!INTERACTION_FORMATS.includes(format)) {
    throw new UsageError(`--format must be one of ${INTERACTION_FORMATS.join(', ')}`);
  }
  const eventType = values['event-type'];
  if (eventType !== undefined && !isEventType(eventType)) {
    throw new UsageError(`--event-type ${JSON.stringify(eventType)} is not a known event type`);
  }
  const mapping = values.map ? parseMapping(values.map) : undefined;
  return importInteractions(pool, {
    file,
    format,
    mapping,
    delimiter: values.delimiter,
    defaultEventType: eventType as EventType | undefined,
    source: values.source,
    ratingRange: format.startsWith('movielens') ? [0.5, 5] : undefined,
    onRejected,
    onProgress: (summary) => logger.info({ ...summary }, 'import progress'),
  });
}

/** MovieLens folders: ML-100K has u.data and u.item; ML-1M/10M have ratings.dat. */
async function importMovieLensFolder(
  pool: Parameters<typeof importInteractions>[0],
  folder: string,
  onRejected: (rejection: Rejection) => void,
) {
  const ratings = ['u.data', 'ratings.dat'].map((name) => path.join(folder, name)).find(existsSync);
  if (!ratings) throw new UsageError(`${folder} has neither u.data nor ratings.dat`);

  const summaries: object[] = [];
  const itemFiles = [
    { file: path.join(folder, 'u.item'), format: 'movielens-items' as const },
    { file: path.join(folder, 'tags.csv'), format: 'tags-csv' as const },
  ];
  for (const { file, format } of itemFiles.filter((candidate) => existsSync(candidate.file))) {
    summaries.push(await importItemFeatures(pool, { file, format, onRejected }));
  }
  summaries.push(
    await importInteractions(pool, {
      file: ratings,
      format: ratings.endsWith('.dat') ? 'movielens-dat' : 'movielens',
      ratingRange: [0.5, 5],
      onRejected,
      onProgress: (summary) => logger.info({ ...summary }, 'import progress'),
    }),
  );
  return summaries;
}

const COMMANDS = ['interactions', 'items', 'movielens'];

/** --map for interactions: every key must be one the parsers know. */
function parseMapping(text: string): Partial<ColumnMapping> {
  const mapping = parseKeyValueList(text, '--map');
  const unknown = Object.keys(mapping).filter((key) => !(MAPPING_KEYS as string[]).includes(key));
  if (unknown.length > 0) {
    throw new UsageError(
      `--map has unknown key(s) ${unknown.join(', ')}: use ${MAPPING_KEYS.join(', ')}`,
    );
  }
  return mapping as Partial<ColumnMapping>;
}

function guessInteractionFormat(file: string): InteractionFormat {
  const name = path.basename(file).toLowerCase();
  if (name === 'u.data' || name.endsWith('.data')) return 'movielens';
  if (name.endsWith('.dat')) return 'movielens-dat';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  if (name.endsWith('.csv') || name.endsWith('.tsv')) return 'csv';
  throw new UsageError(`cannot tell the format of ${file} from its name; pass --format`);
}

function guessItemFormat(file: string): ItemFormat {
  return path.basename(file).toLowerCase() === 'u.item' ? 'movielens-items' : 'tags-csv';
}

function formatSummary(summary: object): string {
  return Object.entries(summary)
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

runCli(main, logger, usage);
