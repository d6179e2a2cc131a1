import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '@cml-rec/shared/cli/run';
import { buildDataset, type Dataset } from '@cml-rec/shared/cml/dataset';
import {
  createInteractionParser,
  type InteractionFormat,
} from '@cml-rec/shared/data/interaction-formats';
import {
  itemParserFor,
  mergeItemFeatures,
  type ItemFeatures,
} from '@cml-rec/shared/data/item-formats';
import { readLines } from '@cml-rec/shared/data/lines';
import { isPositive } from '@cml-rec/shared/domain/interaction';

export interface FileDataset {
  dataset: Dataset;
  lines: number;
  rejected: number;
}

/**
 * A dataset straight from a ratings file, with the same positive rule as the database path.
 * Every user and item in the file is in the catalogue, positive or not, as in MovieLens
 * evaluations. Malformed lines are counted and reported through `onRejected`.
 */
export async function readFileDataset(
  file: string,
  format: InteractionFormat | undefined,
  minRating: number,
  onRejected: (lineNumber: number, reason: string) => void,
): Promise<FileDataset> {
  checkReadableFile(file, '--ratings');
  const parse = createInteractionParser({ format: format ?? guessFormat(file) });
  const users: string[] = [];
  const items: string[] = [];
  const pairs: { userId: string; itemId: string }[] = [];
  let lines = 0;
  let rejected = 0;

  for await (const { lineNumber, text } of readLines(file)) {
    lines++;
    const outcome = parse(text);
    if (outcome.kind === 'header') continue;
    if (outcome.kind === 'rejected') {
      rejected++;
      onRejected(lineNumber, outcome.reason);
      continue;
    }
    const { userId, itemId, eventType, weight } = outcome.value;
    users.push(userId);
    items.push(itemId);
    if (isPositive(eventType, weight, minRating)) pairs.push({ userId, itemId });
  }
  return { dataset: buildDataset(pairs, { users, items }), lines, rejected };
}

function guessFormat(file: string): InteractionFormat {
  const name = path.basename(file).toLowerCase();
  if (name.endsWith('.data')) return 'movielens';
  if (name.endsWith('.dat')) return 'movielens-dat';
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson')) return 'jsonl';
  throw new UsageError(`cannot tell the format of ${file} from its name; pass --format`);
}

/**
 * Item features from a MovieLens `u.item` or a tag CSV, merged per item. Malformed lines are
 * reported through `onRejected` and skipped.
 */
export async function readItemFeatures(
  file: string,
  onRejected: (lineNumber: number, reason: string) => void,
): Promise<Map<string, ItemFeatures>> {
  checkReadableFile(file, '--items');
  const { parse, encoding } = itemParserFor(file);
  const features = new Map<string, ItemFeatures>();
  for await (const { lineNumber, text } of readLines(file, encoding)) {
    const outcome = parse(text);
    if (outcome.kind === 'header') continue;
    if (outcome.kind === 'rejected') {
      onRejected(lineNumber, outcome.reason);
      continue;
    }
    features.set(outcome.itemId, mergeItemFeatures(features.get(outcome.itemId), outcome.features));
  }
  return features;
}

function checkReadableFile(file: string, option: string): void {
  if (!existsSync(file)) throw new UsageError(`${option} ${file}: no such file`);
  if (!statSync(file).isFile()) throw new UsageError(`${option} ${file} is not a file`);
}
