// A table created empty by a statement in the stream (CREATE TABLE, CREATE OR REPLACE, CREATE ...
// LIKE): every row it gets from there on reaches the binlog as a change, so a snapshot of it has
// nothing to add (docs/snapshot.md). CREATE TABLE IF NOT EXISTS may have found the table there,
// rows and all, and CREATE TABLE ... SELECT logged as a statement brings rows with no row events:
// neither counts.
import { interpretDdl, type TableRef } from '../schema/ddl-statement.ts';
import { classifyStatement } from './statement-dml.ts';

export function tableCreatedEmpty(statement: string, defaultSchema: string): TableRef | undefined {
  if (!/^(?:\s|\/\*[\s\S]*?\*\/)*CREATE\b/i.test(statement)) return undefined;
  const effect = interpretDdl(statement, defaultSchema);
  if ((effect.kind !== 'create' && effect.kind !== 'create-like') || effect.ifNotExists) return undefined;
  const kind = classifyStatement(statement, defaultSchema);
  return kind.kind === 'ddl' && kind.rowsInto ? undefined : effect.table;
}
