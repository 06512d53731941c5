// Statements that empty a table without a row event: TRUNCATE [TABLE] t, DROP TABLE [IF EXISTS]
// a, b, db.c, and MariaDB's CREATE OR REPLACE TABLE (which drops the old table first). The rows they
// remove never reach the binlog as deletes, so a reader of the changelog could not tell they are
// gone; each such table gets one marker change (op 'truncate') instead. DROP TEMPORARY TABLE and
// CREATE OR REPLACE TEMPORARY TABLE concern no captured table: temporary tables write no rows to a
// row-based binlog. The statement's grammar is ddl-statement.ts's, which the schema tracker uses too.
import { NO_COLUMNS, type ChangeEvent, type SourcePosition } from '../../../core/change-event.ts';
import { SluiceError } from '../../../core/errors.ts';
import { interpretDdl, truncatedTable, type TableRef } from '../schema/ddl-statement.ts';
import { tokenize } from '../schema/sql-lexer.ts';

// Query events are mostly DDL, but statement-format DML comes this way too: look closer only at
// statements that can be one of ours.
const CANDIDATE = /^(?:\s|\/\*[\s\S]*?\*\/)*(TRUNCATE|DROP|CREATE)\b/i;

/**
 * The tables whose every row the statement removes; names without a database resolve against
 * `defaultSchema` (the Query event's). Throws SLUICE_STATEMENT_UNREADABLE when it is such a statement
 * but its table names cannot be read: a marker is never left out in silence.
 */
export function tablesEmptiedBy(statement: string, defaultSchema: string, at: string): TableRef[] {
  const keyword = CANDIDATE.exec(statement)?.[1]?.toUpperCase();
  if (!keyword) return [];
  try {
    if (keyword === 'TRUNCATE') {
      const table = truncatedTable(statement, defaultSchema);
      return table ? [table] : [];
    }
    if (keyword === 'CREATE' && !isCreateOrReplaceTable(statement)) return [];
    const effect = interpretDdl(statement, defaultSchema);
    switch (effect.kind) {
      case 'drop':
        return effect.tables;
      case 'create':
      case 'create-like':
        return [effect.table];
      case 'unknown':
        // CREATE OR REPLACE TABLE t ... SELECT, or a column clause not modelled: the name came first.
        if (keyword === 'CREATE' && effect.tables[0]) return [effect.tables[0]];
        throw new Error(effect.reason);
      default:
        return [];
    }
  } catch (error) {
    throw new SluiceError(
      'SLUICE_STATEMENT_UNREADABLE',
      `the statement at binlog position ${at} removes the rows of tables whose names sluice cannot read (${(error as Error).message}): ` +
        `${statement.slice(0, 300)}. Nothing after the last checkpoint was committed. Report the statement; to go on without its ` +
        'markers, move the checkpoint past it (`sluice checkpoint set`).',
      { cause: error, context: { position: at, statement: statement.slice(0, 300) } },
    );
  }
}

function isCreateOrReplaceTable(statement: string): boolean {
  const words = tokenize(statement.slice(0, 200)).slice(0, 4).map((token) => (token.kind === 'word' ? token.upper : ''));
  return words[0] === 'CREATE' && words[1] === 'OR' && words[2] === 'REPLACE' && words[3] === 'TABLE';
}

/** The marker for one emptied table: no columns, no images; `sequence` orders it among the rows around it. */
export function truncateMarker(table: TableRef, commitTs: number, position: SourcePosition, sequence: bigint): ChangeEvent {
  return { schema: table.schema, table: table.table, op: 'truncate', columns: NO_COLUMNS, before: null, after: null, commitTs, position, sequence };
}
