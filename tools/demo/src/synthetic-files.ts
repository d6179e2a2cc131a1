import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  generateSyntheticDataset,
  toTagCsvLines,
  toUDataLines,
  type SyntheticDataset,
} from '@cml-rec/shared/data/synthetic';

/**
 * Writes the seeded synthetic dataset into `folder` as `u.data` and `tags.csv`, the layout
 * `cml-import movielens <folder>` reads, so the tools go through the real import path.
 */
export function writeSyntheticDataset(folder: string): SyntheticDataset {
  mkdirSync(folder, { recursive: true });
  const dataset = generateSyntheticDataset();
  writeFileSync(path.join(folder, 'u.data'), `${toUDataLines(dataset).join('\n')}\n`);
  writeFileSync(path.join(folder, 'tags.csv'), `${toTagCsvLines(dataset).join('\n')}\n`);
  return dataset;
}
