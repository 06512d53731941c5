// DDL statements that move rows into or out of a table with no row event: the binlog logs the
// statement alone, so a changelog reader would never learn the rows came or went.
// - rows leave a name entirely (RENAME TABLE captured TO uncaptured, ALTER TABLE ... TRUNCATE PARTITION
//   ALL, CONVERT TABLE t TO PARTITION): like a DROP TABLE, one truncate marker makes the changelog
//   exact, since the reader knows every row under that name is gone;
// - rows arrive without inserts or only some rows leave (RENAME TABLE uncaptured TO captured, TRUNCATE or
//   DROP PARTITION p, EXCHANGE PARTITION, CONVERT PARTITION p TO TABLE t): no marker can say which
//   rows, so the table stops with a coded error naming the statement, the position and the fix;
// - DROP DATABASE names no table at all: see droppedDatabaseError.
// A table a statement both empties and fills (RENAME TABLE t TO t_old, t_new TO t, an online schema
// change tool's swap) is stopped only: its new rows are not in the changelog either way. A RENAME
// from one captured name to another is no move for the changelog: it saw the rows under the old name,
// and the changes after it are routed by the new one (schema-change.test.ts).
import { SluiceError } from '../../../core/errors.ts';
import { interpretDdl, type TableRef } from '../schema/ddl-statement.ts';
import { tokenize, type Token } from '../schema/sql-lexer.ts';

export interface RowsMoved {
  /** Tables whose every row left under their name: a truncate marker each. */
  emptied: TableRef[];
  /** Tables whose rows changed in a way no marker can tell: each stops, `what` saying how. */
  changed: { table: TableRef; what: string }[];
  /** DROP DATABASE / DROP SCHEMA. */
  droppedSchema?: string;
}

const CANDIDATE = /^(?:\s|\/\*[\s\S]*?\*\/)*(ALTER|RENAME|DROP)\b/i;

export function rowsMovedBy(statement: string, defaultSchema: string, isCaptured: (table: TableRef) => boolean): RowsMoved | undefined {
  if (!CANDIDATE.test(statement)) return undefined;
  const effect = interpretDdl(statement, defaultSchema);
  if (effect.kind === 'drop-schema') return { emptied: [], changed: [], droppedSchema: effect.schema };
  if (effect.kind === 'rename') return renamed(effect.pairs.map(({ from, to }) => ({ from, to })), 'RENAME TABLE', isCaptured);
  if (effect.kind === 'alter' && effect.renameTo) return renamed([{ from: effect.table, to: effect.renameTo }], 'ALTER TABLE ... RENAME', isCaptured);
  const table = effect.kind === 'alter' ? effect.table : effect.kind === 'unknown' && /^\s*ALTER\b/i.test(statement) ? effect.tables[0] : undefined;
  return table ? partitionMoves(table, tokenize(statement), defaultSchema) : undefined;
}

function renamed(pairs: { from: TableRef; to: TableRef }[], verb: string, isCaptured: (table: TableRef) => boolean): RowsMoved | undefined {
  const moves = pairs.filter(({ from, to }) => isCaptured(from) !== isCaptured(to));
  const changed = moves
    .filter(({ to }) => isCaptured(to))
    .map(({ from, to }) => ({ table: to, what: `${verb} gave it the rows of ${from.schema}.${from.table}, which reach the binlog as no inserts` }));
  const filled = new Set(changed.map(({ table }) => keyOf(table)));
  const emptied = moves.filter(({ from }) => isCaptured(from) && !filled.has(keyOf(from))).map(({ from }) => from);
  return emptied.length + changed.length > 0 ? { emptied, changed } : undefined;
}

