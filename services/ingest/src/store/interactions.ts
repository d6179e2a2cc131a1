import { interactionsInsertStatement } from '@cml-rec/shared/db/interactions';
import type { Interaction } from '@cml-rec/shared/domain/interaction';
import type { InsertPart } from './insertParts.js';

/**
 * The INSERT of interactions whose users and items exist already (the shared
 * `ensureReferencedRows`), skipping those whose dedupe key is stored or repeated: the rows the
 * shared `insertInteractions` writes, as a part of a batch statement.
 */
export function insertInteractionsPart(rows: Interaction[]): InsertPart {
  return { ...interactionsInsertStatement(rows), inputRows: rows.length };
}
