import path from 'node:path';
import { upsertInteractions } from '@cml-rec/shared/db/interactions';
import { withTransaction, type Pool } from '@cml-rec/shared/db/pool';
import type { Interaction } from '@cml-rec/shared/domain/interaction';
import {
  createInteractionParser,
  type ParserOptions,
} from '@cml-rec/shared/data/interaction-formats';
import { readLines } from '@cml-rec/shared/data/lines';

export interface Rejection {
  file: string;
  lineNumber: number;
  reason: string;
}

export interface ImportSummary {
  file: string;
  /** Lines read, header included. */
  lines: number;
  imported: number;
  /** Valid lines already stored (a re-import) or repeated within the file. */
  duplicates: number;
  rejected: number;
}

export interface InteractionImportOptions extends ParserOptions {
  file: string;
  /** Stored in interactions.source; defaults to `import:<file name>`. */
  source?: string;
  /** Rows per transaction: large batches amortise round trips, small ones bound rollbacks. */
  batchSize?: number;
  onRejected: (rejection: Rejection) => void;
  onProgress?: (summary: ImportSummary) => void;
}

/**
 * Streams an interactions file into PostgreSQL. Every batch is one transaction of idempotent
 * upserts, so an interrupted import can simply be run again; every malformed line is handed
 * to `onRejected` with its number and reason and skipped.
 */
export async function importInteractions(
  pool: Pool,
  options: InteractionImportOptions,
): Promise<ImportSummary> {
  const { file, batchSize = 10_000, onRejected, onProgress } = options;
  const parse = createInteractionParser(options);
  const source = options.source ?? `import:${path.basename(file)}`;
  const summary: ImportSummary = { file, lines: 0, imported: 0, duplicates: 0, rejected: 0 };
  let batch: Interaction[] = [];

  const flush = async () => {
    const result = await withTransaction(pool, (client) => upsertInteractions(client, batch));
    summary.imported += result.inserted;
    summary.duplicates += result.duplicates;
    batch = [];
    onProgress?.(summary);
  };

  for await (const { lineNumber, text } of readLines(file)) {
    summary.lines++;
    const outcome = parse(text);
    if (outcome.kind === 'header') continue;
    if (outcome.kind === 'rejected') {
      summary.rejected++;
      onRejected({ file, lineNumber, reason: outcome.reason });
      continue;
    }
    batch.push({ ...outcome.value, source });
    if (batch.length >= batchSize) await flush();
  }
  if (batch.length > 0) await flush();
  return summary;
}