/** ALTER TABLE t {TRUNCATE | DROP | EXCHANGE | CONVERT} PARTITION ..., CONVERT TABLE x TO PARTITION. */
function partitionMoves(table: TableRef, tokens: Token[], defaultSchema: string): RowsMoved | undefined {
  const emptied: TableRef[] = [];
  const changed: RowsMoved['changed'] = [];
  for (let index = 0; index < tokens.length - 1; index++) {
    const verb = wordAt(tokens, index);
    const next = wordAt(tokens, index + 1);
    if (next === 'PARTITION' && (verb === 'TRUNCATE' || verb === 'DROP')) {
      if (verb === 'TRUNCATE' && wordAt(tokens, index + 2) === 'ALL') emptied.push(table);
      else changed.push({ table, what: `ALTER TABLE ... ${verb} PARTITION removed the rows of a partition, which reach the binlog as no deletes` });
    } else if (next === 'PARTITION' && verb === 'EXCHANGE') {
      const other = tableAfter(tokens, 'TABLE', index + 2, defaultSchema);
      const what = `ALTER TABLE ${table.schema}.${table.table} EXCHANGE PARTITION swapped rows between it and ${other ? `${other.schema}.${other.table}` : 'another table'}, with no row events`;
      changed.push({ table, what }, ...(other ? [{ table: other, what }] : []));
    } else if (next === 'PARTITION' && verb === 'CONVERT') {
      // CONVERT PARTITION p TO TABLE x: the partition's rows leave t and make up the new table x.
      const other = tableAfter(tokens, 'TABLE', index + 2, defaultSchema);
      const what = `ALTER TABLE ${table.schema}.${table.table} CONVERT PARTITION moved rows of a partition into ${other ? `${other.schema}.${other.table}` : 'a new table'}, with no row events`;
      changed.push({ table, what }, ...(other ? [{ table: other, what }] : []));
    } else if (next === 'TABLE' && verb === 'CONVERT') {
      // CONVERT TABLE x TO PARTITION p: every row of x leaves its name and arrives in t.
      const other = tableAfter(tokens, 'TABLE', index + 1, defaultSchema);
      if (other) emptied.push(other);
      changed.push({ table, what: `ALTER TABLE ... CONVERT TABLE moved the rows of ${other ? `${other.schema}.${other.table}` : 'a table'} into a partition, with no row events` });
    }
  }
  return emptied.length + changed.length > 0 ? { emptied, changed } : undefined;
}

/** The table named after the first `word` at or past `from`: [db.]name. */
function tableAfter(tokens: Token[], word: string, from: number, defaultSchema: string): TableRef | undefined {
  let index = from;
  while (index < tokens.length && wordAt(tokens, index) !== word) index++;
  const name = (at: number) => (tokens[at]?.kind === 'word' || tokens[at]?.kind === 'quoted' ? tokens[at]!.text : undefined);
  const first = name(index + 1);
  if (first === undefined) return undefined;
  if (tokens[index + 2]?.kind === 'symbol' && tokens[index + 2]!.text === '.') {
    const second = name(index + 3);
    return second === undefined ? undefined : { schema: first, table: second };
  }
  return { schema: defaultSchema, table: first };
}

function wordAt(tokens: Token[], index: number): string | undefined {
  const token = tokens[index];
  return token?.kind === 'word' ? token.upper : undefined;
}

function keyOf(table: TableRef): string {
  return `${table.schema}.${table.table}`.toLowerCase();
}

function shorten(statement: string): string {
  return statement.length > 300 ? `${statement.slice(0, 300)}...` : statement;
}

/** A statement moved rows of one captured table without row events. */
export function rowsMovedError(options: { source: string; target: string; what: string; statement: string; at: string }): SluiceError {
  const { source, target, what, statement, at } = options;
  return new SluiceError(
    'SLUICE_BINLOG_ROWS_MOVED',
    `table ${target}: ${source} changed at ${at} by \`${shorten(statement)}\`: ${what}, so its changelog cannot say which rows it holds now. ` +
      'A restart alone retries the table from where it stopped and stops again at this statement: with the daemon stopped, run ' +
      `\`sluice checkpoint skip-table ${target}\` and copy the table anew (\`sluice sync\`), or take a new snapshot (\`sluice snapshot ${source}\`; ` +
      'with snapshot.mode other than never, sluice reads such a table again by itself instead of stopping). ' +
      "(If the rows that came are the ones the changelog already holds, as after an online schema change tool's swap, skip-table alone is enough.)",
    { context: { table: target, sourceTable: source, position: at, statement: shorten(statement) } },
  );
}

/**
 * DROP DATABASE of a database the routing may capture tables of. The binlog names none of its
 * tables and information_schema no longer has them; the schema history only holds tables whose
 * columns it had to work out, and a rule's target depends on the table name. A marker list built
 * from what sluice happens to know could leave out a table in silence, so the stream stops.
 */
export function droppedDatabaseError(options: { schema: string; statement: string; at: string }): SluiceError {
  const { schema, statement, at } = options;
  return new SluiceError(
    'SLUICE_BINLOG_DATABASE_DROPPED',
    `\`${shorten(statement)}\` at ${at} removed every table of database ${schema}, which routing.include may capture; the binlog names ` +
      'none of its tables, so sluice cannot write the truncate markers that tell readers their rows are gone. Nothing after the last ' +
      'checkpoint was committed. For each captured table that was in it, drop or mark its rows in the target as your readers need; then ' +
      'move the checkpoint past this statement (`sluice checkpoint set`). To have a marker per table instead, drop the tables one by one ' +
      '(DROP TABLE) before the database.',
    { context: { schema, position: at, statement: shorten(statement) } },
  );
}
