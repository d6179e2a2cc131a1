import { upsertItemFeatures } from '@cml-rec/shared/db/items';
import { withTransaction, type Pool } from '@cml-rec/shared/db/pool';
import {
  createTagCsvParser,
  mergeItemFeatures,
  parseMovieLensItem,
  type ItemFeatures,
  type ItemLineOutcome,
} from '@cml-rec/shared/data/item-formats';
import { readLines } from '@cml-rec/shared/data/lines';
import type { Rejection } from './import-interactions.js';

export const ITEM_FORMATS = ['movielens-items', 'tags-csv'] as const;
export type ItemFormat = (typeof ITEM_FORMATS)[number];

export interface ItemImportOptions {
  file: string;
  format: ItemFormat;
  /** tags-csv only: header names of the item and tag columns. */
  mapping?: { item?: string; tag?: string };
  batchSize?: number;
  onRejected: (rejection: Rejection) => void;
}

export interface ItemImportSummary {
  file: string;
  lines: number;
  items: number;
  inserted: number;
  updated: number;
  /** Items whose stored features were already what the file says: a re-import. */
  unchanged: number;
  rejected: number;
}

/**
 * Imports item features. Lines of one item are merged first (a tag file has a line per tag),
 * then written in batches that merge into the stored features.
 */
export async function importItemFeatures(
  pool: Pool,
  options: ItemImportOptions,
): Promise<ItemImportSummary> {
  const { file, format, batchSize = 5_000, onRejected } = options;
  const parse: (line: string) => ItemLineOutcome =
    format === 'movielens-items' ? parseMovieLensItem : createTagCsvParser(options.mapping);
  const encoding = format === 'movielens-items' ? 'latin1' : 'utf8';
  const summary = { file, lines: 0, items: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0 };
  const features = new Map<string, ItemFeatures>();

  for await (const { lineNumber, text } of readLines(file, encoding)) {
    summary.lines++;
    const outcome = parse(text);
    if (outcome.kind === 'header') continue;
    if (outcome.kind === 'rejected') {
      summary.rejected++;
      onRejected({ file, lineNumber, reason: outcome.reason });
      continue;
    }
    features.set(outcome.itemId, mergeItemFeatures(features.get(outcome.itemId), outcome.features));
  }

  const rows = [...features].map(([itemId, value]) => ({ itemId, features: value }));
  summary.items = rows.length;
  for (let start = 0; start < rows.length; start += batchSize) {
    const slice = rows.slice(start, start + batchSize);
    const result = await withTransaction(pool, (client) => upsertItemFeatures(client, slice));
    summary.inserted += result.inserted;
    summary.updated += result.updated;
    summary.unchanged += result.unchanged;
  }
  return summary;
}
